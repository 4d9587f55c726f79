//! InfluxDB 3's native write API: `POST /api/v3/write_lp?db=&precision=nanosecond`,
//! `Authorization: Bearer <token>` (no header without a token: InfluxDB 3 Core may run
//! without authentication). Its line protocol is the 2.x dialect; a partial write (400
//! naming the lines it refused, the others stored) goes through the same split as
//! 1.x's.

use super::http::{Auth, Missing, Target};
use crate::config::{Config, InfluxConfig};
use crate::error::Error;
use crate::line_protocol::Dialect;

pub(super) fn target(config: &Config, influx: &InfluxConfig) -> Result<Target, Error> {
    let mut urls = super::http::urls(config, influx, "/api/v3/write_lp")?;
    for url in &mut urls {
        url.query_pairs_mut()
            .append_pair("db", &influx.database)
            .append_pair("precision", "nanosecond");
    }
    let auth = if influx.token.is_empty() {
        Auth::None
    } else {
        Auth::Bearer(influx.token.clone())
    };
    Ok(Target {
        name: "influx_v3",
        urls,
        dialect: Dialect::V2,
        auth,
        missing: Missing {
            what: format!("database \"{}\"", influx.database),
            how: format!(
                "create it with `influxdb3 create database {}`",
                influx.database
            ),
            create: None,
        },
    })
}
