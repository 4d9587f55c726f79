//! actix-web 4 (feature `actix`): the [`Monitoring`] middleware monitors every request
//! where it enters the service, as [`MonitoringLayer`](crate::MonitoringLayer) does for
//! tower and axum, and `#[monitored]` handlers can return actix's response types.
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//!
//! let app = App::new()
//!     .wrap(monitoring_runtime::actix::Monitoring::new())
//!     .route("/items/{id}", web::get().to(|| async { HttpResponse::Ok().finish() }));
//! # let _ = app;
//! ```
//!
//! - Route: `METHOD:/pattern` from the resource pattern the request matched (as written
//!   in the app, e.g. `/items/{id}`); a request no resource matched gets
//!   `METHOD:<unmatched>`, never its raw path; a method outside the standard nine is
//!   written `OTHER`.
//! - Status: the final response's, including extractor rejections (400), unknown paths
//!   (404), wrong methods (405) and bodies over the limit (413); an error that reaches
//!   the middleware has its `ResponseError` status.
//! - Error code: an [`ErrorCode`] extension of the response, else what the handler set
//!   ([`set_error_code`](crate::set_error_code), or `#[monitored]`'s
//!   [`MonitoredError`]), else the status code.
//! - Request id: the `LUNA-Request-Id` header, then `X-Request-Id`, else generated.
//! - Execution time: from the first poll of the request's future to its response.
//!
//! Add it with `App::wrap`: middleware added last runs first, so put it after the other
//! `wrap` calls to see the responses they make. actix-web's only way to read the matched
//! pattern (`match_pattern`) builds a `String`: one allocation per request that
//! the tower layer does not have.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};

use crate::boundary::{Outcome, ResponseFuture};
use crate::config::Config;
use crate::controls::{self, Controls};
use crate::status::{ErrorCode, MonitoredError, ResponseStatus, Status};

/// The middleware factory for `App::wrap`; see the module docs. `skip` and
/// `tag_from_header` work as [`MonitoringLayer`](crate::MonitoringLayer)'s.
#[derive(Clone, Debug, Default)]
pub struct Monitoring {
    controls: Option<Arc<Controls>>,
}

impl Monitoring {
    /// The middleware.
    pub fn new() -> Self {
        Monitoring::default()
    }

    /// The middleware with the configuration's `skip_routes` and `header_tags`.
    pub fn from_config(config: &Config) -> Self {
        Monitoring {
            controls: Controls::from_config("Monitoring", config),
        }
    }

    /// Leaves out the requests of these routes, written as recorded
    /// (`METHOD:/pattern`, e.g. `GET:/health`); see
    /// [`MonitoringLayer::skip`](crate::MonitoringLayer::skip).
    pub fn skip<I>(mut self, routes: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        controls::edit(&mut self.controls).add_skip("Monitoring", routes);
        self
    }

    /// Makes a request header's value a tag, bounded; see
    /// [`MonitoringLayer::tag_from_header`](crate::MonitoringLayer::tag_from_header).
    pub fn tag_from_header(mut self, header: &str, tag: &str) -> Self {
        controls::edit(&mut self.controls).add_header_tag("Monitoring", header, tag);
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for Monitoring
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = MonitoringMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MonitoringMiddleware {
            service,
            controls: self.controls.clone(),
        }))
    }
}

/// The service [`Monitoring`] wraps around the app's.
#[derive(Debug)]
pub struct MonitoringMiddleware<S> {
    service: S,
    controls: Option<Arc<Controls>>,
}

impl<S, B> Service<ServiceRequest> for MonitoringMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let state = if crate::switches::monitoring_on() {
            let pattern = request.match_pattern();
            let headers = request.headers();
            crate::boundary::start(
                request.method().as_str(),
                pattern.as_deref(),
                self.controls.as_deref(),
                || {
                    crate::boundary::request_id(|i| {
                        let name = &REQUEST_ID_HEADER_NAMES[i];
                        headers.get(name).map(|v| v.as_bytes())
                    })
                },
                |controls| controls.tags(|name| headers.get(name.as_str()).map(|v| v.as_bytes())),
            )
        } else {
            None
        };
        ResponseFuture::new(self.service.call(request), state)
    }
}

/// The final response's status and [`ErrorCode`] extension; an error's
/// `ResponseError` status.
impl<B> Outcome for Result<ServiceResponse<B>, actix_web::Error> {
    fn outcome(&self) -> Status {
        match self {
            Ok(response) => Status {
                code: response.status().as_u16(),
                error_code: response
                    .response()
                    .extensions()
                    .get::<ErrorCode>()
                    .map(|code| code.0.clone()),
            },
            Err(error) => Status::code(error.as_response_error().status_code().as_u16()),
        }
    }
}

// What actix handlers commonly return, for `#[monitored]` without the middleware.
// (`(responder, StatusCode)` would overlap the `(http::StatusCode, T)` mapping: return
// an `HttpResponse`, or let the middleware read the status from the response.)

impl<B> ResponseStatus for actix_web::HttpResponse<B> {
    fn response_status(&self) -> Status {
        Status::code(self.status().as_u16())
    }
}

impl ResponseStatus for actix_web::http::StatusCode {
    fn response_status(&self) -> Status {
        Status::code(self.as_u16())
    }
}

impl<T> ResponseStatus for actix_web::web::Json<T> {
    fn response_status(&self) -> Status {
        Status::code(200)
    }
}

impl ResponseStatus for actix_web::web::Html {
    fn response_status(&self) -> Status {
        Status::code(200)
    }
}

/// `Result<T, actix_web::Error>`: the error's `ResponseError` status.
impl MonitoredError for actix_web::Error {
    fn status_code(&self) -> u16 {
        self.as_response_error().status_code().as_u16()
    }
}

impl MonitoredError for actix_web::http::StatusCode {
    fn status_code(&self) -> u16 {
        self.as_u16()
    }
}

/// [`REQUEST_ID_HEADERS`](crate::REQUEST_ID_HEADERS) as actix's header names, parsed at
/// compile time (looking a header up by `&str` parses the name on every request).
static REQUEST_ID_HEADER_NAMES: [actix_web::http::header::HeaderName; 2] = [
    actix_web::http::header::HeaderName::from_static(crate::REQUEST_ID_HEADERS[0]),
    actix_web::http::header::HeaderName::from_static(crate::REQUEST_ID_HEADERS[1]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actix_responses_map_to_their_status() {
        use actix_web::http::StatusCode;
        let code = |r: &dyn Fn() -> Status| r().code;
        assert_eq!(
            code(&|| actix_web::HttpResponse::Created()
                .finish()
                .response_status()),
            201
        );
        assert_eq!(code(&|| StatusCode::IM_A_TEAPOT.response_status()), 418);
        assert_eq!(code(&|| actix_web::web::Json(1).response_status()), 200);
        let failed: Result<String, actix_web::Error> =
            Err(actix_web::error::ErrorUnprocessableEntity("bad"));
        assert_eq!(failed.response_status().code, 422);
    }
}
