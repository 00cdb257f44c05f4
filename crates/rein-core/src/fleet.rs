//! Waiting on many resources at once under one rate budget: a [`Fleet`] (what to wait on, and
//! the checkpoint to resume from) and the [`FleetWait`] machine that runs it.
//!
//! A fleet waits on any number of assets, knowledge store items (of one store or several) or
//! jack documents. It learns their statuses in *sweeps*, one request at a time through the
//! client's limiter as bulk work ([`Priority::Bulk`]), from list endpoints whenever that costs
//! fewer requests than one GET per id:
//!
//! - items: `GET /knowledge-stores/{id}/items`, 50 per page, newest `updated_at` first. The first
//!   sweep reads the store once whole, to account for every id; later sweeps ask only for
//!   `ready` and `failed` items and read down to the previous sweep's newest `updated_at` (less
//!   [`WATERMARK_OVERLAP`], for equal timestamps and skew between the server's machines), so a
//!   sweep in which nothing finished costs one request whatever the fleet's size;
//! - assets: `GET /assets` with up to 50 `asset_ids` a request;
//! - documents: `GET /v1/documents` (every document, one request).
//!
//! An id the list should have held but did not is fetched by itself; so is every id, once the
//! fleet is small enough that GETs cost less than the lists (see [`FleetKind::plan`]).
//!
//! Sweeps are spaced by the wait policy's interval, from the start of one to the start of the
//! next; the limiter spaces the requests inside them. Every id ends exactly once, as ready,
//! failed ([`Error::ResourceFailed`], with the server's message), timed out
//! ([`Error::WaitTimedOut`]: still pending at the first sweep after its deadline) or another
//! error (a 404 for an id that does not exist, say); one id's end never stops the others. A
//! 429, a 5xx or a lost connection inside a sweep is retried by the request's own call; a
//! request that still fails ends its part of the sweep, and the next sweep looks again.
//!
//! ```text
//!   Idle ──(now ≥ next sweep)──▶ Sweeping: one lookup after another (list pages, GETs)
//!     ▲                                 │ each answer: finished ids ──▶ Yield(Finished)
//!     └── next sweep = start + interval ◀┘ end: ids past their deadline ──▶ Yield(timed out)
//!                                           no id left ──▶ Done
//! ```
//!
//! [`FleetWait::checkpoint`] gives the [`Fleet`] of the ids not yet handed out, with what the
//! sweeps learned: serialised (serde), it is small, and a process that restarts from it waits on
//! exactly those ids, no id lost and none added twice.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::call::Call;
use crate::error::{DecodeError, Error, ErrorKind, ResourceFailed, WaitTimedOut};
use crate::event::{Event, Events, FleetProgress};
use crate::jack::{Document, DocumentId, GetDocument, ListDocuments};
use crate::jockey::{
    AssetDetail, AssetId, GetAsset, GetItem, ItemId, ItemStatus, KnowledgeStoreId,
    KnowledgeStoreItem, ListAssets, ListItems, SortBy, SortOption,
};
use crate::limiter::Priority;
use crate::machine::{Input, Internal, Machine, Next};
use crate::pages::{Page, MAX_PAGE_LIMIT};
use crate::retry::RetryPolicy;
use crate::status::{Phase, Pollable};
use crate::target::Target;
use crate::time::{Moment, Now};
use crate::wait::WaitPolicy;

/// How far below the last sweep's newest `updated_at` a sweep of items reads: timestamps have
/// whole seconds, so items finished in the same second as the watermark are read again, and the
/// server's machines may disagree on the time by a little.
// GUESS: Jockey publishes nothing on clock skew between its machines; a few seconds is the usual
// bound, and reading a little more costs nothing extra (the page is read anyway).
pub const WATERMARK_OVERLAP: Duration = Duration::from_secs(5);

/// The most `asset_ids` one `GET /assets` asks for (one page of the largest size).
pub const ASSET_IDS_PER_REQUEST: usize = MAX_PAGE_LIMIT as usize;

/// What a fleet waits on, and how it learns their statuses: one impl per resource kind
/// ([`Assets`], [`Items`], [`Documents`]).
pub trait FleetKind: Sized + Send + 'static {
    /// What identifies one resource.
    type Key: Clone + Ord + fmt::Debug + fmt::Display + Serialize + DeserializeOwned + Send;
    /// The resource.
    type Resource: Pollable + Serialize + Clone + PartialEq + fmt::Debug + Send;
    /// The GET of one resource.
    type Get: ApiCall<Output = Self::Resource>;
    /// One request of a list walk (a page).
    type List: Clone + fmt::Debug + Send;
    /// What sweeps learn and later sweeps use (a store's watermark, say); part of a checkpoint.
    type State: Clone + fmt::Debug + Default + PartialEq + Serialize + DeserializeOwned + Send;

    /// What the kind is called, plural (in progress events).
    const NOUN: &'static str;

    /// The references' preset for waiting on one of these.
    fn default_policy() -> WaitPolicy;

    /// The GET of `key`.
    fn get(key: &Self::Key) -> Self::Get;

    /// The lookups of a sweep over `pending` (in key order), with what earlier sweeps learned:
    /// list walks where they cost fewer requests than GETs, GETs where they cost no more.
    fn plan(state: &Self::State, pending: &[&Self::Key]) -> Vec<Lookup<Self>>;

    /// Renders one list request.
    fn render(list: &Self::List, target: &Target) -> Result<crate::Request, Error>;

    /// Reads the answer to a list request: the resources it holds, the next page to read (if
    /// the walk goes on), and how many pages are left when the walk reads to the end (for the
    /// choice between reading on and GETs).
    fn read(
        list: &Self::List,
        response: http::Response<Bytes>,
        state: &mut Self::State,
    ) -> Result<ListAnswer<Self>, DecodeError>;

    /// The server refused a list request (a 4xx other than 404, 408 and 429): whether the kind
    /// changed `state` so the next sweep asks differently (without a filter, say). When it did
    /// not, the ids the walk was for end with the error.
    fn refused(_list: &Self::List, _state: &mut Self::State) -> bool {
        false
    }

    /// A walk was abandoned for GETs after `pages_read` pages with `pages_left` to go: what
    /// the next sweep should know (that the walk costs more than the GETs, say).
    fn abandoned(_list: &Self::List, _pages_left: u32, _state: &mut Self::State) {}
}

