//! A small programmable HTTP/1.1 server for what real servers cannot do on cue: scripted
//! statuses (500, 503 + Retry-After, 429, 413, 400 partial writes, 401), slow answers,
//! connection resets, black holes, and a TLS listener. It records every request with its
//! (gunzipped) lines and keeps the lines it "stored", like InfluxDB would.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One received write request.
#[derive(Clone, Debug)]
pub struct Request {
    pub at: Instant,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub lines: Vec<String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Status, extra headers, body; 2xx stores every line.
    Status(u16, Vec<(&'static str, String)>, String),
    /// InfluxDB 1.x partial write: stores the lines not containing the marker, answers 400.
    PartialWrite(&'static str),
    /// Answer after a delay.
    Slow(Duration, Box<Reply>),
    /// Reset the connection without answering.
    Reset,
    /// Accept and never answer.
    BlackHole,
    /// Answer as the inner reply once the gate is open (checked every 10 ms).
    Gated(Arc<std::sync::atomic::AtomicBool>, Box<Reply>),
    /// Answer `status` with a body of this many bytes, streamed as fast as the client
    /// reads it (what it sent is in [`FaultServer::streamed`]).
    HugeBody(u16, u64),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(204, vec![], String::new())
    }
    pub fn status(code: u16) -> Reply {
        Reply::Status(
            code,
            vec![],
            format!("{{\"code\":\"x\",\"message\":\"scripted {code}\"}}"),
        )
    }
    pub fn retry_after(code: u16, secs: u64) -> Reply {
        Reply::Status(code, vec![("Retry-After", secs.to_string())], String::new())
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    stored: Vec<String>,
    streamed: u64,
}

/// The server; dropped with the test.
pub struct FaultServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    /// Answers each request with `handler(request, index)`.
    pub async fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_on(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            None,
            handler,
        )
    }

    /// Answers from a script, then `then` for every later request.
    pub async fn scripted(script: Vec<Reply>, then: Reply) -> Self {
        Self::start(move |_, i| script.get(i).cloned().unwrap_or_else(|| then.clone())).await
    }

    /// The same over TLS with `acceptor`.
    pub async fn start_tls(
        acceptor: tokio_rustls::TlsAcceptor,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_on(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            Some(acceptor),
            handler,
        )
    }

    pub fn start_on(
        listener: TcpListener,
        tls: Option<tokio_rustls::TlsAcceptor>,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let handler: Arc<Handler> = Arc::new(handler);
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (st, handler, tls) = (st.clone(), handler.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, None, st, handler).await;
                            }
                        }
                        None => {
                            let raw = stream.into_std().unwrap();
                            let linger = raw.try_clone().unwrap();
                            let stream = TcpStream::from_std(raw).unwrap();
                            serve(stream, Some(linger), st, handler).await;
                        }
                    }
                });
            }
        });
        FaultServer { addr, state, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Lines stored (answered 2xx, or the good lines of a partial write).
    pub fn stored(&self) -> Vec<String> {
        self.state.lock().unwrap().stored.clone()
    }

    /// Bytes of `HugeBody` answers the client took before it hung up.
    pub fn streamed(&self) -> u64 {
        self.state.lock().unwrap().streamed
    }

    pub fn stored_unique(&self) -> HashSet<String> {
        self.stored().into_iter().collect()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// Test infrastructure: one connection's request loop, read top to bottom.
#[allow(clippy::too_many_lines)]
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    raw: Option<std::net::TcpStream>,
    state: Arc<Mutex<State>>,
    handler: Arc<Handler>,
) {
    let mut buf = Vec::new();
    loop {
        // Headers.
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 65536];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf[head_end..head_end + length].to_vec();
        buf.drain(..head_end + length);
        let gzip = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "gzip");
        let text = if gzip {
            let mut out = String::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut out)
                .unwrap();
            out
        } else {
            String::from_utf8(body).unwrap()
        };
        let request = Request {
            at: Instant::now(),
            method: request_line
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_owned(),
            target: request_line
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_owned(),
            headers,
            lines: text.lines().map(str::to_owned).collect(),
        };
        let index = {
            let mut st = state.lock().unwrap();
            st.requests.push(request.clone());
            st.requests.len() - 1
        };
        let mut reply = handler(&request, index);
        loop {
            reply = match reply {
                Reply::Slow(delay, inner) => {
                    tokio::time::sleep(delay).await;
                    *inner
                }
                Reply::Gated(open, inner) => {
                    while !open.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    *inner
                }
                other => break reply = other,
            };
        }
        let (status, extra, body) = match reply {
            Reply::Status(code, extra, body) => {
                if (200..300).contains(&code) {
                    state
                        .lock()
                        .unwrap()
                        .stored
                        .extend(request.lines.iter().cloned());
                }
                (code, extra, body)
            }
            Reply::PartialWrite(marker) if !request.lines.iter().any(|l| l.contains(marker)) => {
                state
                    .lock()
                    .unwrap()
                    .stored
                    .extend(request.lines.iter().cloned());
                (204, vec![], String::new())
            }
            Reply::PartialWrite(marker) => {
                let dropped = request.lines.iter().filter(|l| l.contains(marker)).count();
                state.lock().unwrap().stored.extend(
                    request
                        .lines
                        .iter()
                        .filter(|l| !l.contains(marker))
                        .cloned(),
                );
                (
                    400,
                    vec![],
                    format!(
                        "{{\"error\":\"partial write: unable to parse points dropped={dropped}\"}}"
                    ),
                )
            }
            Reply::Reset => {
                if let Some(raw) = &raw {
                    let _ = socket_linger_zero(raw);
                }
                return;
            }
            Reply::BlackHole => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Reply::HugeBody(status, total) => {
                let head = format!("HTTP/1.1 {status} X\r\ncontent-length: {total}\r\n\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 << 10];
                let mut sent = 0u64;
                while sent < total {
                    let n = chunk.len().min((total - sent) as usize);
                    if stream.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                    sent += n as u64;
                    state.lock().unwrap().streamed += n as u64;
                }
                return;
            }
            Reply::Slow(..) | Reply::Gated(..) => unreachable!(),
        };
        let mut response = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\n",
            body.len()
        );
        for (k, v) in extra {
            response.push_str(&format!("{k}: {v}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Makes the close of the socket a reset (RST) rather than an orderly FIN.
#[allow(deprecated)] // SO_LINGER 0 is the point here
fn socket_linger_zero(raw: &std::net::TcpStream) -> std::io::Result<()> {
    let stream = TcpStream::from_std(raw.try_clone()?)?;
    stream.set_linger(Some(Duration::ZERO))?;
    let _ = stream.into_std();
    Ok(())
}

/// A self-signed certificate for 127.0.0.1: the acceptor and the CA's PEM.
pub fn self_signed() -> (tokio_rustls::TlsAcceptor, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let pem = cert.cert.pem();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
        cert.signing_key.serialize_der().into(),
    );
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), pem)
}
