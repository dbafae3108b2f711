//! The write turn of a SQLite node, with background work going last.
//!
//! SQLite has one writer, so a node's writers take turns here (see [`crate::db::Db::begin`]).
//! They are not equally urgent. A webhook request holds Zoom's delivery open until its event is
//! stored, and a form post holds a user; the job loops' writes (claiming a job, applying a
//! webhook, recording an email as sent) are work someone asked for earlier and nobody is waiting
//! on. With one first-come queue, every batch of webhooks waited behind up to four job-loop
//! transactions, and the webhook benchmark served 40% more events per second with one job loop
//! than with four (docs/benchmarks.md). So work marked as background with [`in_background`]
//! lets the foreground go first: it does not queue for the turn while a foreground writer
//! waits for it or holds it, but for no longer than [`MAX_YIELD`] per transaction, so a
//! sustained burst slows the job loops down without stopping them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

/// The longest a background writer waits for foreground writers before it queues anyway.
pub const MAX_YIELD: Duration = Duration::from_millis(100);

tokio::task_local! {
    /// Set (to nothing) while background work runs: being in scope is the mark.
    static BACKGROUND: ();
}

/// Runs `work` as background work: its SQLite write transactions let foreground writers go
/// first (see the module). Tasks it spawns are foreground again.
pub async fn in_background<F: Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

fn is_background() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}

#[derive(Debug, Default)]
pub struct WriteTurn {
    lock: Arc<Mutex<()>>,
    foreground: Arc<Foreground>,
}

/// Foreground writers that want the turn or hold it.
#[derive(Debug, Default)]
struct Foreground {
    count: AtomicUsize,
    /// Notified when the count falls to zero.
    none_left: Notify,
}

/// Counts one foreground writer from when it asks for the turn until it gives it back (or gives
/// up waiting).
#[derive(Debug)]
struct ForegroundWriter(Arc<Foreground>);

impl ForegroundWriter {
    fn new(foreground: Arc<Foreground>) -> ForegroundWriter {
        foreground.count.fetch_add(1, Ordering::AcqRel);
        ForegroundWriter(foreground)
    }
}

impl Drop for ForegroundWriter {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

/// The turn, held until dropped.
#[derive(Debug)]
pub struct Turn {
    _lock: OwnedMutexGuard<()>,
    _foreground: Option<ForegroundWriter>,
}

impl WriteTurn {
    /// Waits for the turn: first come, first served, except that background work (see
    /// [`in_background`]) first lets waiting foreground writers go ahead.
    pub async fn take(&self) -> Turn {
        if is_background() {
            self.yield_to_foreground().await;
            Turn {
                _lock: self.lock.clone().lock_owned().await,
                _foreground: None,
            }
        } else {
            let writer = ForegroundWriter::new(self.foreground.clone());
            Turn {
                _lock: self.lock.clone().lock_owned().await,
                _foreground: Some(writer),
            }
        }
    }

    async fn yield_to_foreground(&self) {
        let deadline = tokio::time::Instant::now() + MAX_YIELD;
        loop {
            let none_left = self.foreground.none_left.notified();
            tokio::pin!(none_left);
            // Registered before the count is read, so a drop to zero in between is not missed.
            none_left.as_mut().enable();
            if self.foreground.count.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, none_left).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    /// Takes the turn (in the background or not), records `name`, and holds the turn until
    /// `release` is notified.
    fn writer(
        turn: &Arc<WriteTurn>,
        order: &Arc<StdMutex<Vec<&'static str>>>,
        name: &'static str,
        background: bool,
    ) -> (tokio::task::JoinHandle<()>, Arc<Notify>) {
        let release = Arc::new(Notify::new());
        let (turn, order, held) = (turn.clone(), order.clone(), release.clone());
        let work = async move {
            let _turn = turn.take().await;
            order.lock().unwrap().push(name);
            held.notified().await;
        };
        let handle = if background {
            tokio::spawn(in_background(work))
        } else {
            tokio::spawn(work)
        };
        (handle, release)
    }

    /// Lets every spawned task run until it waits.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_background_writer_lets_a_later_foreground_writer_go_first() {
        let turn = Arc::new(WriteTurn::default());
        let order = Arc::new(StdMutex::new(Vec::new()));
        let (first, release_first) = writer(&turn, &order, "request 1", false);
        settle().await;
        let (job, release_job) = writer(&turn, &order, "job", true);
        settle().await;
        let (second, release_second) = writer(&turn, &order, "request 2", false);
        settle().await;
        release_first.notify_one();
        settle().await;
        release_second.notify_one();
        settle().await;
        release_job.notify_one();
        for task in [first, job, second] {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["request 1", "request 2", "job"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_background_writer_queues_after_yielding_for_at_most_max_yield() {
        let turn = Arc::new(WriteTurn::default());
        let order = Arc::new(StdMutex::new(Vec::new()));
        let (first, release_first) = writer(&turn, &order, "request 1", false);
        settle().await;
        let (job, release_job) = writer(&turn, &order, "job", true);
        tokio::time::sleep(MAX_YIELD + Duration::from_millis(5)).await;
        // The job has stopped yielding and queued: a foreground writer arriving now is behind it.
        let (second, release_second) = writer(&turn, &order, "request 2", false);
        settle().await;
        release_first.notify_one();
        settle().await;
        release_job.notify_one();
        settle().await;
        release_second.notify_one();
        for task in [first, job, second] {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["request 1", "job", "request 2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_foreground_writer_that_gives_up_waiting_no_longer_holds_back_the_background() {
        let turn = Arc::new(WriteTurn::default());
        let order = Arc::new(StdMutex::new(Vec::new()));
        let (first, release_first) = writer(&turn, &order, "request 1", false);
        settle().await;
        let (impatient, _) = writer(&turn, &order, "gave up", false);
        settle().await;
        impatient.abort();
        let _ = impatient.await;
        let (job, release_job) = writer(&turn, &order, "job", true);
        settle().await;
        release_first.notify_one();
        settle().await;
        // Well within MAX_YIELD: the job went because no foreground writer was left, not
        // because it stopped yielding.
        assert_eq!(*order.lock().unwrap(), ["request 1", "job"]);
        release_job.notify_one();
        for task in [first, job] {
            task.await.unwrap();
        }
    }
}
