//! The sinks a monitor starts: from the configuration, or added in code.

use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::export::run;
use super::queue::SinkQueue;
use super::{
    http, influx_v1, influx_v2, influx_v3, line_writer, plugin, Capture, Limits, Plugin, SpoolDir,
    Wants,
};
use crate::config::{Config, StorageType};
use crate::error::Error;
use crate::line_protocol::Dialect;

/// `name`, or `name_2`, `name_3`, ... when an earlier destination has it: each sink's
/// stats and spool subdirectory are its own. (A second destination of one version is
/// rare and made once per monitor: its name is leaked, as a `&'static str`.)
fn unique_name(name: &'static str, taken: &[&'static str]) -> &'static str {
    if !taken.contains(&name) {
        return name;
    }
    let n = (2..)
        .find(|n| !taken.iter().any(|t| *t == format!("{name}_{n}")))
        .unwrap_or(2);
    Box::leak(format!("{name}_{n}").into_boxed_str())
}

type Starter = Box<dyn FnOnce(&Handle, Arc<SinkQueue>) -> JoinHandle<()> + Send>;

/// A sink to start.
pub(crate) enum SinkSpec {
    Http(Box<http::HttpExporter>),
    Lines(line_writer::LineWriter),
    Capture(Capture),
    Plugin { name: String, start: Starter },
}

impl SinkSpec {
    /// The configuration's sinks: one per InfluxDB destination, or the line writer.
    pub(crate) fn from_config(config: &Config) -> Result<Vec<SinkSpec>, Error> {
        Ok(match config.effective_storage_type() {
            StorageType::Influx => {
                if config.influx.is_empty() {
                    return Err(Error::config("monitoring.influx", "is required"));
                }
                let mut names: Vec<&'static str> = Vec::new();
                let mut specs = Vec::new();
                for influx in &config.influx {
                    let mut target = match influx.version {
                        1 => influx_v1::target(config, influx)?,
                        3 => influx_v3::target(config, influx)?,
                        _ => influx_v2::target(config, influx)?,
                    };
                    target.name = unique_name(target.name, &names);
                    names.push(target.name);
                    specs.push(SinkSpec::Http(Box::new(http::HttpExporter::new(
                        config, target,
                    )?)));
                }
                specs
            }
            StorageType::Stdout => vec![SinkSpec::Lines(line_writer::LineWriter::stdout())],
            StorageType::File => vec![SinkSpec::Lines(line_writer::LineWriter::file(
                config.file.clone().expect("validated"),
            ))],
        })
    }

    /// The sink and where it writes, never a secret (the start-up log line).
    pub(crate) fn describe(&self) -> String {
        match self {
            SinkSpec::Http(exporter) => exporter.describe(),
            SinkSpec::Lines(writer) => writer.describe(),
            SinkSpec::Capture(_) => "capture (in memory)".into(),
            SinkSpec::Plugin { name, .. } => name.clone(),
        }
    }

    pub(crate) fn plugin<P: Plugin>(plugin: P) -> SinkSpec {
        let name = format!("plugin:{}", plugin.name());
        SinkSpec::Plugin {
            name,
            start: Box::new(move |rt, queue| rt.spawn(run(queue, plugin::PluginExporter(plugin)))),
        }
    }

    /// Starts the sink's task; an InfluxDB sink gets a spool in `spool` (if given).
    pub(crate) fn start(
        self,
        rt: &Handle,
        limits: Limits,
        spool: Option<&Arc<SpoolDir>>,
    ) -> Result<(Arc<SinkQueue>, JoinHandle<()>), Error> {
        let queue = |name: &str, wants| Arc::new(SinkQueue::new(name.to_owned(), wants, limits));
        Ok(match self {
            SinkSpec::Http(exporter) => {
                let dialect = exporter.dialect();
                let mut q =
                    SinkQueue::new(exporter.name().to_owned(), Wants::Lines(dialect), limits)
                        .with_spool(spool, dialect)?;
                q.counters.endpoints = Some(exporter.endpoints());
                let q = Arc::new(q);
                (q.clone(), rt.spawn(run(q, *exporter)))
            }
            SinkSpec::Lines(writer) => {
                let q = queue(writer.name(), Wants::Lines(Dialect::V2));
                (q.clone(), rt.spawn(run(q, writer)))
            }
            SinkSpec::Capture(capture) => {
                let q = queue("capture", Wants::Points);
                (q.clone(), rt.spawn(run(q, capture)))
            }
            SinkSpec::Plugin { name, start } => {
                let q = queue(&name, Wants::Points);
                (q.clone(), start(rt, q))
            }
        })
    }
}
