//! The notify executor: carries out the engine's `notify("receiver",
//! "message")` [`Intent`] by POSTing to the receiver's webhook (the
//! configuration's `notify:`, [`crate::config::Receiver`]). It does not plan.
//!
//! - Bodies: `slack` is `{"text": message}` (Slack, Mattermost, Rocket.Chat,
//!   Discord's `/slack`); `json` is the event ([`JsonBody`]). The message is
//!   the policy's text, already interpolated by the engine.
//! - Retries: 408, 429, 5xx and transport errors (connect, reset, timeout) are
//!   tried again, [`MAX_ATTEMPTS`] in all, after `Retry-After` when the
//!   receiver gives one, else after an exponential backoff; both capped.
//!   Everything else is final: a 4xx (Slack's 400/403/404/410) is permanent.
//!   A retried request may have been delivered before the connection broke,
//!   so a notification can arrive twice; it is never silently dropped.
//! - Errors follow kube-rs controller-rs: [`NotifyError::is_transient`] says
//!   whether the engine should try again with backoff (the receiver was down)
//!   or hold until something changes (it refused, or no such receiver).
//!
//! Architecture invariant: **a webhook URL is a credential** (NOTES.md
//! section 4). It never appears in an error, a `Debug` or a log line: errors
//! name the receiver, `reqwest::Error`s lose their URL
//! ([`reqwest::Error::without_url`]) before they are kept, and an answer's
//! body is shown only with the URL (and its path) cut out.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, DATE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url, redirect};
use serde::Serialize;

use crate::config::{NotifyFormat, Receiver};
use crate::engine::{ActionOutcome, Failure, Intent, ObjectId, Planned};

/// Requests per notification, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long one attempt may take: connecting, sending and the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first backoff; it doubles with each retry.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two attempts, whatever `Retry-After` asks.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10);
/// The most characters of an answer's body an error keeps.
pub const BODY_EXCERPT: usize = 200;
/// The most bytes of an answer's body read for the excerpt.
const BODY_BUDGET: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no receiver `{name}` in the configuration's `notify:`")]
    UnknownReceiver { name: String },
    /// Not shown: the URL is the secret.
    #[error("the receiver `{receiver}` has an unusable URL (http or https, with a host)")]
    BadUrl { receiver: String },
    /// The value is not shown: a header may carry a credential.
    #[error(
        "the header `{name}` of the receiver `{receiver}` is not valid HTTP, or its value is not"
    )]
    BadHeader { receiver: String, name: String },
    #[error("cannot set up an HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// An executor was handed another action's intent.
    #[error("a `{action}` intent is not a notification")]
    NotNotify { action: &'static str },
    /// A final answer: 3xx (redirects are not followed) or 4xx other than 408/429.
    #[error(
        "the receiver `{receiver}` refused the notification: HTTP {status}{}",
        excerpt(body)
    )]
    Refused {
        receiver: String,
        status: u16,
        /// At most [`BODY_EXCERPT`] characters, without the URL.
        body: String,
    },
    #[error("the receiver `{receiver}` failed {attempts} times, the last: {last}")]
    Exhausted {
        receiver: String,
        attempts: u32,
        #[source]
        last: AttemptError,
    },
    /// The request could not be made at all (not worth retrying).
    #[error("cannot send to the receiver `{receiver}`: {source}")]
    Transport {
        receiver: String,
        #[source]
        source: reqwest::Error,
    },
}

impl NotifyError {
    /// Worth trying again later (the receiver was down or busy), rather than
    /// waiting for the configuration or the policy to change.
    pub fn is_transient(&self) -> bool {
        matches!(self, NotifyError::Exhausted { .. })
    }
}

fn excerpt(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// Why one attempt failed in a way worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// 408, 429 or 5xx.
    #[error("HTTP {status}{}", excerpt(body))]
    Status { status: u16, body: String },
    #[error("no answer within {}ms", after.as_millis())]
    Timeout { after: Duration },
    /// Connecting or sending failed; the error has no URL.
    #[error("unreachable: {}", chain(.0))]
    Unreachable(reqwest::Error),
}

impl AttemptError {
    /// The HTTP status, when the receiver answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AttemptError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An error and its causes on one line: reqwest's own Display is only
/// "error sending request".
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A notification the receiver accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub receiver: String,
    /// The 2xx it answered.
    pub status: u16,
    /// Requests made, the accepted one included.
    pub attempts: u32,
}