/// One lookup of a sweep.
#[derive(Clone, Debug)]
pub enum Lookup<K: FleetKind> {
    /// A list walk from `first`, for the ids in `scope`. With `accounts`, every id of the scope
    /// should be in it: one that is not is then fetched by itself.
    Walk {
        /// The first request.
        first: K::List,
        /// The ids the walk is for.
        scope: Vec<K::Key>,
        /// Whether the walk lists every id of its scope, in whatever status.
        accounts: bool,
    },
    /// The GET of one id.
    Get(K::Key),
}

/// What a list request answered.
#[derive(Debug)]
pub struct ListAnswer<K: FleetKind> {
    /// The resources listed (the fleet picks out its own).
    pub seen: Vec<(K::Key, K::Resource)>,
    /// The next request of the walk, if it goes on.
    pub next: Option<K::List>,
    /// Pages left in the walk, when it reads to the end of the list.
    pub pages_left: Option<u32>,
}

/// A kind of Jockey resource: what a Jockey client's `wait_all` takes.
pub trait JockeyKind: FleetKind {}

impl JockeyKind for Assets {}
impl JockeyKind for Items {}

/// A kind of jack resource: what a jack client's `wait_all` takes.
pub trait JackKind: FleetKind {}

impl JackKind for Documents {}

/// The assets of a fleet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Assets;

/// The knowledge store items of a fleet (of one store or several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Items;

/// The jack documents of a fleet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Documents;

/// A knowledge store item: its store and its id (serialised as the pair `[store, item]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "(KnowledgeStoreId, ItemId)", into = "(KnowledgeStoreId, ItemId)")]
pub struct ItemKey {
    /// The store.
    pub knowledge_store_id: KnowledgeStoreId,
    /// The item.
    pub item_id: ItemId,
}

impl ItemKey {
    /// Item `item_id` of store `knowledge_store_id`.
    pub fn new(
        knowledge_store_id: impl Into<KnowledgeStoreId>,
        item_id: impl Into<ItemId>,
    ) -> Self {
        ItemKey { knowledge_store_id: knowledge_store_id.into(), item_id: item_id.into() }
    }
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.knowledge_store_id, self.item_id)
    }
}

impl From<ItemKey> for (KnowledgeStoreId, ItemId) {
    fn from(key: ItemKey) -> Self {
        (key.knowledge_store_id, key.item_id)
    }
}

impl<S: Into<KnowledgeStoreId>, I: Into<ItemId>> From<(S, I)> for ItemKey {
    fn from((store, item): (S, I)) -> Self {
        ItemKey::new(store, item)
    }
}

/// What to wait on, and how: the ids, the wait policy, and what earlier sweeps learned. Built
/// with [`Fleet::assets`], [`Fleet::items`] or [`Fleet::documents`], or taken as a checkpoint
/// ([`FleetWait::checkpoint`]) and serialised with serde.
///
/// ```
/// use rein::fleet::Fleet;
/// use rein::WaitPolicy;
/// use std::time::Duration;
///
/// let fleet = Fleet::documents(["doc_1", "doc_2", "doc_1"])
///     .policy(WaitPolicy::JACK_DOCUMENT.timeout(Duration::from_secs(600)));
/// assert_eq!(fleet.len(), 2, "an id given twice is waited on once");
/// let checkpoint = serde_json::to_string(&fleet)?;
/// let resumed: Fleet<rein::fleet::Documents> = serde_json::from_str(&checkpoint)?;
/// assert_eq!(resumed, fleet);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Fleet<K: FleetKind> {
    #[serde(with = "entries")]
    members: BTreeMap<K::Key, Standing>,
    /// The deadline of every id without one of its own, once the fleet has run (milliseconds
    /// since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deadline_unix_ms: Option<u64>,
    interval_ms: u64,
    timeout_ms: u64,
    #[serde(default)]
    state: K::State,
}

/// A fleet's ids as a list of entries, `{"id": ..., "deadline_unix_ms": ...}`: an id need not
/// be a string (an item's is its store and its id), and JSON keys must be.
mod entries {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Standing;

    #[derive(Serialize, Deserialize)]
    struct Entry<K> {
        id: K,
        #[serde(flatten)]
        standing: Standing,
    }

    pub(super) fn serialize<K: Serialize + Clone, S: Serializer>(
        members: &BTreeMap<K, Standing>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let entries = members.iter().map(|(id, standing)| Entry { id, standing: standing.clone() });
        serializer.collect_seq(entries)
    }

    pub(super) fn deserialize<'de, K, D>(deserializer: D) -> Result<BTreeMap<K, Standing>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        D: Deserializer<'de>,
    {
        let entries = Vec::<Entry<K>>::deserialize(deserializer)?;
        // An id listed twice is waited on once.
        Ok(entries.into_iter().map(|e| (e.id, e.standing)).collect())
    }
}

