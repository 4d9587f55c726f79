//! InfluxDB 1.x: `POST /write?db=&rp=&precision=n`, optional basic auth.
//!
//! 1.x spells nanoseconds `n` (and reads `us` as ns), rejects the `u` integer suffix
//! (the 1.x [`Dialect`] maps unsigned values) and takes credentials as basic auth,
//! which keeps them out of URLs and so out of every log and error.

use super::http::{Auth, Missing, Target};
use crate::config::{Config, InfluxConfig};
use crate::error::Error;
use crate::line_protocol::Dialect;

pub(super) fn target(config: &Config, influx: &InfluxConfig) -> Result<Target, Error> {
    let mut urls = super::http::urls(config, influx, "/write")?;
    for url in &mut urls {
        let mut q = url.query_pairs_mut();
        q.append_pair("db", &influx.database);
        if let Some(rp) = &influx.retention_policy {
            q.append_pair("rp", rp);
        }
        q.append_pair("precision", "n");
    }
    let auth = match &influx.username {
        Some(user) => Auth::Basic(user.clone(), influx.password.clone()),
        None => Auth::None,
    };
    let statement = format!("CREATE DATABASE {}", quoted(&influx.database));
    let create = if influx.create_database {
        let mut create = super::http::urls(config, influx, "/query")?;
        for url in &mut create {
            url.query_pairs_mut().append_pair("q", &statement);
        }
        Some(create)
    } else {
        None
    };
    Ok(Target {
        name: "influx_v1",
        urls,
        dialect: Dialect::V1,
        auth,
        missing: Missing {
            what: format!("database {}", quoted(&influx.database)),
            how: format!(
                "run `{statement}` in the influx shell, or set create_database = true with a \
                 user allowed to"
            ),
            create,
        },
    })
}

/// An InfluxQL identifier in double quotes.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(super::quoted("luna"), r#""luna""#);
        assert_eq!(super::quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