/// Sends notifications to the configured receivers. Cloning is cheap: the
/// HTTP client (and its connection pool) and the receivers are shared.
#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    receivers: Arc<BTreeMap<String, Target>>,
    timeout: Duration,
    backoff: Duration,
    max_wait: Duration,
}

/// A receiver made ready to send to.
struct Target {
    url: Url,
    format: NotifyFormat,
    /// Marked sensitive.
    headers: HeaderMap,
}

/// Names the receivers, never their URLs or headers.
impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("receivers", &self.receivers.keys().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("max_wait", &self.max_wait)
            .finish()
    }
}

impl Notifier {
    /// Checks every receiver's URL and headers now, so a bad one is an error
    /// at start rather than at the first notification.
    pub fn new(receivers: BTreeMap<String, Receiver>) -> Result<Notifier, NotifyError> {
        let receivers = receivers
            .into_iter()
            .map(|(name, r)| target(&name, &r).map(|t| (name, t)))
            .collect::<Result<_, _>>()?;
        super::prometheus::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            // A redirect would carry the notification (and its headers) to
            // a URL nobody configured.
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|e| NotifyError::Client(e.without_url()))?;
        Ok(Notifier {
            http,
            receivers: Arc::new(receivers),
            timeout: DEFAULT_TIMEOUT,
            backoff: DEFAULT_BACKOFF,
            max_wait: DEFAULT_MAX_WAIT,
        })
    }

    /// The first backoff (doubled at each retry) and the cap on any wait,
    /// `Retry-After` included.
    pub fn with_backoff(mut self, base: Duration, max_wait: Duration) -> Notifier {
        self.backoff = base;
        self.max_wait = max_wait;
        self
    }

    /// How long one attempt may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Notifier {
        self.timeout = timeout;
        self
    }

    /// Carries out a notify intent and reports it to the engine: applied,
    /// or failed (transient or permanent, [`NotifyError::is_transient`]).
    pub async fn execute(&self, intent: &Intent, at: Timestamp) -> ActionOutcome {
        match self.send(intent, at).await {
            Ok(_) => ActionOutcome::Applied,
            Err(e) if e.is_transient() => ActionOutcome::Failed(Failure::transient(e.to_string())),
            Err(e) => ActionOutcome::Failed(Failure::permanent(e.to_string())),
        }
    }

    /// Sends the intent's message to its receiver, retrying as the module
    /// says. `at` is when the engine decided; the `json` format sends it.
    pub async fn send(&self, intent: &Intent, at: Timestamp) -> Result<Delivered, NotifyError> {
        let Planned::Notify { receiver, message } = &intent.planned else {
            return Err(NotifyError::NotNotify {
                action: intent.planned.name(),
            });
        };
        let target = self
            .receivers
            .get(receiver)
            .ok_or_else(|| NotifyError::UnknownReceiver {
                name: receiver.clone(),
            })?;
        let body = body(target.format, receiver, intent, message, at);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (last, retry_after) = match self.attempt(receiver, target, &body).await? {
                Attempt::Accepted(status) => {
                    return Ok(Delivered {
                        receiver: receiver.clone(),
                        status,
                        attempts,
                    });
                }
                Attempt::Retry { error, retry_after } => (error, retry_after),
            };
            if attempts >= MAX_ATTEMPTS {
                return Err(NotifyError::Exhausted {
                    receiver: receiver.clone(),
                    attempts,
                    last,
                });
            }
            let wait = self.wait(attempts, retry_after);
            tracing::warn!(
                receiver = %receiver,
                status = last.status(),
                attempt = attempts,
                wait_ms = wait.as_millis() as u64,
                "notify: retrying the receiver `{receiver}` after {last}"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Before the attempt after `attempts`: what the receiver asked, else
    /// the backoff doubled at each retry; never more than `max_wait`.
    fn wait(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = || self.backoff.saturating_mul(1 << (attempts - 1).min(16));
        retry_after.unwrap_or_else(backoff).min(self.max_wait)
    }

    /// One request: accepted, worth retrying, or a final error.
    async fn attempt(
        &self,
        receiver: &str,
        target: &Target,
        body: &[u8],
    ) -> Result<Attempt, NotifyError> {
        let sent = self
            .http
            .post(target.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .headers(target.headers.clone())
            .body(body.to_vec())
            .timeout(self.timeout)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return self.transport(receiver, e.without_url()),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(Attempt::Accepted(status.as_u16()));
        }
        let retry_after = retry_after(response.headers());
        let body = read_excerpt(response, &target.url).await;
        if retryable(status) {
            let error = AttemptError::Status {
                status: status.as_u16(),
                body,
            };
            Ok(Attempt::Retry { error, retry_after })
        } else {
            Err(NotifyError::Refused {
                receiver: receiver.to_string(),
                status: status.as_u16(),
                body,
            })
        }
    }

    /// Sorts a failed request: `e` has already lost its URL.
    fn transport(&self, receiver: &str, e: reqwest::Error) -> Result<Attempt, NotifyError> {
        let error = if e.is_timeout() {
            AttemptError::Timeout {
                after: self.timeout,
            }
        } else if e.is_connect() || e.is_request() || e.is_body() {
            AttemptError::Unreachable(e)
        } else {
            return Err(NotifyError::Transport {
                receiver: receiver.to_string(),
                source: e,
            });
        };
        Ok(Attempt::Retry {
            error,
            retry_after: None,
        })
    }
}

enum Attempt {
    Accepted(u16),
    Retry {
        error: AttemptError,
        retry_after: Option<Duration>,
    },
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

fn target(name: &str, r: &Receiver) -> Result<Target, NotifyError> {
    let bad_url = || NotifyError::BadUrl {
        receiver: name.to_string(),
    };
    let url = Url::parse(r.url.expose()).map_err(|_| bad_url())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad_url());
    }
    let mut headers = HeaderMap::new();
    for (header, value) in &r.headers {
        let bad = || NotifyError::BadHeader {
            receiver: name.to_string(),
            name: header.clone(),
        };
        let header = HeaderName::from_bytes(header.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(value.expose()).map_err(|_| bad())?;
        value.set_sensitive(true);
        headers.append(header, value);
    }
    Ok(Target {
        url,
        format: r.format,
        headers,
    })
}

/// The `slack` format's body.
#[derive(Serialize)]
struct SlackBody<'a> {
    text: &'a str,
}