/// An id's standing in a fleet: its own deadline, when it differs from the fleet's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Standing {
    /// The deadline, in milliseconds since the Unix epoch (wall-clock time, so that it means
    /// the same in a process that resumes from a checkpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deadline_unix_ms: Option<u64>,
}

impl<K: FleetKind> Fleet<K> {
    /// A fleet of `ids`, waited on with the kind's preset. An id given twice is waited on once.
    pub fn new<I: Into<K::Key>>(ids: impl IntoIterator<Item = I>) -> Self {
        let policy = K::default_policy();
        Fleet {
            members: BTreeMap::new(),
            deadline_unix_ms: None,
            interval_ms: millis(policy.poll_interval()),
            timeout_ms: millis(policy.wait_timeout()),
            state: K::State::default(),
        }
        .with(ids)
    }

    /// These ids too.
    pub fn with<I: Into<K::Key>>(mut self, ids: impl IntoIterator<Item = I>) -> Self {
        for id in ids {
            self.members.entry(id.into()).or_default();
        }
        self
    }

    /// Sweeps every `policy.poll_interval()`; each id times out `policy.wait_timeout()` after
    /// the fleet starts (or when its checkpoint says).
    pub fn policy(mut self, policy: WaitPolicy) -> Self {
        self.interval_ms = millis(policy.poll_interval());
        self.timeout_ms = millis(policy.wait_timeout());
        self
    }

    /// How many ids the fleet waits on.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether it waits on none.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &K::Key> {
        self.members.keys()
    }

    /// Each id times out `timeout` after the fleet starts (ids resumed from a checkpoint keep
    /// the deadlines it gives them).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = millis(timeout);
        self
    }

    /// The time between the starts of two sweeps.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// How long after the fleet starts an id times out.
    pub fn wait_timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

impl Fleet<Assets> {
    /// A fleet of assets, waited on every 5 s for up to 300 s each (the preset of a URL upload,
    /// the longer of the two).
    pub fn assets<I: Into<AssetId>>(ids: impl IntoIterator<Item = I>) -> Self {
        Fleet::new(ids.into_iter().map(Into::into))
    }
}

impl Fleet<Items> {
    /// A fleet of the items `ids` of store `knowledge_store_id`, waited on every 10 s for up to
    /// 600 s each. Items of other stores join with [`with`](Fleet::with) (as `(store, item)`).
    pub fn items<I: Into<ItemId>>(
        knowledge_store_id: impl Into<KnowledgeStoreId>,
        ids: impl IntoIterator<Item = I>,
    ) -> Self {
        let store = knowledge_store_id.into();
        Fleet::new(ids.into_iter().map(|id| ItemKey::new(store.clone(), id)))
    }
}

impl Fleet<Documents> {
    /// A fleet of jack documents, waited on every 5 s for up to 120 s each.
    pub fn documents<I: Into<DocumentId>>(ids: impl IntoIterator<Item = I>) -> Self {
        Fleet::new(ids.into_iter().map(Into::into))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One id's end.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished<K: FleetKind> {
    /// The id.
    pub id: K::Key,
    /// The resource, ready; or why not: [`Error::ResourceFailed`] (with the server's message),
    /// [`Error::WaitTimedOut`], or another error (a 404 for an id that does not exist, say).
    pub result: Result<K::Resource, Error>,
}

/// How an id ended, in a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Ready.
    Ready,
    /// Failed (failed resources do not recover).
    Failed,
    /// Still pending at the first sweep after its deadline.
    TimedOut,
    /// Another error.
    Error,
}

impl<K: FleetKind> Finished<K> {
    /// How the id ended.
    pub fn outcome(&self) -> Outcome {
        match &self.result {
            Ok(_) => Outcome::Ready,
            Err(Error::ResourceFailed(_)) => Outcome::Failed,
            Err(Error::WaitTimedOut(_)) => Outcome::TimedOut,
            Err(_) => Outcome::Error,
        }
    }
}

/// Every id's end, in the order they ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetReport<K: FleetKind> {
    /// One entry per id.
    pub finished: Vec<Finished<K>>,
}

impl<K: FleetKind> Default for FleetReport<K> {
    fn default() -> Self {
        FleetReport { finished: Vec::new() }
    }
}

impl<K: FleetKind> FleetReport<K> {
    /// How many ids ended as `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.finished.iter().filter(|f| f.outcome() == outcome).count()
    }

    /// Whether every id is ready.
    pub fn all_ready(&self) -> bool {
        self.finished.iter().all(|f| f.result.is_ok())
    }

    /// The ready resources.
    pub fn ready(&self) -> impl Iterator<Item = (&K::Key, &K::Resource)> {
        self.finished.iter().filter_map(|f| f.result.as_ref().ok().map(|r| (&f.id, r)))
    }

    /// The ids that did not end ready, with why.
    pub fn not_ready(&self) -> impl Iterator<Item = (&K::Key, &Error)> {
        self.finished.iter().filter_map(|f| f.result.as_ref().err().map(|e| (&f.id, e)))
    }
}

impl<K: FleetKind> Extend<Finished<K>> for FleetReport<K> {
    fn extend<I: IntoIterator<Item = Finished<K>>>(&mut self, iter: I) {
        self.finished.extend(iter)
    }
}

impl<K: FleetKind> FromIterator<Finished<K>> for FleetReport<K> {
    fn from_iter<I: IntoIterator<Item = Finished<K>>>(iter: I) -> Self {
        FleetReport { finished: iter.into_iter().collect() }
    }
}

