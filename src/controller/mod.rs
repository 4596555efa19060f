//! `autopilot run`: the controller, a thin shell around the engine.
//!
//! Every `interval` (aligned to it, the time read once per tick and passed
//! in), one tick:
//! 1. the policies under `--policies` are read again; a change reloads the
//!    engine ([`Engine::reload`]: states kept by policy key);
//! 2. the objects the watchers mirror ([`objects`]) are taken as they are;
//!    deleted ones are forgotten;
//! 3. one Prometheus query per binding that a policy reads
//!    ([`crate::cluster::metrics`]);
//! 4. the engine ticks; what it says is logged, and what it decided without
//!    acting (declined, skipped, dry run) becomes an Event on the object;
//! 5. each intent is carried out by its executor and reported back.
//!
//! A tick that runs past the next one is logged, and the one it overlaps is
//! skipped. On shutdown the tick in progress finishes (an action in flight
//! is never cut off), then the loop stops.
//!
//! What is not here yet (issue 11, 12): ConfigMap policy sources and their
//! namespace authority, watchers for pods, workloads and nodes, executors
//! other than resize, `/metrics` and the probes, state annotations,
//! approvals and leader election. An intent of an action without an
//! executor fails permanently, said once, and is held until the object
//! changes.

pub mod objects;

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::Client;

use crate::cluster::events::{Events, Note};
use crate::cluster::metrics::{self, LabelMatcher};
use crate::cluster::prometheus::Prometheus;
use crate::cluster::resize::{self, ResizeExecutor};
use crate::compile::{self, LoadError};
use crate::config::Receiver;
use crate::engine::{
    ActionOutcome, ActionResult, Engine, Event, EventKind, Failure, Intent, Planned, Snapshot, Time,
};
use crate::ir::{ActionName, Mode, Program};
use crate::report::action;
use objects::Objects;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// `--policies`: files and folders of `.apr` files, cluster-wide.
    pub policies: Vec<PathBuf>,
    pub interval: Duration,
    /// `--dry-run`: every action is recorded as `dry_run`; nothing is written
    /// but Events.
    pub dry_run: bool,
    /// Queries of one tick in flight at once.
    pub in_flight: usize,
    /// Injected into every selector of every query.
    pub matchers: Vec<LabelMatcher>,
    /// Receivers of `notify`, by name (the configuration file's).
    pub receivers: BTreeMap<String, Receiver>,
    /// This replica's name on Events.
    pub identity: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read the policies: {0}")]
    Policies(#[from] LoadError),
    #[error("{0}")]
    Queries(String),
}

/// The policies of `--policies`, as last read.
struct Policies {
    paths: Vec<PathBuf>,
    dry_run: bool,
    /// A hash of the files' names and texts: a change reloads.
    fingerprint: u64,
}

impl Policies {
    /// Reads and checks the files. Policies with errors are left out (one
    /// bad policy never stops the others); every diagnostic is logged.
    fn load(&mut self) -> Result<Option<Program>, LoadError> {
        let files: Vec<(String, String)> = compile::read_paths(&self.paths)?
            .into_iter()
            .map(compile::Loaded::into_named)
            .collect();
        let mut h = DefaultHasher::new();
        files.hash(&mut h);
        let fingerprint = h.finish();
        if fingerprint == self.fingerprint {
            return Ok(None);
        }
        self.fingerprint = fingerprint;
        let c = compile::compile(files);
        for d in &c.diagnostics {
            let text = crate::diagnostic::render(&c.sources, d, crate::diagnostic::Style::PLAIN);
            if d.is_error() {
                tracing::error!(code = d.code, "{}", text.trim_end());
            } else {
                tracing::warn!(code = d.code, "{}", text.trim_end());
            }
        }
        let mut program = c.checked.program;
        if self.dry_run {
            for p in &mut program.policies {
                p.mode = Mode::DryRun;
            }
        }
        tracing::info!(
            policies = program.policies.len(),
            errors = c.diagnostics.iter().filter(|d| d.is_error()).count(),
            "policies loaded"
        );
        Ok(Some(program))
    }
}