/// The `json` format's body: the event, fields in this order.
#[derive(Serialize)]
struct JsonBody<'a> {
    receiver: &'a str,
    policy: &'a str,
    object: JsonObject<'a>,
    message: &'a str,
    /// RFC 3339.
    at: String,
}

#[derive(Serialize)]
struct JsonObject<'a> {
    kind: &'static str,
    namespace: Option<&'a str>,
    name: &'a str,
}

/// The request body, serialised once for every attempt.
fn body(
    format: NotifyFormat,
    receiver: &str,
    intent: &Intent,
    message: &str,
    at: Timestamp,
) -> Vec<u8> {
    let bytes = match format {
        // Slack refuses an empty `text` (400 `no_text`).
        NotifyFormat::Slack if message.is_empty() => serde_json::to_vec(&SlackBody {
            text: &format!("{}: {}", intent.policy, intent.object),
        }),
        NotifyFormat::Slack => serde_json::to_vec(&SlackBody { text: message }),
        NotifyFormat::Json => serde_json::to_vec(&JsonBody {
            receiver,
            policy: &intent.policy,
            object: json_object(&intent.object),
            message,
            at: at.to_string(),
        }),
    };
    // Strings and an `Option` only: serialising cannot fail.
    bytes.unwrap_or_default()
}

fn json_object(id: &ObjectId) -> JsonObject<'_> {
    JsonObject {
        kind: id.kind.name(),
        namespace: id.namespace.as_deref(),
        name: &id.name,
    }
}

/// `Retry-After` as delta-seconds or an HTTP date. A date is measured from
/// the answer's own `Date` when it has one, so clock skew does not count.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = http_date(value)?;
    let now = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(http_date)
        .unwrap_or_else(Timestamp::now);
    let wait = date.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

fn http_date(text: &str) -> Option<Timestamp> {
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    PARSER.parse_timestamp(text).ok()
}

/// The start of an error answer's body, on one line, without the URL: a
/// 404 page may well echo the path, and the path is the secret.
async fn read_excerpt(mut response: reqwest::Response, url: &Url) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < BODY_BUDGET {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(BODY_BUDGET);
    redact(&String::from_utf8_lossy(&bytes), url)
}

