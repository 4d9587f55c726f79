//! What travels on the wire besides the lines: whether a host is loopback, the
//! `Authorization` value of a secret and whether it would go in clear text, and what an
//! error answer says (read bounded).

use super::{Auth, Target};
use crate::config::Secret;

/// The most of an error body read: the message is cut to 300 characters anyway, and a
/// broken server may stream without end.
const MAX_ERROR_BODY: usize = 4096;

/// True for `localhost` and loopback addresses: there compression only costs CPU.
pub(super) fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One WARN at start when a token or password would travel in clear text: plain
/// `http` to a host other than loopback.
pub(super) fn warn_plain_http(target: &Target) {
    if let Some(url) = target
        .urls
        .iter()
        .find(|url| secret_in_clear(&target.auth, url))
    {
        tracing::warn!(
            target: "monitoring",
            sink = target.name,
            host = url.host_str().unwrap_or_default(),
            "monitoring credentials are sent over plain http to a remote host: anyone on the \
             path can read them; use https (use_ssl = true, or an https url)"
        );
    }
}

/// `<scheme> <secret>` as a header value marked sensitive (kept out of reqwest's
/// `Debug`); a secret that is not a valid header value sends the scheme alone, which
/// the server refuses (401, counted), rather than failing the request locally.
pub(super) fn secret_header(scheme: &'static str, secret: &Secret) -> http::HeaderValue {
    let mut value = http::HeaderValue::from_str(&format!("{scheme} {}", secret.expose()))
        .unwrap_or_else(|_| http::HeaderValue::from_static(scheme));
    value.set_sensitive(true);
    value
}

/// True when `auth` carries a secret that would go over plain `http` to `url`'s host
/// and that host is not loopback.
pub(super) fn secret_in_clear(auth: &Auth, url: &reqwest::Url) -> bool {
    let secret = match auth {
        Auth::None => false,
        Auth::Token(token) | Auth::Bearer(token) => !token.is_empty(),
        Auth::Basic(..) => true,
    };
    secret && url.scheme() == "http" && !is_loopback(url)
}

/// The server's error message (InfluxDB answers JSON with `error` or `message`), cut
/// short: at most [`MAX_ERROR_BODY`] bytes of the body are read.
pub(super) async fn server_message(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let parsed: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("error").or_else(|| v.get("message")))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .unwrap_or(text);
    let mut message = message.trim().to_owned();
    if message.len() > 300 {
        let mut cut = 300;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// A transport error with its causes; URLs carry no credentials (they go in headers).
pub(super) fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{is_loopback, secret_in_clear, Auth};
    use crate::config::Secret;

    #[test]
    fn secrets_in_clear_text_to_remote_hosts_are_found() {
        let token = || Auth::Token(Secret::new("t"));
        let basic = || Auth::Basic("u".into(), Secret::default());
        for (auth, url, expected) in [
            (token(), "http://influx.example.com:8086/api/v2/write", true),
            (basic(), "http://10.0.0.5:8086/write", true),
            (
                token(),
                "https://influx.example.com:8086/api/v2/write",
                false,
            ),
            (token(), "http://127.0.0.1:8086/api/v2/write", false),
            (Auth::None, "http://influx.example.com:8086/write", false),
            (
                Auth::Token(Secret::default()),
                "http://influx.example.com/",
                false,
            ),
        ] {
            assert_eq!(
                secret_in_clear(&auth, &url.parse().unwrap()),
                expected,
                "{url}"
            );
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for (url, expected) in [
            ("http://localhost:8086/write", true),
            ("http://LOCALHOST:8086/write", true),
            ("http://127.0.0.1:8086/write", true),
            ("http://127.3.2.1:8086/write", true),
            ("http://[::1]:8086/write", true),
            ("https://influx.example.com:8086/write", false),
            ("http://10.0.0.5:8086/write", false),
            ("http://[2001:db8::1]:8086/write", false),
            ("http://localhost.example.com/write", false),
        ] {
            assert_eq!(is_loopback(&url.parse().unwrap()), expected, "{url}");
        }
    }
}