/// An id still waited on.
#[derive(Debug)]
struct Member {
    /// The deadline, once the fleet has started (or as its checkpoint says, in wall time).
    deadline: Option<Moment>,
    deadline_unix_ms: Option<u64>,
    last_status: Option<String>,
    last_error: Option<Error>,
}

/// The request in flight.
enum Current<K: FleetKind> {
    Page { list: K::List, scope: Vec<K::Key>, accounts: bool, call: Box<Call> },
    Get { key: K::Key, call: Box<Call<K::Resource>> },
}

struct Sweep<K: FleetKind> {
    started: Moment,
    lookups: VecDeque<Lookup<K>>,
    current: Option<Current<K>>,
    seen: BTreeSet<K::Key>,
    requests: u32,
    finished: Vec<String>,
}

/// Waits on a [`Fleet`]: yields each id's [`Finished`] as it ends, and is done when every id
/// has. Drive it with [`Machine::poll`]; clients build it with the runner's settings.
pub struct FleetWait<K: FleetKind> {
    target: Target,
    retry: RetryPolicy,
    events: Events,
    seed: u64,
    interval: Duration,
    timeout: Duration,
    members: BTreeMap<K::Key, Member>,
    state: K::State,
    outbox: VecDeque<Finished<K>>,
    sweep: Option<Sweep<K>>,
    next_sweep: Option<Moment>,
    sweeps: u32,
    tally: Tally,
    started: Option<Moment>,
    /// The time of the last poll: checkpoints convert deadlines to wall-clock time with it.
    last_now: Option<Now>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    ready: u32,
    failed: u32,
    timed_out: u32,
    errors: u32,
}

impl<K: FleetKind> fmt::Debug for FleetWait<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetWait")
            .field("kind", &K::NOUN)
            .field("pending", &self.members.len())
            .field("sweeps", &self.sweeps)
            .field("tally", &self.tally)
            .finish_non_exhaustive()
    }
}

impl<K: FleetKind> FleetWait<K> {
    /// A wait on `fleet`, its requests made for `target` under `retry`. An id that cannot be a
    /// valid request (an empty one, say) ends at once with the validation error.
    pub fn new(fleet: Fleet<K>, target: &Target, retry: RetryPolicy) -> Self {
        let (interval, timeout) = (fleet.poll_interval(), fleet.wait_timeout());
        let mut wait = FleetWait {
            target: target.clone(),
            retry,
            events: Events::default(),
            seed: 0,
            interval,
            timeout,
            members: BTreeMap::new(),
            state: fleet.state,
            outbox: VecDeque::new(),
            sweep: None,
            next_sweep: None,
            sweeps: 0,
            tally: Tally::default(),
            started: None,
            last_now: None,
        };
        let shared = fleet.deadline_unix_ms;
        for (key, standing) in fleet.members {
            if let Err(e) = K::get(&key).to_request(target) {
                wait.finish(key, Err(e));
                continue;
            }
            let member = Member {
                deadline: None,
                deadline_unix_ms: standing.deadline_unix_ms.or(shared),
                last_status: None,
                last_error: None,
            };
            wait.members.insert(key, member);
        }
        wait
    }

    /// Where the fleet's events go (and its requests').
    pub fn events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Seeds the jitter of the requests' retries.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The ids still waited on.
    pub fn pending(&self) -> usize {
        self.members.len()
    }