fn redact(body: &str, url: &Url) -> String {
    let mut text = body.replace(url.as_str(), "<url>");
    let secrets = [Some(url.path()).filter(|p| p.len() > 1), url.query()];
    for secret in secrets.into_iter().flatten() {
        text = text.replace(secret, "<url>");
    }
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if line.chars().count() <= BODY_EXCERPT {
        return line;
    }
    let mut short: String = line.chars().take(BODY_EXCERPT - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Mutex;
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::config::Secret;
    use crate::engine::{FailureClass, IntentId};
    use crate::ir::Kind;

    /// The part of every test URL that must never be shown.
    const SECRET: &str = "SECRET-TOKEN";

    /// What the stub answers to one request.
    #[derive(Clone)]
    enum Reply {
        Status(u16),
        Body(u16, &'static str),
        Header(u16, &'static str, &'static str),
        /// Reads the request and never answers.
        Hang,
    }

    #[derive(Clone, Debug)]
    struct Request {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Request {
        fn header(&self, name: &str) -> Option<&str> {
            let found = self
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name));
            found.map(|(_, v)| v.as_str())
        }
    }

    /// A loopback webhook: records every request and answers from a script,
    /// then 200 `ok` once the script runs out. One request per connection.
    struct Stub {
        url: String,
        requests: Arc<Mutex<Vec<Request>>>,
    }

    impl Stub {
        async fn start(script: Vec<Reply>) -> Stub {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/hooks/{SECRET}", listener.local_addr().unwrap());
            let requests = Arc::new(Mutex::new(Vec::new()));
            let recorded = requests.clone();
            tokio::spawn(async move {
                let mut script = script.into_iter();
                while let Ok((stream, _)) = listener.accept().await {
                    let reply = script.next().unwrap_or(Reply::Body(200, "ok"));
                    tokio::spawn(serve(stream, reply, recorded.clone()));
                }
            });
            Stub { url, requests }
        }

        fn requests(&self) -> Vec<Request> {
            self.requests.lock().unwrap().clone()
        }
    }

    async fn serve(mut stream: TcpStream, reply: Reply, requests: Arc<Mutex<Vec<Request>>>) {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        requests.lock().unwrap().push(request);
        let (status, body, header) = match reply {
            Reply::Status(status) => (status, "", None),
            Reply::Body(status, body) => (status, body, None),
            Reply::Header(status, name, value) => (status, "", Some((name, value))),
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return;
            }
        };
        let mut head = format!(
            "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        if let Some((name, value)) = header {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let answer = format!("{head}\r\n{body}");
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    /// A minimal HTTP/1.1 request: the head, then `Content-Length` bytes.
    async fn read_request(stream: &mut TcpStream) -> Option<Request> {
        let mut buf = Vec::new();
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0; 1024];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..end].to_vec()).ok()?;
        let mut lines = head.split("\r\n");
        let mut start = lines.next()?.split(' ');
        let (method, path) = (start.next()?.to_string(), start.next()?.to_string());
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = buf[end + 4..].to_vec();
        while body.len() < length {
            let mut chunk = [0; 1024];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Some(Request {
            method,
            path,
            headers,
            body: String::from_utf8(body).ok()?,
        })
    }

    fn receiver(url: &str, format: NotifyFormat) -> Receiver {
        Receiver {
            url: Secret::new(url),
            format,
            headers: vec![("X-Hook-Token".into(), Secret::new("h3ader-value"))],
        }
    }

    /// `oncall` at `url`, with backoffs of a few milliseconds.
    fn notifier(url: &str, format: NotifyFormat) -> Notifier {
        let receivers = BTreeMap::from([("oncall".to_string(), receiver(url, format))]);
        let fast = Duration::from_millis(5);
        Notifier::new(receivers)
            .unwrap()
            .with_backoff(fast, fast * 10)
    }

    fn intent(receiver: &str, message: &str) -> Intent {
        Intent {
            id: IntentId(1),
            policy: "grow-pvcs".into(),
            object: ObjectId::new(Kind::Pvc, Some("db"), "data-0"),
            planned: Planned::Notify {
                receiver: receiver.into(),
                message: message.into(),
            },
        }
    }

    fn at() -> Timestamp {
        "2026-12-01T10:30:00Z".parse().unwrap()
    }

    fn failure(outcome: ActionOutcome) -> Failure {
        match outcome {
            ActionOutcome::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    /// Every way the error can be shown, its causes included.
    fn shown(e: &NotifyError) -> String {
        format!("{e} | {e:?} | {}", chain(e))
    }

    #[tokio::test]
    async fn slack_body_is_the_message() {
        let stub = Stub::start(vec![]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let delivered = n
            .send(&intent("oncall", "data-0 grown"), at())
            .await
            .unwrap();
        let expected = Delivered {
            receiver: "oncall".into(),
            status: 200,
            attempts: 1,
        };
        assert_eq!(delivered, expected);
        let [request] = stub.requests().try_into().unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, format!("/hooks/{SECRET}"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.body, r#"{"text":"data-0 grown"}"#);
    }

    #[tokio::test]
    async fn slack_gets_a_text_when_the_message_is_empty() {
        let stub = Stub::start(vec![]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        n.send(&intent("oncall", ""), at()).await.unwrap();
        let body = &stub.requests()[0].body;
        assert_eq!(body, r#"{"text":"grow-pvcs: pvc/db/data-0"}"#);
    }

    #[tokio::test]
    async fn json_body_is_the_event() {
        let stub = Stub::start(vec![]).await;
        let n = notifier(&stub.url, NotifyFormat::Json);
        n.send(&intent("oncall", "data-0 grown"), at())
            .await
            .unwrap();
        let mut node = intent("oncall", "cordoned");
        node.object = ObjectId::new(Kind::Node, None, "worker-1");
        n.send(&node, at()).await.unwrap();
        let bodies: Vec<_> = stub.requests().into_iter().map(|r| r.body).collect();
        assert_eq!(
            bodies,
            [
                r#"{"receiver":"oncall","policy":"grow-pvcs","object":{"kind":"pvc","namespace":"db","name":"data-0"},"message":"data-0 grown","at":"2026-12-01T10:30:00Z"}"#,
                r#"{"receiver":"oncall","policy":"grow-pvcs","object":{"kind":"node","namespace":null,"name":"worker-1"},"message":"cordoned","at":"2026-12-01T10:30:00Z"}"#,
            ]
        );
        assert_eq!(
            stub.requests()[0].header("content-type"),
            Some("application/json")
        );
    }

    #[tokio::test]
    async fn configured_headers_are_sent_and_never_shown() {
        let stub = Stub::start(vec![]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        assert_eq!(
            n.execute(&intent("oncall", "hi"), at()).await,
            ActionOutcome::Applied
        );
        let request = &stub.requests()[0];
        assert_eq!(request.header("x-hook-token"), Some("h3ader-value"));
        let debug = format!("{n:?}");
        assert!(debug.contains("oncall"), "{debug}");
        assert!(
            !debug.contains("h3ader") && !debug.contains(SECRET),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn a_500_then_200_is_applied_after_two_requests() {
        let stub = Stub::start(vec![Reply::Body(500, "rollup_error")]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let delivered = n.send(&intent("oncall", "hi"), at()).await.unwrap();
        assert_eq!(delivered.attempts, 2);
        assert_eq!(stub.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_408_is_retried() {
        let stub = Stub::start(vec![Reply::Status(408)]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let outcome = n.execute(&intent("oncall", "hi"), at()).await;
        assert_eq!(outcome, ActionOutcome::Applied);
        assert_eq!(stub.requests().len(), 2);
    }

    #[tokio::test]
    async fn retry_after_is_waited_for() {
        let stub = Stub::start(vec![Reply::Header(429, "Retry-After", "1")]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack)
            .with_backoff(Duration::from_millis(5), Duration::from_secs(5));
        let start = Instant::now();
        let outcome = n.execute(&intent("oncall", "hi"), at()).await;
        assert_eq!(outcome, ActionOutcome::Applied);
        assert_eq!(stub.requests().len(), 2);
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn retry_after_is_capped_at_max_wait() {
        let stub = Stub::start(vec![Reply::Header(429, "Retry-After", "3600")]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let start = Instant::now();
        let outcome = n.execute(&intent("oncall", "hi"), at()).await;
        assert_eq!(outcome, ActionOutcome::Applied);
        assert_eq!(stub.requests().len(), 2);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        fn wait(pairs: &[(&'static str, &'static str)]) -> Option<Duration> {
            let mut map = HeaderMap::new();
            for &(name, value) in pairs {
                map.insert(name, HeaderValue::from_static(value));
            }
            retry_after(&map)
        }
        assert_eq!(wait(&[("retry-after", "7")]), Some(Duration::from_secs(7)));
        assert_eq!(wait(&[("retry-after", " 0 ")]), Some(Duration::ZERO));
        let dated = [
            ("retry-after", "Tue, 01 Dec 2026 10:30:42 GMT"),
            ("date", "Tue, 01 Dec 2026 10:30:00 GMT"),
        ];
        assert_eq!(wait(&dated), Some(Duration::from_secs(42)));
        let past = [("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT")];
        assert_eq!(wait(&past), Some(Duration::ZERO));
        assert_eq!(wait(&[("retry-after", "soon")]), None);
        assert_eq!(wait(&[("retry-after", "-3")]), None);
        assert_eq!(wait(&[]), None);
    }

    #[test]
    fn backoff_doubles_up_to_max_wait() {
        let n = Notifier::new(BTreeMap::new()).unwrap();
        let ms = Duration::from_millis;
        assert_eq!(n.wait(1, None), ms(500));
        assert_eq!(n.wait(2, None), ms(1000));
        assert_eq!(n.wait(2, Some(ms(50))), ms(50), "Retry-After wins");
        let n = n.with_backoff(ms(400), ms(1000));
        assert_eq!(n.wait(3, None), ms(1000));
        assert_eq!(n.wait(1, Some(Duration::from_secs(60))), ms(1000));
    }

    #[tokio::test]
    async fn three_500s_are_a_transient_failure_after_exactly_three_requests() {
        let stub = Stub::start(vec![Reply::Status(500); 4]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let e = n.send(&intent("oncall", "hi"), at()).await.unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(
            matches!(&e, NotifyError::Exhausted { attempts: 3, last, .. } if last.status() == Some(500)),
            "{e:?}"
        );
        assert_eq!(stub.requests().len(), 3);
        let stub = Stub::start(vec![Reply::Status(503); 4]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let f = failure(n.execute(&intent("oncall", "hi"), at()).await);
        assert_eq!(f.class, FailureClass::Transient);
        assert_eq!(
            f.message,
            "the receiver `oncall` failed 3 times, the last: HTTP 503"
        );
        assert_eq!(stub.requests().len(), 3);
    }

    #[tokio::test]
    async fn refusals_are_permanent_after_one_request() {
        for (status, body) in [
            (404, "channel_not_found"),
            (410, "channel_is_archived"),
            (400, "invalid_payload"),
            (403, "action_prohibited"),
        ] {
            let stub = Stub::start(vec![Reply::Body(status, body); 2]).await;
            let n = notifier(&stub.url, NotifyFormat::Slack);
            let e = n.send(&intent("oncall", "hi"), at()).await.unwrap_err();
            assert!(!e.is_transient(), "{e}");
            assert_eq!(
                e.to_string(),
                format!("the receiver `oncall` refused the notification: HTTP {status}: {body}")
            );
            let f = failure(n.execute(&intent("oncall", "hi"), at()).await);
            assert_eq!(f.class, FailureClass::Permanent, "{status}");
            assert_eq!(stub.requests().len(), 2, "{status}: one request per send");
        }
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let location = "http://127.0.0.1:1/elsewhere";
        let stub = Stub::start(vec![Reply::Header(302, "Location", location)]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let e = n.send(&intent("oncall", "hi"), at()).await.unwrap_err();
        assert!(matches!(e, NotifyError::Refused { status: 302, .. }), "{e}");
        assert_eq!(stub.requests().len(), 1);
    }

    #[tokio::test]
    async fn an_unknown_receiver_is_permanent_and_sends_nothing() {
        let stub = Stub::start(vec![]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack);
        let f = failure(n.execute(&intent("pager", "hi"), at()).await);
        assert_eq!(f.class, FailureClass::Permanent);
        assert_eq!(
            f.message,
            "no receiver `pager` in the configuration's `notify:`"
        );
        assert!(stub.requests().is_empty());
    }

    #[tokio::test]
    async fn another_action_is_refused() {
        let n = notifier("http://127.0.0.1:1/", NotifyFormat::Slack);
        let mut cordon = intent("oncall", "hi");
        cordon.planned = Planned::Cordon;
        let f = failure(n.execute(&cordon, at()).await);
        assert_eq!(f.class, FailureClass::Permanent);
        assert_eq!(f.message, "a `cordon` intent is not a notification");
    }

    /// A loopback URL nothing listens on.
    async fn refused_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/hooks/{SECRET}?token={SECRET}")
    }

    #[tokio::test]
    async fn connection_refused_is_transient() {
        let n = notifier(&refused_url().await, NotifyFormat::Slack);
        let e = n.send(&intent("oncall", "hi"), at()).await.unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(
            matches!(
                &e,
                NotifyError::Exhausted {
                    attempts: 3,
                    last: AttemptError::Unreachable(_),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_receiver_that_never_answers_times_out_transiently() {
        let stub = Stub::start(vec![Reply::Hang; 3]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack).with_timeout(Duration::from_millis(100));
        let e = n.send(&intent("oncall", "hi"), at()).await.unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(
            e.to_string()
                .ends_with("failed 3 times, the last: no answer within 100ms"),
            "{e}"
        );
        assert_eq!(stub.requests().len(), 3);
    }

    #[test]
    fn bad_urls_and_headers_are_refused_at_start() {
        for url in [
            format!("ftp://example/hooks/{SECRET}"),
            format!("not a url {SECRET}"),
        ] {
            let receivers =
                BTreeMap::from([("oncall".into(), receiver(&url, NotifyFormat::Slack))]);
            let e = Notifier::new(receivers).unwrap_err();
            assert!(matches!(e, NotifyError::BadUrl { .. }), "{e}");
            assert!(!shown(&e).contains(SECRET), "{}", shown(&e));
        }
        let mut r = receiver("http://example/hook", NotifyFormat::Slack);
        r.headers = vec![("X-Token".into(), Secret::new(format!("a\n{SECRET}")))];
        let e = Notifier::new(BTreeMap::from([("oncall".into(), r)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the header `X-Token` of the receiver `oncall` is not valid HTTP, or its value is not"
        );
        assert!(!shown(&e).contains(SECRET), "{}", shown(&e));
    }

    /// Captures what `tracing` writes on this thread while it lives.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Logs {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[tokio::test]
    async fn the_url_is_never_shown() {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let mut errors = Vec::new();
        // Answers that echo the secret path.
        let echo = "no hook at /hooks/SECRET-TOKEN";
        for reply in [Reply::Body(404, echo), Reply::Body(500, echo)] {
            let stub = Stub::start(vec![reply; 3]).await;
            let n = notifier(&stub.url, NotifyFormat::Json);
            let e = n.send(&intent("oncall", "hi"), at()).await.unwrap_err();
            let whole = stub.url.replace(SECRET, "");
            errors.push((e, whole));
        }
        let url = refused_url().await;
        let n = notifier(&url, NotifyFormat::Slack);
        errors.push((
            n.send(&intent("oncall", "hi"), at()).await.unwrap_err(),
            url,
        ));
        let stub = Stub::start(vec![Reply::Hang; 3]).await;
        let n = notifier(&stub.url, NotifyFormat::Slack).with_timeout(Duration::from_millis(50));
        let e = n.send(&intent("oncall", "hi"), at()).await.unwrap_err();
        errors.push((e, stub.url.clone()));

        for (e, url) in &errors {
            let text = shown(e);
            assert!(!text.contains(SECRET) && !text.contains(url), "{text}");
            assert!(text.contains("`oncall`"), "{text}");
        }
        assert!(
            errors[0]
                .0
                .to_string()
                .contains("HTTP 404: no hook at <url>")
        );

        let logs = logs.text();
        let retries = logs.lines().filter(|l| l.contains("retrying")).count();
        assert_eq!(
            retries,
            3 * 2,
            "two retries for each of 500, refused, timeout:\n{logs}"
        );
        assert!(
            logs.contains("status=500") && logs.contains("receiver=oncall"),
            "{logs}"
        );
        assert!(!logs.contains(SECRET), "{logs}");
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        let url = Url::parse("https://hooks.example/services/T0/B0/x").unwrap();
        let long = format!("line one\n\tline two {}", "x".repeat(500));
        let short = redact(&long, &url);
        assert_eq!(short.chars().count(), BODY_EXCERPT);
        assert!(short.starts_with("line one line two xxx") && short.ends_with('…'));
        assert_eq!(redact("  ok \r\n", &url), "ok");
        assert_eq!(redact(&format!("at {url}."), &url), "at <url>.");
        assert_eq!(
            redact("bad /services/T0/B0/x", &url),
            "bad <url>",
            "the path alone is the secret"
        );
    }
}
