//! What axum handlers commonly return, monitored as they are (feature `axum`).
#![deny(warnings)]

use axum::response::{Html, NoContent, Redirect};
use axum::Json;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use monitoring::monitored;
use std::convert::Infallible;

#[monitored(route = "GET:/json")]
async fn json() -> Json<u32> {
    Json(1)
}

#[monitored(route = "GET:/html")]
async fn html() -> Html<&'static str> {
    Html("<p>")
}

#[monitored(route = "DELETE:/item")]
async fn none() -> NoContent {
    NoContent
}

#[monitored(route = "GET:/old")]
async fn moved() -> Redirect {
    Redirect::permanent("/new")
}

#[monitored(route = "GET:/typed")]
async fn typed() -> (StatusCode, [(http::HeaderName, &'static str); 1], Json<u32>) {
    (StatusCode::CREATED, [(CONTENT_TYPE, "application/json")], Json(1))
}

#[monitored(route = "GET:/headers")]
async fn headers() -> (HeaderMap, Json<u32>) {
    (HeaderMap::new(), Json(1))
}

#[monitored(route = "GET:/never-fails")]
async fn never_fails() -> Result<Json<u32>, Infallible> {
    Ok(Json(1))
}

#[monitored(route = "GET:/maybe")]
async fn maybe() -> axum::response::Result<Json<u32>> {
    Err(StatusCode::GONE)?;
    Ok(Json(1))
}

fn main() {
    let _ = (json, html, none, moved, typed, headers, never_fails, maybe);
}
