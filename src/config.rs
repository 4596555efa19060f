//! The controller's configuration file (`autopilot run --config FILE`,
//! docs/config.md): how to reach Prometheus and where `notify` sends.
//!
//! ```yaml
//! prometheus:
//!   url: https://prometheus.example:9090   # unless --prometheus is given
//!   timeout: 10s
//!   bearer_token_file: /var/run/secrets/token
//!   headers: {X-Scope-OrgID: team-a}
//!   matchers: ['cluster="eu-1"']
//! notify:
//!   oncall: {url: https://hooks.slack.com/services/…, format: slack}
//! ```
//!
//! One type for every command that talks to Prometheus (`run`, and
//! `backtest` later). Loading is a pure function of the text, as a
//! scenario's is ([`crate::sim::scenario`]): no file is opened here (the
//! secret files are read by the client, at each query), every problem is a
//! diagnostic on the YAML with its line (`apr::config::…`), and unknown
//! fields are errors with "did you mean".
//!
//! Secrets never reach `Debug`: header values and webhook URLs are
//! [`Secret`]s, and tokens and passwords are only ever paths here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde_saphyr::Spanned;

use crate::cluster::metrics::{DEFAULT_IN_FLIGHT, LabelMatcher};
use crate::cluster::prometheus::DEFAULT_TIMEOUT;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::sim::scenario::{Scalar, location_span};
use crate::source::{FileId, Span};

mod matcher;
mod raw;

use raw::{Pairs, RawBasicAuth, RawConfig, RawPrometheus, RawReceiver, S, yaml_error};

pub mod codes {
    /// The file is not YAML, or is over a safety limit.
    pub const YAML: &str = "apr::config::yaml";
    /// An unknown field, or a required one missing.
    pub const FIELD: &str = "apr::config::field";
    /// A value of the wrong type or shape.
    pub const VALUE: &str = "apr::config::value";
    /// Two fields that cannot go together.
    pub const CONFLICT: &str = "apr::config::conflict";

    pub const ALL: [&str; 4] = [YAML, FIELD, VALUE, CONFLICT];
}

/// The longest per-query timeout: a tick waits for its queries.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The most queries one tick may have in flight.
pub const MAX_IN_FLIGHT: usize = 1000;

/// The whole file; an empty file is every default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    pub prometheus: PrometheusConfig,
    /// Receivers of `notify`, by name.
    pub notify: BTreeMap<String, Receiver>,
}

/// How to query Prometheus.
#[derive(Clone, Debug, PartialEq)]
pub struct PrometheusConfig {
    /// Validated: http or https, a host, no credentials. `None` when the
    /// file gives none; `--prometheus` wins over it ([`Self::with_url`]).
    pub url: Option<String>,
    /// Per query.
    pub timeout: Duration,
    pub auth: Option<Auth>,
    /// PEM certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    /// Sent with every query; names and values are valid HTTP.
    pub headers: Vec<(String, Secret)>,
    /// Injected into every selector of every query.
    pub matchers: Vec<LabelMatcher>,
    pub max_in_flight: usize,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            url: None,
            timeout: DEFAULT_TIMEOUT,
            auth: None,
            ca_file: None,
            insecure_skip_verify: false,
            headers: Vec::new(),
            matchers: Vec::new(),
            max_in_flight: DEFAULT_IN_FLIGHT,
        }
    }
}

impl PrometheusConfig {
    /// The configuration with `--prometheus URL`, when given, in place of the file's URL.
    pub fn with_url(mut self, flag: Option<String>) -> Self {
        if flag.is_some() {
            self.url = flag;
        }
        self
    }
}

/// How queries authenticate. The secret stays in its file, read (and read
/// again when it changes) by the client.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    /// `Authorization: Bearer <the file's content>`.
    BearerTokenFile(PathBuf),
    /// `Authorization: Basic …` with the password from a file.
    Basic {
        username: String,
        password_file: PathBuf,
    },
}

/// One `notify:` receiver.
#[derive(Clone, Debug, PartialEq)]
pub struct Receiver {
    /// A webhook URL is a credential (NOTES.md section 4).
    pub url: Secret,
    pub format: NotifyFormat,
    pub headers: Vec<(String, Secret)>,
}

/// What a receiver is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyFormat {
    /// `{"text": …}`: Slack, Mattermost, Rocket.Chat, Discord's `/slack`.
    Slack,
    /// The event as JSON.
    Json,
}

