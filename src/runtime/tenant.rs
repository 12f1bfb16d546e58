//! One tenant as the rest of the service sees it: a mailbox to its
//! decider, the view readers read, the revision serving, and its health.
//!
//! ```text
//! HTTP / clock ──try_send──▶ mailbox (bounded) ──▶ decider thread ──▶ store
//!      ▲ 429 when full                                  │ durable
//!      └────────── answer (oneshot) ◀───────────────────┤
//! reads ──▶ view (published after every durable batch) ◀┘
//! ```
//!
//! Nothing here waits on a decision: sending is `try_send`, and reading the
//! view or the revision takes a lock only to clone an `Arc`.

use super::mailbox::{DecideError, Decided, Job, Mailbox, Refused};
use super::revision::{Files, Refusal, Revision};
use super::stream::{Item, Stream, Streamed};
use crate::engine::{Event, State};
use crate::store::TenantStore;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// What readers see of a tenant: the state as of the latest durable event.
pub struct View {
    pub state: State,
    /// The sequence number of the latest event in `state`.
    pub seq: u64,
}

/// Why a candidate policy could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    /// The candidate does not check: its diagnostics, rendered.
    #[error("{0}")]
    DoesNotCheck(String),
    #[error("reading the stored log: {0}")]
    Store(String),
}

/// How a tenant is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Status {
    /// Deciding with the policy file as it is.
    Serving,
    /// Deciding with its last good stored revision, because its policy file
    /// does not check, cannot be read, or is gone.
    Degraded(String),
    /// Not deciding: writes fail. It retries by itself and resumes once a
    /// write succeeds.
    Stopped(String),
    /// Not served: its stored history cannot be read.
    Failed(String),
    /// Decided by another node of the cluster (this one forwards to it),
    /// or, for the moment of a failover or hand-off, by none.
    Elsewhere(String),
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Serving => "serving",
            Status::Degraded(_) => "degraded",
            Status::Stopped(_) => "stopped",
            Status::Failed(_) => "failed",
            Status::Elsewhere(_) => "elsewhere",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Serving => None,
            Status::Degraded(r) | Status::Stopped(r) | Status::Failed(r) | Status::Elsewhere(r) => {
                Some(r)
            }
        }
    }

    /// Whether the tenant's requests are answered now: it decides here,
    /// or another node does.
    pub fn is_ready(&self) -> bool {
        matches!(
            self,
            Status::Serving | Status::Degraded(_) | Status::Elsewhere(_)
        )
    }
}

pub struct Tenant {
    name: String,
    /// The policy file this tenant is loaded from.
    path: PathBuf,
    store: Arc<dyn TenantStore>,
    /// `None` for a tenant that failed to recover.
    mailbox: Option<Mailbox>,
    view: RwLock<Arc<View>>,
    /// The revision the next event is decided by.
    revision: RwLock<Arc<Revision>>,
    /// Why the tenant serves a stored revision rather than its file.
    degraded: RwLock<Option<String>>,
    /// Why writes stopped, while they are stopped.
    stopped: RwLock<Option<String>>,
    failed: Option<String>,
    /// Kept ready for when this node takes the tenant's lease; another
    /// node decides it.
    standby: bool,
    /// The newest revision that failed to load, unless a later one loaded.
    refused: RwLock<Option<Refusal>>,
    pub(crate) decider: Mutex<Option<JoinHandle<()>>>,
    /// Every durable decision and revision change, for listeners.
    stream: Stream,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = value;
}

impl Tenant {
    pub(crate) fn new(
        name: String,
        path: PathBuf,
        store: Arc<dyn TenantStore>,
        revision: Arc<Revision>,
        view: View,
        mailbox: Option<Mailbox>,
        failed: Option<String>,
    ) -> Tenant {
        Tenant {
            name,
            path,
            store,
            mailbox,
            view: RwLock::new(Arc::new(view)),
            revision: RwLock::new(revision),
            degraded: RwLock::new(None),
            stopped: RwLock::new(None),
            failed,
            standby: false,
            refused: RwLock::new(None),
            decider: Mutex::new(None),
            stream: Stream::new(super::stream::DEFAULT_BUFFER),
        }
    }

    /// The same tenant, its stream holding `buffer` items for a listener
    /// behind it.
    pub(crate) fn with_stream(self, buffer: usize) -> Tenant {
        Tenant {
            stream: Stream::new(buffer),
            ..self
        }
    }

