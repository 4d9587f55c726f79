//! InfluxDB 2.x (and 3.x, and 1.8+ compatibility): `POST /api/v2/write`, token auth.

use super::http::{Auth, Missing, Target};
use crate::config::{Config, InfluxConfig};
use crate::error::Error;
use crate::line_protocol::Dialect;

pub(super) fn target(config: &Config, influx: &InfluxConfig) -> Result<Target, Error> {
    let mut urls = super::http::urls(config, influx, "/api/v2/write")?;
    for url in &mut urls {
        url.query_pairs_mut()
            .append_pair("org", &influx.organization)
            .append_pair("bucket", &influx.bucket)
            .append_pair("precision", "ns");
    }
    Ok(Target {
        name: "influx_v2",
        urls,
        dialect: Dialect::V2,
        auth: Auth::Token(influx.token.clone()),
        missing: Missing {
            what: format!(
                "bucket \"{}\" of organization \"{}\"",
                influx.bucket, influx.organization
            ),
            how: format!(
                "create it with `influx bucket create --name {} --org {}`",
                influx.bucket, influx.organization
            ),
            create: None,
        },
    })
}