    /// The [`Fleet`] of every id not yet handed out (those ended but not yet yielded included),
    /// with their deadlines and what the sweeps learned: resume from it after a restart. Taken
    /// between items, it loses nothing and repeats nothing.
    pub fn checkpoint(&self) -> Fleet<K> {
        let now = self.last_now.unwrap_or_else(|| Now::fake(0.0));
        let deadline_of = |m: &Member| m.deadline.map(|d| wall_ms(now, d)).or(m.deadline_unix_ms);
        // The deadline most ids share is written once; an id with another keeps its own.
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(d) = deadline_of(m) {
                *counts.entry(d).or_default() += 1;
            }
        }
        let shared =
            counts.into_iter().max_by_key(|&(d, n)| (n, std::cmp::Reverse(d))).map(|(d, _)| d);
        let mut members: BTreeMap<K::Key, Standing> = self
            .members
            .iter()
            .map(|(key, m)| {
                let own = deadline_of(m).filter(|d| Some(*d) != shared);
                (key.clone(), Standing { deadline_unix_ms: own })
            })
            .collect();
        // Ended but not handed out yet: waited on again, and found ended again.
        for finished in &self.outbox {
            members.entry(finished.id.clone()).or_default();
        }
        Fleet {
            members,
            deadline_unix_ms: shared,
            interval_ms: millis(self.interval),
            timeout_ms: millis(self.timeout),
            state: self.state.clone(),
        }
    }

    fn finish(&mut self, key: K::Key, result: Result<K::Resource, Error>) {
        self.members.remove(&key);
        let finished = Finished::<K> { id: key, result };
        match finished.outcome() {
            Outcome::Ready => self.tally.ready += 1,
            Outcome::Failed => self.tally.failed += 1,
            Outcome::TimedOut => self.tally.timed_out += 1,
            Outcome::Error => self.tally.errors += 1,
        }
        if let Some(sweep) = &mut self.sweep {
            sweep.finished.push(finished.id.to_string());
        }
        self.outbox.push_back(finished);
    }

    /// A resource seen by a lookup: the end of its id, if it is a member and done.
    fn observe(&mut self, key: K::Key, resource: K::Resource, operation: Operation) {
        if let Some(sweep) = &mut self.sweep {
            sweep.seen.insert(key.clone());
        }
        let Some(member) = self.members.get_mut(&key) else { return };
        member.last_status = Some(resource.status_text().to_owned());
        match resource.phase() {
            Phase::Pending => {}
            Phase::Ready => self.finish(key, Ok(resource)),
            Phase::Failed => {
                let secret = self.target.client_key();
                let mut echoed = serde_json::to_value(&resource).unwrap_or_default();
                crate::scrub::json(&mut echoed, secret);
                let failed = ResourceFailed {
                    endpoint: Some(operation.endpoint()),
                    status: resource.status_text().to_owned(),
                    message: resource
                        .failure_message()
                        .map(|m| crate::scrub::text(m, secret).into_owned()),
                    resource: echoed,
                };
                self.finish(key, Err(Error::ResourceFailed(Box::new(failed))));
            }
        }
    }

    /// Starts a sweep at `now`: the lookups the kind plans for the ids still pending.
    fn start_sweep(&mut self, now: Now) {
        self.sweeps += 1;
        let pending: Vec<&K::Key> = self.members.keys().collect();
        let lookups = K::plan(&self.state, &pending).into();
        self.sweep = Some(Sweep {
            started: now.moment,
            lookups,
            current: None,
            seen: BTreeSet::new(),
            requests: 0,
            finished: Vec::new(),
        });
    }

    /// The call of a lookup, inside the fleet's time.
    fn prepare<T>(&self, call: Call<T>, now: Now) -> Call<T> {
        let latest = self.members.values().filter_map(|m| m.deadline).max().unwrap_or(now.moment);
        // The last look at an id past its deadline still gets an interval to answer in.
        let deadline = latest.max(now.moment) + self.interval;
        let requests = self.sweep.as_ref().map_or(0, |s| s.requests);
        call.seed(self.seed.wrapping_add(u64::from(self.sweeps) << 20 | u64::from(requests)))
            .events(self.events.clone())
            .rate_limited()
            .priority(Priority::Bulk)
            .deadline_at(deadline)
    }

    /// The next lookup of the sweep as a call, or `None` when the sweep has none left.
    fn next_lookup(&mut self, now: Now) -> Option<Current<K>> {
        loop {
            let lookup = self.sweep.as_mut()?.lookups.pop_front()?;
            match lookup {
                Lookup::Get(key) if !self.members.contains_key(&key) => continue,
                Lookup::Get(key) => {
                    match Call::typed(&self.target, &K::get(&key), self.retry.clone()) {
                        Ok(call) => {
                            let call = Box::new(self.prepare(call, now));
                            return Some(Current::Get { key, call });
                        }
                        Err(e) => self.finish(key, Err(e)),
                    }
                }
                Lookup::Walk { first, mut scope, accounts } => {
                    scope.retain(|k| self.members.contains_key(k));
                    if scope.is_empty() {
                        continue;
                    }
                    match K::render(&first, &self.target) {
                        Ok(request) => {
                            let call = Call::new(request, self.retry.clone());
                            let call = Box::new(self.prepare(call, now));
                            return Some(Current::Page { list: first, scope, accounts, call });
                        }
                        Err(e) => {
                            for key in scope {
                                self.finish(key, Err(e.clone()));
                            }
                        }
                    }
                }
            }
        }
    }

    fn unseen(&self, scope: &[K::Key]) -> Vec<K::Key> {
        let seen = self.sweep.as_ref().map(|s| &s.seen);
        scope
            .iter()
            .filter(|k| self.members.contains_key(*k) && !seen.is_some_and(|s| s.contains(*k)))
            .cloned()
            .collect()
    }

    fn queue_gets(&mut self, keys: Vec<K::Key>) {
        if let Some(sweep) = &mut self.sweep {
            // Before the sweep's other lookups: they finish this walk's work.
            for key in keys.into_iter().rev() {
                sweep.lookups.push_front(Lookup::Get(key));
            }
        }
    }

    /// A page of a walk came back (or its call failed).
    fn on_page(
        &mut self,
        list: K::List,
        scope: Vec<K::Key>,
        accounts: bool,
        result: Result<http::Response<Bytes>, Error>,
    ) {
        let operation = K::Get::OPERATION;
        let state = &mut self.state;
        let read =
            |response| K::read(&list, response, state).map_err(|e| Error::Decode(Box::new(e)));
        let answer = match result.and_then(read) {
            Ok(answer) => answer,
            Err(e) => return self.on_page_error(&list, scope, e),
        };
        for (key, resource) in answer.seen {
            self.observe(key, resource, operation);
        }
        let unseen = self.unseen(&scope);
        match answer.next {
            Some(next) => {
                let pages_left = answer.pages_left.unwrap_or(0);
                if answer.pages_left.is_some() && pages_left as usize > unseen.len() {
                    // Reading on costs more than fetching the ids still unseen one by one.
                    K::abandoned(&list, pages_left, &mut self.state);
                    self.queue_gets(unseen);
                } else if let Some(sweep) = &mut self.sweep {
                    sweep.lookups.push_front(Lookup::Walk { first: next, scope, accounts });
                }
            }
            // The walk is over: an id it should have listed and did not is fetched by itself.
            None if accounts => self.queue_gets(unseen),
            None => {}
        }
    }

    fn on_page_error(&mut self, list: &K::List, scope: Vec<K::Key>, error: Error) {
        let status = error.status();
        let refused =
            status.is_some_and(|s| (400..500).contains(&s) && !matches!(s, 404 | 408 | 429));
        let missing = error.api_error().is_some_and(|e| e.kind == ErrorKind::NotFound);
        let fatal = missing || (refused && !K::refused(list, &mut self.state));
        for key in scope {
            if !self.members.contains_key(&key) {
                continue;
            }
            if fatal {
                self.finish(key, Err(error.clone()));
            } else if let Some(member) = self.members.get_mut(&key) {
                // Transient: the next sweep looks again.
                member.last_error = Some(error.clone());
            }
        }
    }

    fn on_get(&mut self, key: K::Key, result: Result<K::Resource, Error>) {
        match result {
            Ok(resource) => self.observe(key, resource, K::Get::OPERATION),
            Err(e)
                if e.status()
                    .is_some_and(|s| (400..500).contains(&s) && !matches!(s, 408 | 429)) =>
            {
                self.finish(key, Err(e))
            }
            Err(e) => {
                if let Some(member) = self.members.get_mut(&key) {
                    member.last_error = Some(e);
                }
            }
        }
    }

    /// The sweep is over: ids past their deadline time out, progress is reported, and the next
    /// sweep is due an interval after this one started.
    fn end_sweep(&mut self, now: Now) {
        let Some(started) = self.sweep.as_ref().map(|s| s.started) else { return };
        let late: Vec<K::Key> = self
            .members
            .iter()
            .filter(|(_, m)| m.deadline.is_some_and(|d| d <= started))
            .map(|(k, _)| k.clone())
            .collect();
        for key in late {
            let Some(member) = self.members.get_mut(&key) else { continue };
            let timed_out = WaitTimedOut {
                endpoint: Some(K::Get::OPERATION.endpoint()),
                waited: now.moment - self.started.unwrap_or(now.moment),
                timeout: self.timeout,
                polls: self.sweeps,
                last_status: member.last_status.clone(),
                last_error: member.last_error.take().map(Box::new),
            };
            self.finish(key, Err(Error::WaitTimedOut(Box::new(timed_out))));
        }
        let Some(sweep) = self.sweep.take() else { return };
        let progress = FleetProgress {
            api: K::Get::OPERATION.api(),
            kind: K::NOUN,
            sweep: self.sweeps,
            requests: sweep.requests,
            pending: self.members.len(),
            ready: self.tally.ready,
            failed: self.tally.failed,
            timed_out: self.tally.timed_out,
            errors: self.tally.errors,
            finished: sweep.finished,
        };
        self.events.emit(|| Event::Fleet(Box::new(progress)));
        self.next_sweep = Some(started + self.interval);
    }

    /// Gives ids resumed from a checkpoint their deadlines on this clock, and fresh ids theirs.
    fn start(&mut self, now: Now) {
        self.started = Some(now.moment);
        let fresh = now.moment + self.timeout;
        for member in self.members.values_mut() {
            member.deadline = Some(match member.deadline_unix_ms {
                Some(ms) => moment_of(now, ms),
                None => fresh,
            });
        }
    }
}