    /// Listens to the tenant's stream from now on.
    pub fn listen(&self) -> tokio::sync::broadcast::Receiver<Item> {
        self.stream.listen()
    }

    pub(crate) fn stream(&self) -> &Stream {
        &self.stream
    }

    /// Up to `limit` of the tenant's stored decisions after sequence number
    /// `after`, oldest first: what a listener resuming its stream (or one
    /// that fell behind) missed. Blocks on the store.
    pub fn stored_after(&self, after: u64, limit: usize) -> Result<Vec<Streamed>, String> {
        const ENOUGH: &str = "a page is full";
        let mut page = Vec::new();
        let read = self.store.replay(&self.name, after, &mut |stored| {
            page.push(Streamed {
                seq: stored.seq,
                event: stored.event.into(),
                decision: stored.decision.into(),
            });
            match page.len() < limit {
                true => Ok(()),
                false => Err(ENOUGH.into()),
            }
        });
        match read {
            Ok(()) => Ok(page),
            Err(crate::store::StoreError::Replay(why)) if why == ENOUGH => Ok(page),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A tenant another node decides: its revision loaded, no decider.
    pub(crate) fn standby(
        name: String,
        path: PathBuf,
        store: Arc<dyn TenantStore>,
        revision: Arc<Revision>,
        degraded: Option<String>,
    ) -> Tenant {
        let view = View {
            state: State::new(),
            seq: 0,
        };
        let tenant = Tenant {
            standby: true,
            ..Tenant::new(name, path, store, revision, view, None, None)
        };
        tenant.degrade(degraded);
        tenant
    }

    /// Whether another node decides the tenant.
    pub fn is_standby(&self) -> bool {
        self.standby
    }

    /// Why the tenant serves a stored revision, if it does.
    pub(crate) fn degraded(&self) -> Option<String> {
        read(&self.degraded)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy file this tenant is loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state as of the latest durable event.
    pub fn view(&self) -> Arc<View> {
        read(&self.view)
    }

    pub(crate) fn publish(&self, view: View) {
        write(&self.view, Arc::new(view));
    }

    /// The revision serving now.
    pub fn revision(&self) -> Arc<Revision> {
        read(&self.revision)
    }

    /// Serves `revision` from the next event on; its files are in the
    /// store already.
    pub(crate) fn swap_revision(&self, revision: Revision) {
        let serving = Item::Serving {
            revision: revision.id.clone(),
        };
        write(&self.revision, Arc::new(revision));
        self.stream.send(serving);
        write(&self.refused, None);
        write(&self.degraded, None);
    }

    /// The newest revision that failed to load, unless a later one loaded.
    pub fn refused(&self) -> Option<Refusal> {
        read(&self.refused)
    }

    pub(crate) fn refuse(&self, refusal: Refusal) {
        self.stream.send(Item::Refused {
            revision: refusal.revision.clone(),
            diagnostics: refusal.diagnostics.clone(),
        });
        write(&self.refused, Some(refusal));
    }

    pub(crate) fn degrade(&self, reason: Option<String>) {
        write(&self.degraded, reason);
    }

    pub(crate) fn set_stopped(&self, reason: Option<String>) {
        write(&self.stopped, reason);
    }

    pub fn status(&self) -> Status {
        if let Some(reason) = &self.failed {
            return Status::Failed(reason.clone());
        }
        if self.standby {
            return Status::Elsewhere("decided by another node".into());
        }
        if let Some(reason) = read(&self.stopped) {
            return Status::Stopped(reason);
        }
        match read(&self.degraded) {
            Some(reason) => Status::Degraded(reason),
            None => Status::Serving,
        }
    }

    /// Hands an event to the tenant's decider; the answer comes once the
    /// event is durable. A full mailbox answers [`DecideError::Busy`] at
    /// once.
    pub fn decide(
        &self,
        event: Event,
    ) -> Result<oneshot::Receiver<Result<Decided, DecideError>>, DecideError> {
        if self.standby {
            return Err(DecideError::Elsewhere(self.name.clone()));
        }
        let Some(mailbox) = &self.mailbox else {
            return Err(DecideError::Failed {
                tenant: self.name.clone(),
                reason: self.failed.clone().unwrap_or_default(),
            });
        };
        let (reply, answer) = oneshot::channel();
        let job = Job::Decide {
            event,
            reply,
            received: std::time::Instant::now(),
        };
        match mailbox.offer(job) {
            Ok(()) => Ok(answer),
            Err(Refused::Full) => Err(DecideError::Busy(self.name.clone())),
            Err(Refused::Closed) => Err(DecideError::ShuttingDown),
        }
    }

    /// As [`decide`](Self::decide), waiting for the answer: for threads
    /// that may block (tests, tools), never for async code.
    pub fn decide_blocking(&self, event: Event) -> Result<Decided, DecideError> {
        self.decide(event)?
            .blocking_recv()
            .unwrap_or(Err(DecideError::ShuttingDown))
    }

    /// Asks the decider to tick at `now` if a timer is due; false if its
    /// mailbox is full (the clock asks again on its next pass).
    pub(crate) fn tick(&self, now: DateTime<Utc>) -> bool {
        self.mailbox
            .as_ref()
            .is_some_and(|m| m.offer(Job::Tick { now }).is_ok())
    }

    /// Saves a snapshot now and waits for it (a clean shutdown, say).
    pub fn checkpoint(&self) -> Result<(), String> {
        let Some(mailbox) = &self.mailbox else {
            return Ok(());
        };
        let (reply, done) = std::sync::mpsc::channel();
        mailbox
            .send(Job::Checkpoint { reply })
            .map_err(|_| "the decider has stopped".to_string())?;
        done.recv()
            .unwrap_or_else(|_| Err("the decider has stopped".into()))
    }

    /// Stops the decider after what is in its mailbox, with a snapshot.
    pub(crate) fn stop(&self) {
        if let Some(mailbox) = &self.mailbox {
            let _ = mailbox.send(Job::Stop);
        }
        let decider = self
            .decider
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(decider) = decider {
            let _ = decider.join();
        }
        self.stream.send(Item::End {
            reason: format!("tenant {} is no longer decided here", self.name),
        });
    }

    /// Decides an event against the published state with the read-only
    /// [`crate::engine::Engine::decide`]: nothing is stored or changed, and no decision
    /// waits for it.
    pub fn dry_run(&self, event: &Event) -> serde_json::Value {
        let revision = self.revision();
        let decision = revision.engine.decide(&self.view().state, event);
        let mut decision = serde_json::to_value(&decision).unwrap_or_default();
        decision["revision"] = serde_json::Value::String(revision.id.clone());
        decision
    }

    /// A candidate policy (the policy file's text, and any of the files it
    /// names, by name), compiled from memory; files it does not give come
    /// from the serving revision. Blocks on the store.
    fn candidate(
        &self,
        policy: String,
        files: BTreeMap<String, String>,
    ) -> Result<Revision, CandidateError> {
        let serving = self.revision();
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("{}.policy", self.name));
        let mut texts = self
            .store
            .revision(&self.name, &serving.id)
            .map_err(|e| CandidateError::Store(e.to_string()))?
            .and_then(|v| Files::from_json(&v))
            .map(|f| f.texts)
            .unwrap_or_default();
        texts.extend(files);
        texts.insert(name.clone(), policy);
        Files {
            policy: name,
            texts,
        }
        .compile()
        .map_err(CandidateError::DoesNotCheck)
    }

    /// What a candidate policy would decide for `event` against the
    /// published state, with the read-only decision: nothing is stored,
    /// changed or copied, and the serving revision goes on serving. The
    /// decision's `revision` is the candidate's. Blocks on the store.
    pub fn dry_run_candidate(
        &self,
        policy: String,
        files: BTreeMap<String, String>,
        event: &Event,
    ) -> Result<serde_json::Value, CandidateError> {
        let candidate = self.candidate(policy, files)?;
        let decision = candidate.engine.decide(&self.view().state, event);
        let mut decision = serde_json::to_value(&decision).unwrap_or_default();
        decision["revision"] = serde_json::Value::String(candidate.id.clone());
        Ok(decision)
    }

    /// Steps `events` in order from an empty state with the serving
    /// revision, or with a candidate policy if one is given (its files
    /// from the serving revision): a scenario played through, each event
    /// seeing the ones before it, while the tenant's own state is neither
    /// read nor changed. Blocks on the store for a candidate.
    pub fn simulate(
        &self,
        candidate: Option<(String, BTreeMap<String, String>)>,
        events: &[Event],
    ) -> Result<Vec<serde_json::Value>, CandidateError> {
        let revision = match candidate {
            Some((policy, files)) => Arc::new(self.candidate(policy, files)?),
            None => self.revision(),
        };
        let mut state = State::new();
        Ok(events
            .iter()
            .map(|event| {
                let decision = revision.engine.step(&mut state, event);
                let mut decision = serde_json::to_value(&decision).unwrap_or_default();
                decision["revision"] = serde_json::Value::String(revision.id.clone());
                decision
            })
            .collect())
    }

    /// The scenario files beside the tenant's policy file, each with its
    /// description and its events (agents' starting statuses as `status`
    /// events first), for the console's playground. Reads the disk.
    pub fn scenarios(&self) -> Vec<serde_json::Value> {
        let Some(folder) = self.path.parent() else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".scenario.yaml"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|path| {
                let name = path.file_name()?.to_string_lossy().into_owned();
                let text = std::fs::read_to_string(path).ok()?;
                let read = crate::scenario::parse(&text, &name).and_then(|s| {
                    let events = s.events()?;
                    Ok((s, events))
                });
                Some(match read {
                    Ok((scenario, events)) => {
                        let first = events.first().map(|(_, e)| e.at());
                        let statuses = scenario.statuses.iter().filter_map(|(agent, status)| {
                            Some(serde_json::json!({
                                "type": "status", "at": first?, "agent": agent, "status": status,
                            }))
                        });
                        let events: Vec<serde_json::Value> = statuses
                            .chain(
                                events
                                    .iter()
                                    .filter_map(|(_, e)| serde_json::to_value(e).ok()),
                            )
                            .collect();
                        serde_json::json!({
                            "file": name,
                            "description": scenario.description,
                            "events": events,
                        })
                    }
                    Err(why) => serde_json::json!({ "file": name, "error": why }),
                })
            })
            .collect()
    }

    /// The open conversations (of one inbox, if given), the latest
    /// customer message first, at most `limit`.
    pub fn open_conversations(&self, inbox: Option<&str>, limit: usize) -> Vec<serde_json::Value> {
        let view = self.view();
        let mut open: Vec<_> = view
            .state
            .conversations()
            .filter(|c| c.closed_at.is_none() && inbox.is_none_or(|i| c.inbox == i))
            .collect();
        open.sort_by(|a, b| {
            b.last_inbound_at
                .cmp(&a.last_inbound_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        open.into_iter()
            .take(limit)
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect()
    }

    /// What `candidate` (the policy file's text, and any of the files it
    /// names, by name) would have decided otherwise over the tenant's
    /// stored log, against the serving revision: events from `since` on
    /// are compared (those before build the state), with up to `examples`
    /// of each kind of change. Files the candidate does not give come from
    /// the serving revision. Nothing is stored or changed. Blocks on the
    /// store: call it off the async workers.
    pub fn diff(
        &self,
        policy: String,
        files: BTreeMap<String, String>,
        since: Option<DateTime<Utc>>,
        examples: usize,
    ) -> Result<crate::diff::Diff, CandidateError> {
        let options = crate::diff::Options {
            since,
            examples_per_kind: examples,
            evict: true,
        };
        let serving = self.revision();
        let candidate = self.candidate(policy, files)?;
        let store = self.store.clone();
        crate::diff::stored(
            |each| store.replay(&self.name, 0, each),
            serving.engine.clone(),
            candidate.engine,
            options,
        )
        .map_err(CandidateError::Store)
    }

    /// A conversation by id: from the published state, or, once archived
    /// and out of memory, from the store. Blocks on the store: call it
    /// where blocking is allowed.
    pub fn conversation(&self, id: &str) -> Result<Option<serde_json::Value>, String> {
        let view = self.view();
        if let Some(c) = view.state.conversation(id) {
            return Ok(serde_json::to_value(c).ok());
        }
        if !view.state.was_archived(id) {
            return Ok(None);
        }
        let stored = self
            .store
            .archived(&self.name, id)
            .map_err(|e| e.to_string())?;
        Ok(stored.and_then(|text| serde_json::from_str(&text).ok()))
    }
}
