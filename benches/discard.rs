//! An HTTP/1.1 server on 127.0.0.1 that reads each request whole and answers 204: a
//! database that costs nothing, for the benchmarks that measure our side alone.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP/1.1 server that reads each request whole and answers 204: a database
/// that costs nothing.
pub(crate) async fn server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 20];
                let mut have = 0;
                loop {
                    let Some(head_end) = find(&buf[..have], b"\r\n\r\n") else {
                        match socket.read(&mut buf[have..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => have += n,
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    let mut rest = len.saturating_sub(have - head_end - 4);
                    let extra = (have - head_end - 4).saturating_sub(len);
                    while rest > 0 {
                        let n = socket.read(&mut buf[..rest.min(1 << 20)]).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        rest -= n;
                    }
                    buf.copy_within(have - extra..have, 0);
                    have = extra;
                    let reply = b"HTTP/1.1 204 No Content\r\n\r\n";
                    if socket.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
