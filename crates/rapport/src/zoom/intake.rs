//! Group commit for Zoom's webhooks.
//!
//! A webhook is answered 200 only once it is stored durably (deduplication row and job), so that
//! a crash never loses an event Zoom believes delivered. Committing each event on its own made
//! the commit, not the work, the cost of an event: one write transaction per request, taken in
//! turn. Instead every request hands its event to one intake task and waits; the task takes
//! everything that arrived while the previous batch was committing and stores it in one
//! transaction. When events come one at a time a batch is one event and nothing waits longer
//! than before; under a burst the batches grow by themselves, with no timer.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::db::Db;
use crate::jobs::{self, JobKind};
use crate::zoom::jobs::WebhookJob;
use crate::zoom::storage;

/// The most events one transaction stores. Big enough that a burst is a few commits, small
/// enough that one batch does not hold SQLite's write turn for long.
const MAX_BATCH: usize = 256;
/// Events waiting for the intake beyond this make their requests wait before queueing
/// (back-pressure instead of unbounded memory).
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;
/// A webhook job is retried this many times before it is given up.
const WEBHOOK_JOB_ATTEMPTS: u32 = 20;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("could not store the event: {0}")]
    Storage(String),
    #[error("the webhook intake has stopped")]
    Stopped,
}

/// One verified event waiting to be stored.
struct Arrival {
    dedupe_key: String,
    body: String,
    received_at: DateTime<Utc>,
    /// `Ok(true)` when the event was new and queued, `Ok(false)` for a duplicate.
    reply: oneshot::Sender<Result<bool, IntakeError>>,
}

/// The handle requests use to store an event. Cheap to clone; the intake task stops when the
/// last handle is dropped.
#[derive(Clone)]
pub struct WebhookIntake {
    arrivals: mpsc::Sender<Arrival>,
}

impl WebhookIntake {
    /// Starts the intake task on the current runtime.
    pub fn start(db: Db, jobs_notify: Arc<Notify>) -> WebhookIntake {
        let (arrivals, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(db, jobs_notify, receiver));
        WebhookIntake { arrivals }
    }

    /// Stores a verified event: records its deduplication key and, when it is new, queues the
    /// job that applies it. Returns whether it was new. Returns only after the commit.
    pub async fn store(
        &self,
        dedupe_key: String,
        body: String,
        received_at: DateTime<Utc>,
    ) -> Result<bool, IntakeError> {
        let (reply, answer) = oneshot::channel();
        let arrival = Arrival {
            dedupe_key,
            body,
            received_at,
            reply,
        };
        self.arrivals
            .send(arrival)
            .await
            .map_err(|_| IntakeError::Stopped)?;
        answer.await.map_err(|_| IntakeError::Stopped)?
    }
}

async fn run(db: Db, jobs_notify: Arc<Notify>, mut receiver: mpsc::Receiver<Arrival>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        crate::ops::metrics::get().webhook_batch(batch.len());
        match store_batch(&db, &batch).await {
            Ok(fresh) => {
                if fresh.iter().any(|&new| new) {
                    jobs_notify.notify_one();
                }
                for (arrival, new) in batch.drain(..).zip(fresh) {
                    // The request may have gone (client hung up); the event is stored anyway
                    // and a redelivery will be recognised as a duplicate.
                    let _ = arrival.reply.send(Ok(new));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, events = batch.len(), "could not store Zoom webhooks");
                for arrival in batch.drain(..) {
                    let _ = arrival
                        .reply
                        .send(Err(IntakeError::Storage(err.to_string())));
                }
            }
        }
    }
}

/// Stores a batch in one transaction, in two statements whatever its size (one per event cost
/// more than the rest of a webhook: each statement is a round trip to the database's thread or
/// server). On SQLite the transaction runs whole on the writer thread ([`Db::write`]): the
/// batch's commit is what every request in it waits for. Returns, for each event, whether it
/// was new. A duplicate within the batch is a duplicate like any other: the first delivery of
/// a key wins.
async fn store_batch(db: &Db, batch: &[Arrival]) -> Result<Vec<bool>, sqlx::Error> {
    // A redelivery within the batch is sent to the database once, with its first delivery.
    // Each job's payload is made before the write turn is taken, so the turn is held only for
    // the statements.
    let mut keys_seen: HashSet<&str> = HashSet::with_capacity(batch.len());
    let candidates = batch
        .iter()
        .filter(|arrival| keys_seen.insert(&arrival.dedupe_key))
        .map(|a| {
            let job = WebhookJob {
                body: a.body.clone(),
            };
            serde_json::to_string(&job)
                .map(|payload| (a.dedupe_key.clone(), payload, a.received_at))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let inserted: HashSet<String> = db
        .write(move |mut conn| {
            Box::pin(async move {
                let inserted: HashSet<String> = storage::record_webhooks(
                    &mut conn,
                    candidates.iter().map(|(key, _, at)| (key.as_str(), *at)),
                )
                .await?
                .into_iter()
                .collect();
                let payloads: Vec<(String, DateTime<Utc>)> = candidates
                    .into_iter()
                    .filter(|(key, _, _)| inserted.contains(key))
                    .map(|(_, payload, at)| (payload, at))
                    .collect();
                jobs::enqueue_many(
                    &mut conn,
                    JobKind::ZoomWebhook,
                    &payloads,
                    WEBHOOK_JOB_ATTEMPTS,
                )
                .await?;
                Ok::<_, sqlx::Error>(inserted)
            })
        })
        .await?;
    let mut seen = HashSet::with_capacity(inserted.len());
    Ok(batch
        .iter()
        .map(|a| inserted.contains(&a.dedupe_key) && seen.insert(a.dedupe_key.as_str()))
        .collect())
}
