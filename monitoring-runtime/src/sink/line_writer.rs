//! Line protocol to standard output or appended to a file: the embedded default when
//! no database is configured. Lines use the 2.x dialect (full type fidelity).

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

use super::{ExportCx, Exporter, Payload};
use crate::stats::DropReason;

enum Output {
    Stdout,
    File {
        path: PathBuf,
        file: Option<tokio::fs::File>,
    },
}

pub(crate) struct LineWriter {
    output: Output,
}

impl LineWriter {
    pub(super) fn stdout() -> Self {
        LineWriter {
            output: Output::Stdout,
        }
    }

    pub(super) fn file(path: PathBuf) -> Self {
        LineWriter {
            output: Output::File { path, file: None },
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self.output {
            Output::Stdout => "stdout",
            Output::File { .. } => "file",
        }
    }

    /// Where the lines go, for the start-up log line.
    pub(super) fn describe(&self) -> String {
        match &self.output {
            Output::Stdout => "stdout (line protocol on standard output)".into(),
            Output::File { path, .. } => format!("file at {}", path.display()),
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.output {
            Output::Stdout => {
                let mut out = tokio::io::stdout();
                out.write_all(bytes).await?;
                out.flush().await
            }
            Output::File { path, file } => {
                if file.is_none() {
                    *file = Some(
                        tokio::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&*path)
                            .await?,
                    );
                }
                let f = file.as_mut().expect("opened above");
                f.write_all(bytes).await?;
                f.flush().await
            }
        }
    }
}

impl Exporter for LineWriter {
    async fn export(&mut self, payload: Payload, cx: &mut ExportCx<'_>) {
        let Payload::Lines(lines) = payload else {
            return;
        };
        cx.request_sent();
        match self.write(&lines.body).await {
            Ok(()) => cx.written(lines.len()),
            Err(e) => {
                if let Output::File { file, .. } = &mut self.output {
                    *file = None;
                }
                cx.dropped(
                    DropReason::Rejected,
                    lines.len(),
                    &format!("write failed: {e}"),
                );
            }
        }
    }

    async fn close(&mut self) {
        if let Output::File { file: Some(f), .. } = &mut self.output {
            let _ = f.sync_all().await;
        }
    }
}