/// `moment` as milliseconds since the Unix epoch, by the wall clock read with `now`.
fn wall_ms(now: Now, moment: Moment) -> u64 {
    let wall = if moment >= now.moment {
        now.wall + (moment - now.moment)
    } else {
        now.wall - (now.moment - moment)
    };
    millis(wall.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default())
}

/// The moment of a wall-clock time in milliseconds since the Unix epoch, read with `now`.
fn moment_of(now: Now, unix_ms: u64) -> Moment {
    let wall = SystemTime::UNIX_EPOCH + Duration::from_millis(unix_ms);
    match wall.duration_since(now.wall) {
        Ok(ahead) => now.moment + ahead,
        Err(behind) => {
            Moment::from_origin(now.moment.since_origin().saturating_sub(behind.duration()))
        }
    }
}

impl<K: FleetKind> Machine for FleetWait<K> {
    type Output = ();
    type Item = Result<Finished<K>, Error>;

    fn next(&mut self, now: Now, token: Internal) -> Next<(), Self::Item> {
        self.last_now = Some(now);
        if self.started.is_none() {
            self.start(now);
        }
        loop {
            if let Some(finished) = self.outbox.pop_front() {
                return Next::Yield(Ok(finished));
            }
            let Some(sweep) = &mut self.sweep else {
                if self.members.is_empty() {
                    return Next::Done(Ok(()));
                }
                match self.next_sweep {
                    Some(at) if now.moment < at => return Next::Sleep(at),
                    _ => {
                        self.start_sweep(now);
                        continue;
                    }
                }
            };
            let current = match sweep.current.take() {
                Some(current) => current,
                None => match self.next_lookup(now) {
                    Some(current) => current,
                    None => {
                        self.end_sweep(now);
                        continue;
                    }
                },
            };
            match current {
                Current::Page { list, scope, accounts, mut call } => {
                    match call.next(now, token).or_done() {
                        Ok(next) => {
                            self.count_send(&next);
                            self.put_back(Current::Page { list, scope, accounts, call });
                            return next;
                        }
                        Err(result) => self.on_page(list, scope, accounts, result),
                    }
                }
                Current::Get { key, mut call } => match call.next(now, token).or_done() {
                    Ok(next) => {
                        self.count_send(&next);
                        self.put_back(Current::Get { key, call });
                        return next;
                    }
                    Err(result) => self.on_get(key, result),
                },
            }
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        match self.sweep.as_mut().and_then(|s| s.current.as_mut()) {
            Some(Current::Page { call, .. }) => call.feed(input, now, token),
            Some(Current::Get { call, .. }) => call.feed(input, now, token),
            None => {}
        }
    }

    fn operation(&self) -> Option<Operation> {
        Some(K::Get::OPERATION)
    }
}

impl<K: FleetKind> FleetWait<K> {
    fn put_back(&mut self, current: Current<K>) {
        if let Some(sweep) = &mut self.sweep {
            sweep.current = Some(current);
        }
    }