/// Runs until `shutdown` resolves.
pub async fn run(
    client: Client,
    prometheus: Prometheus,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let mut policies = Policies {
        paths: options.policies.clone(),
        dry_run: options.dry_run,
        fingerprint: 0,
    };
    let mut program = Arc::new(policies.load()?.unwrap_or_default());
    let mut queries = metrics::queries(&program, &options.matchers).map_err(RunError::Queries)?;
    let mut engine = Engine::new(Arc::clone(&program));
    let events = Events::new(client.clone(), options.identity.clone());
    let resizer = ResizeExecutor::new(client.clone(), events.clone());
    let objects = Objects::watch(&client);
    let interval = options.interval.max(Duration::from_secs(1));
    tokio::pin!(shutdown);

    // The first tick waits for every watcher's first list.
    loop {
        if objects.synced() {
            break;
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    tracing::info!(objects = ?objects.counts(), "watches synced");

    let mut ticker = tokio::time::interval_at(aligned(interval), interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut tick: u64 = 0;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        tick += 1;
        let started = std::time::Instant::now();
        let now = Timestamp::now();
        let t = now.as_millisecond();
        match policies.load() {
            Ok(Some(fresh)) => match metrics::queries(&fresh, &options.matchers) {
                Ok(q) => {
                    queries = q;
                    program = Arc::new(fresh);
                    engine.reload(Arc::clone(&program), t);
                }
                Err(e) => tracing::error!(tick, "policies not reloaded: {e}"),
            },
            Ok(None) => {}
            Err(e) => tracing::error!(
                tick,
                "cannot read the policies, keeping the last good ones: {e}"
            ),
        }
        let view = objects.view();
        for id in &view.deleted {
            engine.forget(id);
        }
        let fetched = metrics::fetch(&prometheus, &program, &queries, now, options.in_flight).await;
        for (metric, n) in &fetched.unjoined {
            tracing::debug!(
                tick,
                binding = %program.metric(*metric).qualified(),
                series = n,
                "series without the join labels"
            );
        }
        let snapshot = Snapshot {
            objects: &view.objects,
            namespaces: &view.namespaces,
            metrics: &fetched,
        };
        let (said, intents) = engine.tick(t, &snapshot, &[]);
        for e in &said {
            log(tick, e);
            announce(&events, e).await;
        }
        for intent in &intents {
            let outcome = execute(&resizer, intent).await;
            match engine.finish(t, intent, outcome) {
                Ok(more) => more.iter().for_each(|e| log(tick, e)),
                Err(e) => tracing::error!(tick, "{e}"),
            }
        }
        let took = started.elapsed();
        if took > interval {
            tracing::warn!(
                tick,
                took_ms = took.as_millis() as u64,
                "the tick ran past the interval; the next one is skipped"
            );
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The next multiple of `interval` since the epoch, as a tokio instant.
fn aligned(interval: Duration) -> tokio::time::Instant {
    let step = interval.as_millis().max(1) as i64;
    let now: Time = Timestamp::now().as_millisecond();
    let wait = step - now.rem_euclid(step);
    tokio::time::Instant::now() + Duration::from_millis(wait as u64)
}

/// Carries out one intent with its executor.
async fn execute(resizer: &ResizeExecutor, intent: &Intent) -> ActionOutcome {
    match &intent.planned {
        Planned::Resize { .. } => resizer.resize(intent).await.outcome(),
        other => ActionOutcome::Failed(Failure::permanent(format!(
            "this controller has no executor for `{}` yet",
            other.action()
        ))),
    }
}

fn log(tick: u64, e: &Event) {
    let (policy, object) = (&e.policy, &e.object);
    match &e.kind {
        EventKind::Transition { from, to } => {
            tracing::info!(tick, %policy, %object, "{from} → {to}")
        }
        EventKind::Action { result, .. } => {
            let text = action::inline(&e.kind);
            match result {
                ActionResult::Failed | ActionResult::Declined | ActionResult::Skipped => {
                    tracing::warn!(tick, %policy, %object, "{text}")
                }
                _ => tracing::info!(tick, %policy, %object, "{text}"),
            }
        }
        EventKind::Error { message } => tracing::warn!(tick, %policy, %object, "{message}"),
    }
}

/// An Event for what the engine decided without an executor: a decline, a
/// skip, a dry run (the engine says each once).
async fn announce(events: &Events, e: &Event) {
    let EventKind::Action {
        action,
        planned,
        result,
        ..
    } = &e.kind
    else {
        return;
    };
    let (reason, warning) = match (action, result) {
        (ActionName::Resize, ActionResult::Declined) => ("ResizeDeclined", true),
        (ActionName::Resize, ActionResult::Skipped) => ("ResizeSkipped", true),
        (_, ActionResult::Declined) => ("ActionDeclined", true),
        (_, ActionResult::Skipped) => ("ActionSkipped", true),
        (_, ActionResult::DryRun) => ("DryRun", false),
        _ => return,
    };
    let Some(regarding) = resize::reference(&e.object) else {
        return;
    };
    let text = action::inline(&e.kind);
    let message = match result {
        ActionResult::DryRun => format!(
            "policy {}: would {}",
            e.policy,
            action::describe(*action, planned.as_ref())
        ),
        _ => format!("policy {}: {text}", e.policy),
    };
    let note = Note {
        warning,
        reason,
        action: "Evaluate",
        message,
    };
    if let Err(err) = events.publish(&regarding, &note).await {
        tracing::warn!(object = %e.object, "could not record the event: {err}");
    }
}
