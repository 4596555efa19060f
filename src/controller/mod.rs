//! `autopilot run`: the controller, a thin shell around the engine.
//!
//! Every `interval` (aligned to it, the time read once per tick and passed
//! in), one tick:
//! 1. the policy sources ([`sources`]: `--policies` and labelled ConfigMaps)
//!    whose text changed are checked again; each source has its own engine,
//!    reloaded in place ([`Engine::reload`]: states kept by policy key);
//! 2. the objects the watchers mirror ([`objects`]) are taken as they are;
//!    deleted ones are forgotten;
//! 3. one Prometheus query per distinct binding query that a live policy of
//!    any source reads ([`crate::cluster::metrics::fetch_all`]);
//! 4. each source's engine ticks on the objects in its scope; what it says
//!    is logged, and what it decided without acting (declined, skipped, dry
//!    run) becomes an Event on the object;
//! 5. each intent is carried out by its executor ([`Executor`]) and
//!    reported back.
//!
//! A tick that runs past the next one is logged, and the one it overlaps is
//! skipped. On shutdown the tick in progress finishes (an action in flight
//! is never cut off), then the loop stops.
//!
//! 6. the state that changed is written back to the objects ([`persist`]).

mod approvals;
pub mod objects;
mod persist;
pub mod serve;
pub mod sources;
pub mod telemetry;

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;

use crate::cluster::act::{self, Executor};
use crate::cluster::events::{Events, Note, reason};
use crate::cluster::metrics::{self, LabelMatcher, Query};
use crate::cluster::notify::Notifier;
use crate::cluster::prometheus::Prometheus;
use crate::cluster::resize;
use crate::compile::{self, LoadError};
use crate::config::Receiver;
use crate::engine::{
    ActionOutcome, ActionResult, Engine, Event, EventKind, Failure, Object, ObjectId, Snapshot,
    Time,
};
use crate::ir::{ActionName, Program};
use crate::report::action;
use objects::Objects;
use sources::{PolicyMap, PolicyMaps, Scope, SourceId};

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// `--policies`: files and folders of `.apr` files, cluster-wide.
    pub policies: Vec<PathBuf>,
    /// `--namespace`: the controller's own; its ConfigMaps are cluster-wide.
    pub namespace: String,
    pub interval: Duration,
    /// `--listen`: where the probes are served.
    pub listen: String,
    /// `--dry-run`: every action is recorded as `dry_run`; nothing is written
    /// but Events.
    pub dry_run: bool,
    /// Queries of one tick in flight at once.
    pub in_flight: usize,
    /// Injected into every selector of every query.
    pub matchers: Vec<LabelMatcher>,
    /// Receivers of `notify`, by name (the configuration file's).
    pub receivers: BTreeMap<String, Receiver>,
    /// This replica's name on the Lease and on Events.
    pub identity: String,
    /// Elect a leader on the Lease `autopilot` in `namespace`; only the
    /// leader writes. Off: this is the only replica.
    pub leader_election: bool,
}