    fn count_send<O, I>(&mut self, next: &Next<O, I>) {
        if let (Next::Send(_), Some(sweep)) = (next, &mut self.sweep) {
            sweep.requests += 1;
        }
    }
}

// The kinds.

impl FleetKind for Assets {
    type Key = AssetId;
    type Resource = AssetDetail;
    type Get = GetAsset;
    type List = ListAssets;
    type State = ();
    const NOUN: &'static str = "assets";

    fn default_policy() -> WaitPolicy {
        WaitPolicy::ASSET_URL
    }

    fn get(key: &AssetId) -> GetAsset {
        GetAsset::new(key)
    }

    fn plan(_: &(), pending: &[&AssetId]) -> Vec<Lookup<Assets>> {
        pending
            .chunks(ASSET_IDS_PER_REQUEST)
            .map(|chunk| match chunk {
                // One id: a GET costs the same request and answers less.
                [only] => Lookup::Get((*only).clone()),
                ids => Lookup::Walk {
                    first: ListAssets::new()
                        .asset_ids(ids.iter().copied())
                        .page_limit(MAX_PAGE_LIMIT),
                    scope: ids.iter().map(|id| (*id).clone()).collect(),
                    accounts: true,
                },
            })
            .collect()
    }

    fn render(list: &ListAssets, target: &Target) -> Result<crate::Request, Error> {
        list.to_request(target)
    }

    fn read(
        list: &ListAssets,
        response: http::Response<Bytes>,
        _: &mut (),
    ) -> Result<ListAnswer<Assets>, DecodeError> {
        let page: Page<AssetDetail> = ListAssets::decode(response)?;
        let (current, total) = (page.page_info.page.unwrap_or(1), page.page_info.total_page);
        let more = total.is_some_and(|t| current < t) && !page.data.is_empty();
        Ok(ListAnswer {
            next: more.then(|| crate::jockey::PageRequest::for_page(list, current + 1)),
            pages_left: total.map(|t| t.saturating_sub(current)),
            seen: page.data.into_iter().map(|a| (a.id.clone(), a)).collect(),
        })
    }
}

/// What sweeps of items learn, per store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsState {
    stores: BTreeMap<KnowledgeStoreId, StoreSweeps>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StoreSweeps {
    /// The newest `updated_at` read so far (seconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    watermark: Option<i64>,
    /// Whether the store was read once whole (every id accounted for).
    #[serde(default)]
    read_whole: bool,
    /// The server refused the status filter: later sweeps read every status.
    #[serde(default)]
    no_filter: bool,
    /// Requests the store's last walk took (GETs are chosen when they cost no more).
    #[serde(default)]
    cost: u32,
}

/// One page of a walk over a store's items, newest `updated_at` first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemsPage {
    store: KnowledgeStoreId,
    page: u32,
    /// Only `ready` and `failed` items.
    finished_only: bool,
    /// Read down to this `updated_at` (seconds since the epoch); `None`: to the end.
    floor: Option<i64>,
    /// The newest `updated_at` read in this walk so far.
    newest: Option<i64>,
}

impl ItemsPage {
    fn request(&self) -> ListItems {
        let list = ListItems::new(&self.store)
            .page(self.page)
            .page_limit(MAX_PAGE_LIMIT)
            .sort_by(SortBy::UpdatedAt)
            .sort_option(SortOption::Desc);
        if self.finished_only {
            list.statuses([ItemStatus::Ready, ItemStatus::Failed])
        } else {
            list
        }
    }
}

impl FleetKind for Items {
    type Key = ItemKey;
    type Resource = KnowledgeStoreItem;
    type Get = GetItem;
    type List = ItemsPage;
    type State = ItemsState;
    const NOUN: &'static str = "items";

    fn default_policy() -> WaitPolicy {
        WaitPolicy::KNOWLEDGE_STORE_ITEM
    }

    fn get(key: &ItemKey) -> GetItem {
        GetItem::new(&key.knowledge_store_id, &key.item_id)
    }

    fn plan(state: &ItemsState, pending: &[&ItemKey]) -> Vec<Lookup<Items>> {
        let mut by_store: BTreeMap<&KnowledgeStoreId, Vec<ItemKey>> = BTreeMap::new();
        for key in pending {
            by_store.entry(&key.knowledge_store_id).or_default().push((*key).clone());
        }
        let mut lookups = Vec::new();
        for (store, keys) in by_store {
            let known = state.stores.get(store).cloned().unwrap_or_default();
            if known.cost > 0 && keys.len() <= known.cost as usize {
                lookups.extend(keys.into_iter().map(Lookup::Get));
                continue;
            }
            let whole = !known.read_whole;
            let first = ItemsPage {
                store: store.clone(),
                page: 1,
                finished_only: !whole && !known.no_filter,
                floor: if whole {
                    None
                } else {
                    known.watermark.map(|w| w - WATERMARK_OVERLAP.as_secs() as i64)
                },
                newest: None,
            };
            lookups.push(Lookup::Walk { first, scope: keys, accounts: whole });
        }
        lookups
    }

    fn render(list: &ItemsPage, target: &Target) -> Result<crate::Request, Error> {
        list.request().to_request(target)
    }