impl NotifyFormat {
    pub const ALL: [NotifyFormat; 2] = [NotifyFormat::Slack, NotifyFormat::Json];

    pub fn name(self) -> &'static str {
        match self {
            NotifyFormat::Slack => "slack",
            NotifyFormat::Json => "json",
        }
    }
}

/// A value that must not be logged: `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, to send; never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

// ---------------------------------------------------------------- loading

/// Reads a configuration; every problem is a diagnostic on `file`.
pub fn parse(file: FileId, text: &str) -> Result<Config, Vec<Diagnostic>> {
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if blank {
        return Ok(Config::default());
    }
    let raw: RawConfig = match serde_saphyr::from_str(text) {
        Ok(raw) => raw,
        Err(e) => return Err(vec![yaml_error(file, text, &e)]),
    };
    let mut l = Loader {
        file,
        text,
        diags: Vec::new(),
    };
    let config = Config {
        prometheus: raw.prometheus.map(|p| l.prometheus(&p)).unwrap_or_default(),
        notify: raw.notify.map(|n| l.receivers(&n)).unwrap_or_default(),
    };
    if l.diags.is_empty() {
        Ok(config)
    } else {
        l.diags.sort_by_key(|d| d.primary.span);
        Err(l.diags)
    }
}

struct Loader<'a> {
    file: FileId,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn span<T>(&self, s: &Spanned<T>) -> Span {
        location_span(self.file, self.text, &s.referenced)
    }

    fn error(&mut self, code: &'static str, span: Span, message: String, help: String) {
        let d = Diagnostic::error(code, span, message).label("here");
        self.diags.push(d.help(help));
    }

    fn value_error(&mut self, s: &S, message: String, help: impl Into<String>) {
        let span = self.span(s);
        self.error(codes::VALUE, span, message, help.into());
    }

    fn prometheus(&mut self, p: &Spanned<RawPrometheus>) -> PrometheusConfig {
        let raw = &p.value;
        let mut c = PrometheusConfig {
            url: raw
                .url
                .as_ref()
                .and_then(|u| self.url(u, "prometheus.url", "https://prometheus.example:9090")),
            ..PrometheusConfig::default()
        };
        if let Some(t) = &raw.timeout {
            c.timeout = self.timeout(t).unwrap_or(DEFAULT_TIMEOUT);
        }
        c.auth = self.auth(raw);
        c.ca_file = raw.ca_file.as_ref().and_then(|f| self.path(f, "ca_file"));
        if let Some(b) = &raw.insecure_skip_verify {
            c.insecure_skip_verify = self.boolean(b, "insecure_skip_verify").unwrap_or(false);
        }
        if let Some(h) = &raw.headers {
            c.headers = self.headers(h);
            if c.auth.is_some()
                && let Some((name, _)) =
                    h.0.iter()
                        .find(|(n, _)| n.value.0.eq_ignore_ascii_case(AUTHORIZATION.as_str()))
            {
                let span = self.span(name);
                self.error(
                    codes::CONFLICT,
                    span,
                    "an `Authorization` header and `bearer_token_file` or `basic_auth` \
                     would both authenticate"
                        .into(),
                    "keep one: the files are re-read when they change, a header is not".into(),
                );
            }
        }
        for m in raw.matchers.iter().flatten() {
            match matcher::parse(&m.value.0) {
                Ok(matcher) => c.matchers.push(matcher),
                Err(e) => self.value_error(m, e.message, e.help),
            }
        }
        if let Some(n) = &raw.max_in_flight {
            c.max_in_flight = self.in_flight(n).unwrap_or(DEFAULT_IN_FLIGHT);
        }
        c
    }

    fn auth(&mut self, raw: &RawPrometheus) -> Option<Auth> {
        let bearer = raw
            .bearer_token_file
            .as_ref()
            .and_then(|f| self.path(f, "bearer_token_file"));
        let basic = raw.basic_auth.as_ref().and_then(|b| self.basic(b));
        if let (Some(token), Some(basic)) = (&raw.bearer_token_file, &raw.basic_auth) {
            let span = self.span(basic);
            let token = self.span(token);
            self.diags.push(
                Diagnostic::error(
                    codes::CONFLICT,
                    span,
                    "`basic_auth` and `bearer_token_file` both authenticate queries",
                )
                .label("basic auth here")
                .also(token, "a bearer token here")
                .help("a query carries one `Authorization` header: keep one of the two"),
            );
            return None;
        }
        bearer.map(Auth::BearerTokenFile).or(basic)
    }

    fn basic(&mut self, b: &Spanned<RawBasicAuth>) -> Option<Auth> {
        let whole = self.span(b);
        let mut needs = |field: &str, example: &str| {
            self.diags.push(
                Diagnostic::error(codes::FIELD, whole, format!("`basic_auth` needs `{field}`"))
                    .label(format!("no `{field}`"))
                    .help(format!(
                        "e.g. `basic_auth: {{username: autopilot, password_file: {example}}}`"
                    )),
            );
        };
        let (user, file) = (&b.value.username, &b.value.password_file);
        if user.is_none() {
            needs("username", "/etc/autopilot/password");
        }
        if file.is_none() {
            needs("password_file", "/etc/autopilot/password");
        }
        let username = user.as_ref()?.value.0.clone();
        if username.contains(':') {
            self.value_error(
                user.as_ref()?,
                format!("the username `{username}` holds a `:`"),
                "HTTP basic auth separates the username from the password with `:`",
            );
            return None;
        }
        let password_file = self.path(file.as_ref()?, "password_file")?;
        Some(Auth::Basic {
            username,
            password_file,
        })
    }

    fn receivers(&mut self, n: &Spanned<Pairs<RawReceiver>>) -> BTreeMap<String, Receiver> {
        let mut out = BTreeMap::new();
        for (name, r) in &n.value.0 {
            let key = name.value.0.clone();
            let valid = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                self.value_error(
                    name,
                    format!("`{key}` is not a receiver name"),
                    "a receiver's name is letters, digits, `_` and `-`, e.g. `oncall`",
                );
                continue;
            }
            if let Some(receiver) = self.receiver(&key, r) {
                out.insert(key, receiver);
            }
        }
        out
    }

    fn receiver(&mut self, name: &str, r: &Spanned<RawReceiver>) -> Option<Receiver> {
        let raw = &r.value;
        let format = match &raw.format {
            None => NotifyFormat::Slack,
            Some(f) => self.format(f)?,
        };
        let headers = raw
            .headers
            .as_ref()
            .map(|h| self.headers(h))
            .unwrap_or_default();
        let Some(url) = &raw.url else {
            let span = self.span(r);
            self.diags.push(
                Diagnostic::error(
                    codes::FIELD,
                    span,
                    format!("the receiver `{name}` needs `url`"),
                )
                .label("no `url`")
                .help("e.g. `oncall: {url: https://hooks.slack.com/services/…, format: slack}`"),
            );
            return None;
        };
        let field = format!("notify.{name}.url");
        let url = self.url(url, &field, "https://hooks.slack.com/services/…")?;
        Some(Receiver {
            url: Secret(url),
            format,
            headers,
        })
    }

    fn format(&mut self, f: &S) -> Option<NotifyFormat> {
        let v = f.value.0.as_str();
        if let Some(found) = NotifyFormat::ALL.into_iter().find(|x| x.name() == v) {
            return Some(found);
        }
        let names = NotifyFormat::ALL.map(NotifyFormat::name);
        let guess = did_you_mean(&v.to_ascii_lowercase(), names);
        let one_of = "`slack` ({\"text\": …}) or `json` (the event)";
        let help = guess.map_or(one_of.to_string(), |g| format!("{g} {one_of}"));
        self.value_error(f, format!("`format: {v}` is not a notify format"), help);
        None
    }

    /// An http(s) URL with a host and no credentials in it.
    fn url(&mut self, s: &S, field: &str, example: &str) -> Option<String> {
        let text = s.value.0.trim();
        let help = format!("an absolute http or https URL, e.g. `{example}`");
        let url = match reqwest::Url::parse(text) {
            Ok(url) => url,
            Err(e) => {
                self.value_error(s, format!("`{field}` is not a URL: {e}"), &help);
                return None;
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            let scheme = url.scheme().to_string();
            self.value_error(
                s,
                format!("`{field}` has the scheme `{scheme}`; only http and https are spoken"),
                &help,
            );
            return None;
        }
        if url.host_str().is_none_or(str::is_empty) {
            self.value_error(s, format!("`{field}` has no host"), &help);
            return None;
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Not echoed: the message would carry the credentials.
            self.value_error(
                s,
                format!("`{field}` holds credentials (`user:password@`)"),
                "a URL is logged; put the password in a file: \
                 `basic_auth: {username: …, password_file: …}`",
            );
            return None;
        }
        Some(text.to_string())
    }

    fn path(&mut self, s: &S, field: &str) -> Option<PathBuf> {
        let text = s.value.0.as_str();
        if text.trim().is_empty() {
            self.value_error(
                s,
                format!("`{field}` is empty"),
                "give the path of a file, e.g. `/var/run/secrets/token`",
            );
            return None;
        }
        Some(PathBuf::from(text))
    }

    fn timeout(&mut self, s: &S) -> Option<Duration> {
        let text = s.value.0.trim();
        let ms = match crate::ir::parse_duration(text) {
            Ok(secs) => (secs * 1000.0).round(),
            Err(e) => {
                self.value_error(s, format!("`timeout: {text}` is not a duration"), e.text());
                return None;
            }
        };
        if ms < 1.0 || ms > MAX_TIMEOUT.as_millis() as f64 {
            self.value_error(
                s,
                format!("`timeout: {text}` is out of range"),
                "a query's timeout is at least 1ms and at most 1h; the default is 10s",
            );
            return None;
        }
        Some(Duration::from_millis(ms as u64))
    }

    fn in_flight(&mut self, s: &S) -> Option<usize> {
        match s.value.0.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_IN_FLIGHT).contains(&n) => Some(n),
            _ => {
                self.value_error(
                    s,
                    format!("`max_in_flight: {}` is not a count of queries", s.value.0),
                    format!("a whole number from 1 to {MAX_IN_FLIGHT}; the default is 8"),
                );
                None
            }
        }
    }

    fn boolean(&mut self, s: &S, field: &str) -> Option<bool> {
        match s.value.0.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.value_error(
                    s,
                    format!("`{field}: {other}` is not true or false"),
                    "`true` or `false`",
                );
                None
            }
        }
    }

    /// Header names and values as HTTP allows them; values are secrets.
    fn headers(&mut self, h: &Pairs<Scalar>) -> Vec<(String, Secret)> {
        let mut out: Vec<(String, Secret)> = Vec::new();
        for (name, value) in &h.0 {
            let key = name.value.0.as_str();
            if HeaderName::from_bytes(key.as_bytes()).is_err() {
                self.value_error(
                    name,
                    format!("`{key}` is not an HTTP header name"),
                    "a header name is letters, digits and `-`, e.g. `X-Scope-OrgID`",
                );
                continue;
            }
            if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
                self.value_error(
                    name,
                    format!("the header `{key}` is given twice"),
                    "header names are case-insensitive: keep one",
                );
                continue;
            }
            if HeaderValue::from_str(&value.value.0).is_err() {
                let span = self.span(value);
                // Not echoed: a header value may be a credential.
                self.error(
                    codes::VALUE,
                    span,
                    format!("the value of `{key}` is not a valid HTTP header value"),
                    "a header value is visible ASCII text on one line".into(),
                );
                continue;
            }
            out.push((key.to_string(), Secret(value.value.0.clone())));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, Vec<Diagnostic>> {
        parse(FileId(0), text)
    }

    #[test]
    fn an_empty_file_is_every_default() {
        for text in ["", "\n", "# nothing yet\n"] {
            assert_eq!(load(text).unwrap(), Config::default());
        }
        assert_eq!(load("{}").unwrap(), Config::default());
    }

    #[test]
    fn secrets_never_reach_debug() {
        let c = load(
            "prometheus: {headers: {Authorization: Bearer hunter2}}\n\
             notify: {a: {url: 'https://hooks.example/T0/B0/s3cr3t', headers: {X-Key: k3y}}}\n",
        )
        .unwrap();
        let debug = format!("{c:?}");
        for secret in ["hunter2", "s3cr3t", "k3y"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert_eq!(c.prometheus.headers[0].1.expose(), "Bearer hunter2");
    }

    #[test]
    fn the_flag_wins_over_the_file() {
        let c = load("prometheus: {url: 'http://a:9090'}").unwrap();
        let p = c.prometheus.clone().with_url(Some("http://b:9090".into()));
        assert_eq!(p.url.as_deref(), Some("http://b:9090"));
        let p = c.prometheus.with_url(None);
        assert_eq!(p.url.as_deref(), Some("http://a:9090"));
    }

    #[test]
    fn codes_are_apr_config() {
        assert!(codes::ALL.iter().all(|c| c.starts_with("apr::config::")));
    }
}