/// The Lease's name, in the controller's namespace.
pub const LEASE: &str = "autopilot";
/// How long the Lease holds without a renewal.
const LEASE_SECONDS: u64 = 15;
/// A leader renews this long before its Lease would expire (so every 5 s).
const LEASE_GRACE_SECONDS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read the policies: {0}")]
    Policies(#[from] LoadError),
    #[error("the configuration: {0}")]
    Config(String),
    #[error("cannot take part in leader election on Lease {namespace}/{LEASE}: {source}")]
    Lease {
        namespace: String,
        #[source]
        source: kube_lease_manager::LeaseManagerError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// One source's live policies.
struct Live {
    program: Arc<Program>,
    queries: Vec<Query>,
    engine: Engine,
    scope: Scope,
    /// The engine has read its state back from the cluster (this leadership).
    restored: bool,
}

/// Every policy source, as last built.
struct Sources {
    live: BTreeMap<SourceId, Live>,
    /// A hash of each source's file names and texts as last built: a change
    /// builds again.
    seen: BTreeMap<SourceId, u64>,
    /// ConfigMaps whose current text fails to check (their Warning stands).
    invalid: BTreeSet<SourceId>,
    paths: Vec<PathBuf>,
    home: String,
    dry_run: bool,
    matchers: Vec<LabelMatcher>,
    events: Events,
    /// Only the leader writes Events; a standby loads the policies silently.
    leading: bool,
}

fn fingerprint(files: &[(String, String)]) -> u64 {
    let mut h = DefaultHasher::new();
    files.hash(&mut h);
    h.finish()
}

impl Sources {
    /// Reads `--policies` and takes the ConfigMaps `maps`; a source whose
    /// text changed is built again. The first read of `--policies` failing
    /// is an error; later ones keep the last good files.
    async fn refresh(
        &mut self,
        maps: &BTreeMap<SourceId, PolicyMap>,
        now: Time,
    ) -> Result<(), RunError> {
        if !self.paths.is_empty() {
            match compile::read_paths(&self.paths) {
                Ok(loaded) => {
                    let files: Vec<(String, String)> = loaded
                        .into_iter()
                        .map(compile::Loaded::into_named)
                        .collect();
                    self.files(files, now);
                }
                Err(e) if !self.seen.contains_key(&SourceId::Files) => return Err(e.into()),
                Err(e) => {
                    tracing::error!("cannot read the policies, keeping the last good ones: {e}")
                }
            }
        }
        let gone: Vec<SourceId> = self
            .seen
            .keys()
            .filter(|id| **id != SourceId::Files && !maps.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            tracing::info!(source = %id, "policy source removed");
            self.live.remove(&id);
            self.seen.remove(&id);
            self.invalid.remove(&id);
        }
        for (id, map) in maps {
            self.config_map(id, map, now).await;
        }
        Ok(())
    }

    /// `--policies`: a policy with errors is left out, the others run.
    fn files(&mut self, files: Vec<(String, String)>, now: Time) {
        let print = fingerprint(&files);
        if self.seen.get(&SourceId::Files) == Some(&print) {
            return;
        }
        self.seen.insert(SourceId::Files, print);
        let built = sources::build(files, &Scope::Cluster, self.dry_run);
        if !built.rendered.is_empty() {
            if built.errors > 0 {
                tracing::error!(source = "--policies", "{}", built.rendered.trim_end());
            } else {
                tracing::warn!(source = "--policies", "{}", built.rendered.trim_end());
            }
        }
        match self.install(SourceId::Files, built.program, Scope::Cluster, now) {
            Ok(n) => tracing::info!(
                source = "--policies",
                policies = n,
                errors = built.errors,
                "policies loaded"
            ),
            Err(e) => tracing::error!(source = "--policies", "policies not reloaded: {e}"),
        }
    }

    /// A ConfigMap: any error keeps its last good version.
    async fn config_map(&mut self, id: &SourceId, map: &PolicyMap, now: Time) {
        let files = map.named_files();
        let print = fingerprint(&files);
        if self.seen.get(id) == Some(&print) {
            return;
        }
        self.seen.insert(id.clone(), print);
        let scope = Scope::of(&map.namespace, &self.home);
        let built = sources::build(files, &scope, self.dry_run);
        let regarding = config_map_ref(map);
        let failed = if !map.unreadable.is_empty() {
            Some(format!(
                "{}: in binaryData and not UTF-8 text; a policy file is text (put it in data)",
                map.unreadable.join(", ")
            ))
        } else if built.errors > 0 {
            Some(built.rendered.trim_end().to_string())
        } else {
            self.install(id.clone(), built.program, scope, now).err()
        };
        let note = match failed {
            Some(text) => {
                let kept = if self.live.contains_key(id) {
                    "its last good version keeps running"
                } else {
                    "it has no good version yet"
                };
                tracing::error!(source = %id, "the policies do not check; {kept}:\n{text}");
                self.invalid.insert(id.clone());
                Note {
                    warning: true,
                    reason: reason::POLICY_INVALID.into(),
                    action: "Load",
                    message: format!("the policies do not check; {kept}:\n{text}"),
                }
            }
            None => {
                let n = self.live.get(id).map_or(0, |l| l.program.policies.len());
                tracing::info!(source = %id, policies = n, "policies loaded");
                if self.invalid.remove(id)
                    && self.leading
                    && let Err(e) = self.events.clear(&regarding, reason::POLICY_INVALID).await
                {
                    tracing::warn!(source = %id, "could not clear the PolicyInvalid events: {e}");
                }
                Note {
                    warning: false,
                    reason: reason::POLICY_LOADED.into(),
                    action: "Load",
                    message: format!("{n} policies loaded"),
                }
            }
        };
        if self.leading
            && let Err(e) = self.events.publish_new(&regarding, &note).await
        {
            tracing::warn!(source = %id, "could not record the event: {e}");
        }
    }

    /// Puts `program` in place for `id`, keeping the engine's states; the
    /// number of policies, or why not.
    fn install(
        &mut self,
        id: SourceId,
        program: Program,
        scope: Scope,
        now: Time,
    ) -> Result<usize, String> {
        let queries = metrics::queries(&program, &self.matchers)?;
        let program = Arc::new(program);
        let n = program.policies.len();
        match self.live.get_mut(&id) {
            Some(live) => {
                live.engine.reload(Arc::clone(&program), now);
                live.program = program;
                live.queries = queries;
                live.scope = scope;
            }
            None => {
                let engine = Engine::new(Arc::clone(&program));
                self.live.insert(
                    id,
                    Live {
                        program,
                        queries,
                        engine,
                        scope,
                        restored: false,
                    },
                );
            }
        }
        Ok(n)
    }
}

fn config_map_ref(map: &PolicyMap) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("ConfigMap".into()),
        namespace: Some(map.namespace.clone()),
        name: Some(map.name.clone()),
        ..ObjectReference::default()
    }
}

