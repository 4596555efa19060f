//! Where metric values come from: a Prometheus server over HTTP.

pub mod prometheus;
