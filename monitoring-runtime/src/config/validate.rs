//! Checking a configuration: every invariant, each error naming its key.

use super::{Config, StorageType};
use crate::error::Error;

/// The smallest `max_buffered_bytes`: one line of the longest size the encoder writes.
const MAX_LINE_BYTES: usize = 64 << 10;
/// The largest `queue_capacity` (its slots are allocated up front).
const MAX_QUEUE_CAPACITY: usize = 16 << 20;

impl Config {
    /// Checks every invariant; the error names the key.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_durations()?;
        let positive = |key: &str, v: usize| {
            if v > 0 {
                Ok(())
            } else {
                Err(Error::config(
                    format!("monitoring.{key}"),
                    "must be at least 1",
                ))
            }
        };
        positive("batch_size", self.batch_size)?;
        positive("queue_capacity", self.queue_capacity)?;
        if self.max_buffered_bytes < MAX_LINE_BYTES {
            return Err(Error::config(
                "monitoring.max_buffered_bytes",
                format!(
                    "must be at least {MAX_LINE_BYTES} (one line of the longest size), got {}",
                    self.max_buffered_bytes
                ),
            ));
        }
        if self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(Error::config(
                "monitoring.queue_capacity",
                format!(
                    "must be at most {MAX_QUEUE_CAPACITY} (16 Mi points), got {}",
                    self.queue_capacity
                ),
            ));
        }
        if self.spool_dir.is_some() && self.max_spool_bytes < 1 << 20 {
            return Err(Error::config(
                "monitoring.max_spool_bytes",
                format!(
                    "must be at least 1048576 (1 MiB), got {}",
                    self.max_spool_bytes
                ),
            ));
        }
        if self.max_buffered_points < self.batch_size {
            return Err(Error::config(
                "monitoring.max_buffered_points",
                format!("must be at least batch_size ({})", self.batch_size),
            ));
        }
        self.validate_boundary()?;
        if let Some(level @ 10..) = self.gzip_level {
            return Err(Error::config(
                "monitoring.gzip_level",
                format!("must be 0 (off) to 9, got {level}"),
            ));
        }
        match self.effective_storage_type() {
            StorageType::File if self.file.is_none() => {
                return Err(Error::config(
                    "monitoring.file",
                    "is required when storage_type = \"file\"",
                ))
            }
            StorageType::Influx => {
                if self.influx.is_empty() {
                    return Err(Error::config(
                        "monitoring.influx",
                        "is required when storage_type = \"influx\"",
                    ));
                }
                let several = self.influx.len() > 1;
                for (i, influx) in self.influx.iter().enumerate() {
                    influx.validate().map_err(|e| {
                        if several {
                            e.indexed("monitoring.influx", i)
                        } else {
                            e
                        }
                    })?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Every duration is a positive number of seconds; the periods are at least 1 ms.
    fn validate_durations(&self) -> Result<(), Error> {
        let seconds = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v < 1e9 {
                Ok(())
            } else {
                Err(Error::config(
                    format!("monitoring.{key}"),
                    format!("must be a positive number of seconds, got {v}"),
                ))
            }
        };
        seconds("flushing_period", self.flushing_period)?;
        if self.flushing_period < 0.001 {
            return Err(Error::config(
                "monitoring.flushing_period",
                format!(
                    "must be at least 0.001 (1 ms), got {}",
                    self.flushing_period
                ),
            ));
        }
        seconds("request_timeout", self.request_timeout)?;
        seconds("retry_initial_delay", self.retry_initial_delay)?;
        seconds("retry_max_delay", self.retry_max_delay)?;
        seconds("max_retry_time", self.max_retry_time)?;
        seconds("shutdown_timeout", self.shutdown_timeout)?;
        if let Some(period) = self.stats_period {
            seconds("stats_period", period)?;
            if period < 0.001 {
                return Err(Error::config(
                    "monitoring.stats_period",
                    format!("must be at least 0.001 (1 ms), got {period}"),
                ));
            }
        }
        Ok(())
    }

    /// `skip_routes` are `METHOD:/template`; `header_tags` name headers and tag keys.
    fn validate_boundary(&self) -> Result<(), Error> {
        for (i, route) in self.skip_routes.iter().enumerate() {
            route_parts(route)
                .map_err(|why| Error::config(format!("monitoring.skip_routes[{i}]"), why))?;
        }
        for (header, tag) in &self.header_tags {
            if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return Err(Error::config(
                    format!("monitoring.header_tags.{header}"),
                    "is not a header name",
                ));
            }
            if tag.is_empty() || crate::line_protocol::is_reserved(tag) {
                return Err(Error::config(
                    format!("monitoring.header_tags.{header}"),
                    format!("`{tag}` cannot be a tag key (empty, `time`, or starting with `_`)"),
                ));
            }
        }
        Ok(())
    }
}

/// A route as recorded, `METHOD:/template` (`GET:/health`, `POST:<unmatched>`): its
/// method and template, or what is wrong with it.
pub(crate) fn route_parts(route: &str) -> Result<(&str, &str), String> {
    let Some((method, template)) = route.split_once(':') else {
        return Err(format!(
            "`{route}` is not METHOD:/template (as recorded, e.g. GET:/health)"
        ));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "`{route}`: the method must be upper case, e.g. GET"
        ));
    }
    if !template.starts_with('/') && template != "<unmatched>" {
        return Err(format!("`{route}`: the template must start with `/`"));
    }
    Ok((method, template))
}