/// Runs until `shutdown` resolves.
pub async fn run(
    client: Client,
    prometheus: Prometheus,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let health = serve::Health::default();
    let bound = serve::serve(&options.listen, health.clone())
        .await
        .map_err(|source| RunError::Listen {
            addr: options.listen.clone(),
            source,
        })?;
    tracing::info!("probes listening on {bound}");
    let events = Events::new(client.clone(), Some(options.identity.clone()));
    let mut sources = Sources {
        live: BTreeMap::new(),
        seen: BTreeMap::new(),
        invalid: BTreeSet::new(),
        paths: options.policies.clone(),
        home: options.namespace.clone(),
        dry_run: options.dry_run,
        matchers: options.matchers.clone(),
        events: events.clone(),
        leading: false,
    };
    let mut executor = Executor::new(client.clone(), events.clone());
    if !options.receivers.is_empty() {
        let notifier = Notifier::new(options.receivers.clone())
            .map_err(|e| RunError::Config(e.to_string()))?;
        executor = executor.with_notifier(notifier);
    }
    let (leading, lease) = elect(&client, &options).await?;
    let objects = Objects::watch(&client);
    let maps = PolicyMaps::watch(&client);
    let mut approvals = approvals::Approvals::watch(
        &client,
        &options.namespace,
        health.telemetry.clone(),
        options.dry_run,
    );
    let interval = options.interval.max(Duration::from_secs(1));
    tokio::pin!(shutdown);

    // The first tick waits for every watcher's first list.
    loop {
        if objects.synced() && maps.synced() {
            break;
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    tracing::info!(objects = ?objects.counts(), "watches synced");
    let mut led = *leading.borrow();
    sources.leading = led;
    health.telemetry.leader.set(i64::from(led));
    if !led {
        tracing::info!(identity = %options.identity, "standing by until this replica leads");
    }
    sources
        .refresh(&maps.view(), Timestamp::now().as_millisecond())
        .await?;
    health.set_ready(true);

    let mut ticker = tokio::time::interval_at(aligned(interval), interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut tick: u64 = 0;
    let mut failing = Failing::default();
    let mut persist = persist::Persist::new(
        client.clone(),
        options.namespace.clone(),
        health.telemetry.clone(),
    );
    let mut events_counted = events.writes();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        tick += 1;
        health.telemetry.ticks.inc();
        let started = std::time::Instant::now();
        let now = Timestamp::now();
        let t = now.as_millisecond();
        let leads = *leading.borrow();
        if led != leads {
            if leads {
                tracing::info!(tick, identity = %options.identity, "this replica leads");
                // Everything is said again by the new leader, and the
                // state is read back from the cluster.
                sources.seen.clear();
                for live in sources.live.values_mut() {
                    live.engine = Engine::new(Arc::clone(&live.program));
                    live.restored = false;
                }
                persist.reset();
            } else {
                tracing::info!(tick, identity = %options.identity, "standing by: another replica leads");
            }
            health.telemetry.leader.set(i64::from(leads));
            led = leads;
        }
        sources.leading = leads;
        if let Err(e) = sources.refresh(&maps.view(), t).await {
            tracing::error!(tick, "{e}");
        }
        if !leads {
            for id in objects.take_deleted() {
                sources.live.values_mut().for_each(|l| l.engine.forget(&id));
            }
            continue;
        }
        let view = objects.view();
        for live in sources.live.values_mut() {
            for id in &view.deleted {
                live.engine.forget(id);
            }
        }
        persist.restore(&mut sources.live, &view, &events, t).await;
        let asked: Vec<(&Program, &[Query])> = sources
            .live
            .values()
            .map(|l| (l.program.as_ref(), l.queries.as_slice()))
            .collect();
        let fetched = metrics::fetch_all(&prometheus, &asked, now, options.in_flight).await;
        drop(asked);
        failing.update(tick, &sources.live, &fetched, &health.telemetry);
        for ((id, live), f) in sources.live.iter().zip(&fetched) {
            for (metric, d) in &f.took {
                let labels = telemetry::BindingLabels {
                    source: id.to_string(),
                    binding: live.program.metric(*metric).qualified(),
                };
                let seconds = d.as_secs_f64();
                health
                    .telemetry
                    .query_duration
                    .get_or_create(&labels)
                    .observe(seconds);
            }
        }
        let meta: HashMap<&ObjectId, &objects::Meta> =
            view.objects.iter().map(|o| &o.id).zip(&view.meta).collect();
        // Every engine ticks first, so that the state written with an
        // action is every policy's.
        let mut planned = Vec::new();
        for ((id, live), fetched) in sources.live.iter_mut().zip(&fetched) {
            for (metric, n) in &fetched.unjoined {
                tracing::debug!(
                    tick,
                    source = %id,
                    binding = %live.program.metric(*metric).qualified(),
                    series = n,
                    "series without the join labels"
                );
            }
            let scoped: Vec<Object>;
            let (objects, namespaces) = match &live.scope {
                Scope::Cluster => (view.objects.as_slice(), &view.namespaces),
                Scope::Namespace(_) => {
                    scoped = view
                        .objects
                        .iter()
                        .filter(|o| live.scope.covers(o.id.namespace.as_deref()))
                        .cloned()
                        .collect();
                    (scoped.as_slice(), &view.namespaces)
                }
            };
            let snapshot = Snapshot {
                objects,
                namespaces,
                metrics: fetched,
            };
            let decisions = approvals.decisions(id, t);
            let (said, intents) = live.engine.tick(t, &snapshot, &decisions);
            for e in &said {
                log(tick, id, e);
                count(&health.telemetry, id, e);
                persist.note(id, &live.engine, e);
                if *leading.borrow() {
                    announce(&events, e).await;
                }
            }
            approvals
                .request(id, &live.engine, &said, &meta, &events, &leading)
                .await;
            planned.extend(intents.into_iter().map(|i| (id.clone(), i)));
        }
        for (id, intent) in &planned {
            let stamp = persist.render(&sources.live, &intent.object);
            let no_meta = objects::Meta::default();
            let object_meta = meta.get(&intent.object).copied().unwrap_or(&no_meta);
            // Leadership is checked before every write, not once a tick.
            let outcome = if !*leading.borrow() {
                ActionOutcome::Failed(Failure::transient(
                    "not carried out: this replica lost the Lease",
                ))
            } else if act::stamps(intent.planned.action()) {
                let outcome = executor
                    .execute_stamped(intent, now, stamp.as_deref())
                    .await;
                if matches!(outcome, ActionOutcome::Applied) {
                    persist.stamped(&intent.object, stamp.as_deref());
                }
                outcome
            } else if persist
                .write_now(&intent.object, object_meta, stamp.as_deref(), &leading)
                .await
            {
                crate::failpoint::hit(crate::failpoint::AFTER_STATE_WRITE);
                executor.execute(intent, now).await
            } else {
                ActionOutcome::Failed(Failure::transient(
                    "not carried out: the state that says it is in flight could not be written",
                ))
            };
            if !matches!(outcome, ActionOutcome::Failed(_))
                && intent.planned.action() != ActionName::Notify
            {
                health.telemetry.wrote(telemetry::Write::Action);
            }
            let Some(live) = sources.live.get_mut(id) else {
                continue;
            };
            match live.engine.finish(t, intent, outcome) {
                Ok(more) => more.iter().for_each(|e| {
                    log(tick, id, e);
                    count(&health.telemetry, id, e);
                    persist.note(id, &live.engine, e);
                }),
                Err(e) => tracing::error!(tick, source = %id, "{e}"),
            }
        }
        drop(meta);
        persist.flush(&sources.live, &view, &leading).await;
        approvals.collect(&sources.live, &leading).await;
        let written = events.writes();
        health
            .telemetry
            .api_writes
            .get_or_create(&telemetry::WriteLabels {
                what: telemetry::Write::Event,
            })
            .inc_by(written - events_counted);
        events_counted = written;
        let took = started.elapsed();
        health.telemetry.tick_duration.observe(took.as_secs_f64());
        gauges(&health.telemetry, &sources, &objects);
        if took > interval {
            tracing::warn!(
                tick,
                took_ms = took.as_millis() as u64,
                "the tick ran past the interval; the next one is skipped"
            );
        }
    }
    // Dropping the last receiver releases the Lease, so a standby takes
    // over at once rather than after it expires.
    drop(leading);
    if let Some(task) = lease {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    tracing::info!("stopped");
    Ok(())
}

type LeaseTask = tokio::task::JoinHandle<
    Result<kube_lease_manager::LeaseManager, kube_lease_manager::LeaseManagerError>,
>;

/// Whether this replica leads, as it changes: the Lease's, or always, with
/// election off.
async fn elect(
    client: &Client,
    options: &Options,
) -> Result<(tokio::sync::watch::Receiver<bool>, Option<LeaseTask>), RunError> {
    if !options.leader_election {
        let (_, always) = tokio::sync::watch::channel(true);
        return Ok((always, None));
    }
    let manager = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), LEASE)
        .with_namespace(options.namespace.clone())
        .with_identity(options.identity.clone())
        .with_duration(LEASE_SECONDS)
        .with_grace(LEASE_GRACE_SECONDS)
        .build()
        .await
        .map_err(|source| RunError::Lease {
            namespace: options.namespace.clone(),
            source,
        })?;
    let (leading, task) = manager.watch().await;
    Ok((leading, Some(task)))
}

/// The bindings whose query fails, so that a failure is logged when it
/// starts and when it ends, not every tick.
#[derive(Default)]
struct Failing {
    now: BTreeSet<(SourceId, String)>,
}

impl Failing {
    /// Logs what started or stopped failing; counts every failed query.
    fn update(
        &mut self,
        tick: u64,
        live: &BTreeMap<SourceId, Live>,
        fetched: &[metrics::Fetched],
        counter: &telemetry::Telemetry,
    ) {
        let mut next = BTreeSet::new();
        for ((id, l), f) in live.iter().zip(fetched) {
            for (metric, error) in f.failures() {
                let binding = l.program.metric(metric).qualified();
                let labels = telemetry::BindingLabels {
                    source: id.to_string(),
                    binding: binding.clone(),
                };
                counter.query_errors.get_or_create(&labels).inc();
                let key = (id.clone(), binding);
                if !self.now.contains(&key) {
                    tracing::error!(
                        tick,
                        source = %id,
                        binding = %key.1,
                        "the query failed; the binding is an error for every object until it \
                         answers again (said once): {error}"
                    );
                }
                next.insert(key);
            }
        }
        for (id, binding) in self.now.difference(&next) {
            if live.contains_key(id) {
                tracing::info!(tick, source = %id, %binding, "the query answers again");
            }
        }
        self.now = next;
    }
}

/// The next multiple of `interval` since the epoch, as a tokio instant.
fn aligned(interval: Duration) -> tokio::time::Instant {
    let step = interval.as_millis().max(1) as i64;
    let now: Time = Timestamp::now().as_millisecond();
    let wait = step - now.rem_euclid(step);
    tokio::time::Instant::now() + Duration::from_millis(wait as u64)
}

/// `actions_total` for an action event.
fn count(t: &telemetry::Telemetry, source: &SourceId, e: &Event) {
    if let EventKind::Action { action, result, .. } = &e.kind {
        let labels = telemetry::ActionLabels {
            source: source.to_string(),
            policy: e.policy.clone(),
            action: action.name().into(),
            result: result.name().into(),
        };
        t.actions.get_or_create(&labels).inc();
    }
}

/// The gauges of policies and objects, as they are after a tick.
fn gauges(t: &telemetry::Telemetry, sources: &Sources, objects: &Objects) {
    let state = |s: &str| telemetry::StateLabels { state: s.into() };
    let loaded: usize = sources
        .live
        .values()
        .map(|l| l.program.policies.len())
        .sum();
    t.policies
        .get_or_create(&state("loaded"))
        .set(loaded as i64);
    let failing = sources.invalid.len();
    t.policies
        .get_or_create(&state("failing"))
        .set(failing as i64);
    for (kind, n) in objects.counts() {
        let labels = telemetry::KindLabels { kind: kind.into() };
        t.objects.get_or_create(&labels).set(n as i64);
    }
}

fn log(tick: u64, source: &SourceId, e: &Event) {
    let (policy, object) = (&e.policy, &e.object);
    match &e.kind {
        EventKind::Transition { from, to } => {
            tracing::info!(tick, %source, %policy, %object, "{from} → {to}")
        }
        EventKind::Action { result, .. } => {
            let text = action::inline(&e.kind);
            match result {
                ActionResult::Failed | ActionResult::Declined | ActionResult::Skipped => {
                    tracing::warn!(tick, %source, %policy, %object, "{text}")
                }
                _ => tracing::info!(tick, %source, %policy, %object, "{text}"),
            }
        }
        EventKind::Error { message } => {
            tracing::warn!(tick, %source, %policy, %object, "{message}")
        }
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
        reason: reason.into(),
        action: "Evaluate",
        message,
    };
    if let Err(err) = events.publish(&regarding, &note).await {
        tracing::warn!(object = %e.object, "could not record the event: {err}");
    }
}