    fn read(
        list: &ItemsPage,
        response: http::Response<Bytes>,
        state: &mut ItemsState,
    ) -> Result<ListAnswer<Items>, DecodeError> {
        let page: Page<KnowledgeStoreItem> = ListItems::decode(response)?;
        let stamps: Vec<Option<i64>> =
            page.data.iter().map(|i| i.updated_at.as_deref().and_then(rfc3339_secs)).collect();
        let newest = stamps.iter().flatten().copied().max().max(list.newest);
        let current = page.page_info.page.unwrap_or(list.page);
        let more = match page.page_info.total_page {
            Some(total) => current < total && !page.data.is_empty(),
            None => !page.data.is_empty(),
        };
        // Read on while this page reaches back past the floor (or its times cannot be read).
        let reached = match (list.floor, stamps.last()) {
            (Some(floor), Some(Some(oldest))) => *oldest < floor,
            _ => false,
        };
        let next = (more && !reached && current < crate::listing::MAX_PAGES).then(|| ItemsPage {
            page: current + 1,
            newest,
            ..list.clone()
        });
        if next.is_none() {
            let store = state.stores.entry(list.store.clone()).or_default();
            store.watermark = newest.max(store.watermark);
            store.read_whole |= !list.finished_only && list.floor.is_none();
            store.cost = list.page;
        }
        let pages_left = match (list.floor, page.page_info.total_page) {
            (None, Some(total)) => Some(total.saturating_sub(current)),
            _ => None,
        };
        let store = &list.store;
        Ok(ListAnswer {
            seen: page.data.into_iter().map(|item| (ItemKey::new(store, &item.id), item)).collect(),
            next,
            pages_left,
        })
    }

    fn refused(list: &ItemsPage, state: &mut ItemsState) -> bool {
        let store = state.stores.entry(list.store.clone()).or_default();
        if list.finished_only && !store.no_filter {
            store.no_filter = true;
            return true;
        }
        false
    }

    fn abandoned(list: &ItemsPage, pages_left: u32, state: &mut ItemsState) {
        let store = state.stores.entry(list.store.clone()).or_default();
        // The GETs account for every id; the whole store costs this many requests to read.
        store.read_whole = true;
        store.cost = list.page.saturating_add(pages_left);
    }
}

impl FleetKind for Documents {
    type Key = DocumentId;
    type Resource = Document;
    type Get = GetDocument;
    type List = ListDocuments;
    type State = ();
    const NOUN: &'static str = "documents";

    fn default_policy() -> WaitPolicy {
        WaitPolicy::JACK_DOCUMENT
    }

    fn get(key: &DocumentId) -> GetDocument {
        GetDocument::new(key)
    }

    fn plan(_: &(), pending: &[&DocumentId]) -> Vec<Lookup<Documents>> {
        match pending {
            // One id: a GET costs the same request and answers less.
            [only] => vec![Lookup::Get((*only).clone())],
            ids => vec![Lookup::Walk {
                first: ListDocuments::new(),
                scope: ids.iter().map(|id| (*id).clone()).collect(),
                accounts: true,
            }],
        }
    }

    fn render(list: &ListDocuments, target: &Target) -> Result<crate::Request, Error> {
        list.to_request(target)
    }

    fn read(
        _: &ListDocuments,
        response: http::Response<Bytes>,
        _: &mut (),
    ) -> Result<ListAnswer<Documents>, DecodeError> {
        let documents = ListDocuments::decode(response)?;
        Ok(ListAnswer {
            seen: documents.into_iter().map(|d| (d.id.clone(), d)).collect(),
            next: None,
            pages_left: None,
        })
    }
}

/// An RFC 3339 time (`2026-01-01T00:00:05Z`, fractions and offsets allowed) in whole seconds
/// since the Unix epoch, fractions dropped; `None` when it is not one.
pub fn rfc3339_secs(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = 19;
    if b.get(rest) == Some(&b'.') {
        rest += 1;
        while b.get(rest).is_some_and(u8::is_ascii_digit) {
            rest += 1;
        }
    }
    let offset = match b.get(rest..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let num = |x: &u8, y: &u8| -> Option<i64> {
                (x.is_ascii_digit() && y.is_ascii_digit())
                    .then(|| i64::from(x - b'0') * 10 + i64::from(y - b'0'))
            };
            let secs = num(h1, h2)? * 3600 + num(m1, m2)? * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_read_as_epoch_seconds() {
        assert_eq!(rfc3339_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_secs("2026-01-01T00:00:05Z"), Some(1_767_225_605));
        assert_eq!(rfc3339_secs("2026-01-01T00:00:05.999Z"), Some(1_767_225_605));
        assert_eq!(rfc3339_secs("2026-01-01T01:00:05+01:00"), Some(1_767_225_605));
        // Noon half an hour west of UTC is 12:30Z on a leap day.
        assert_eq!(rfc3339_secs("2024-02-29T12:00:00-00:30"), Some(1_709_209_800));
        for bad in ["", "yesterday", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01"] {
            assert_eq!(rfc3339_secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn small_fleets_use_gets_and_large_ones_lists() {
        let ids: Vec<DocumentId> = (0..3).map(|i| DocumentId::from(format!("doc_{i}"))).collect();
        let one: Vec<&DocumentId> = ids.iter().take(1).collect();
        assert!(matches!(Documents::plan(&(), &one)[..], [Lookup::Get(_)]));
        let all: Vec<&DocumentId> = ids.iter().collect();
        assert!(matches!(Documents::plan(&(), &all)[..], [Lookup::Walk { accounts: true, .. }]));
        let assets: Vec<AssetId> = (0..101).map(|i| AssetId::from(format!("a{i}"))).collect();
        let refs: Vec<&AssetId> = assets.iter().collect();
        let lookups = Assets::plan(&(), &refs);
        assert_eq!(lookups.len(), 3, "50 + 50 + 1");
        assert!(matches!(lookups[2], Lookup::Get(_)));
    }
}
