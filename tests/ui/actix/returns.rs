//! What actix-web handlers commonly return, monitored as they are (feature `actix`).
#![deny(warnings)]

use actix_web::http::StatusCode;
use actix_web::web::{Html, Json};
use actix_web::HttpResponse;
use monitoring::monitored;

#[monitored(route = "GET:/response")]
async fn response() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[monitored(route = "GET:/status")]
async fn status() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[monitored(route = "GET:/json")]
async fn json() -> Json<u32> {
    Json(1)
}

#[monitored(route = "GET:/html")]
async fn html() -> Html {
    Html::new("<p>")
}

#[monitored(route = "GET:/fallible")]
async fn fallible() -> actix_web::Result<Json<u32>> {
    Err(actix_web::error::ErrorNotFound("no such item"))
}

#[monitored(route = "GET|POST:/either")]
async fn either(method: actix_web::http::Method) -> Result<HttpResponse, StatusCode> {
    let _ = method;
    Err(StatusCode::CONFLICT)
}

fn main() {
    let _ = (response, status, json, html, fallible, either);
}
