//! A SQLite connection lent to one task for a while: what [`Db::acquire`](super::Db::acquire)
//! and [`Db::begin`](super::Db::begin) give on SQLite.
//!
//! Most SQLite work runs in one hand-off to a connection's thread ([`Db::read`](super::Db::read),
//! [`Db::write`](super::Db::write)). A few callers hold a connection or a transaction across
//! other work (the sign-in's steps, the meeting service's bookkeeping around a Zoom call, the
//! command line), so their statements go to the thread one at a time. A [`Session`] keeps one
//! connection thread for its task until it is dropped, as a pooled connection does; a write
//! transaction it left open is rolled back then, on the connection's thread.
//!
//! This is the job sqlx's SQLite driver used to do for these callers; doing it here with the
//! connections Rapport already keeps means one SQLite driver instead of two (rusqlite), and a
//! build without PostgreSQL compiles no sqlx driver at all (docs/decisions.md).

use std::time::Duration;

use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};

use super::read::{self, Arg, ConnectionThreads};
use super::turn::Turn;

/// How long a task waits for a connection before giving up, as sqlx's pools do by default.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A statement sent to the session's thread.
type Statement = Box<dyn FnOnce(&mut Connection) + Send>;

/// A connection thread kept for one task; statements run in the order they are sent.
#[derive(Debug)]
pub struct Session {
    statements: flume::Sender<Statement>,
}

impl Session {
    /// Waits for one of `threads` to be free and keeps it until the session is dropped.
    pub async fn open(threads: &ConnectionThreads) -> Result<Session, sqlx::Error> {
        let (statements, received) = flume::unbounded::<Statement>();
        let (ready, is_ready) = tokio::sync::oneshot::channel::<Result<(), sqlx::Error>>();
        threads.submit(Box::new(move |conn| {
            let conn = match conn {
                Ok(conn) => conn,
                Err(err) => {
                    let _ = ready.send(Err(err));
                    return;
                }
            };
            // A transaction an earlier job left open (its rollback failed too).
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            // Nobody waits any longer (the asker timed out or went away): free the thread.
            if ready.send(Ok(())).is_err() {
                return;
            }
            while let Ok(statement) = received.recv() {
                statement(conn);
            }
            // The session was dropped. What it left uncommitted is rolled back, as dropping a
            // transaction does.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }))?;
        match tokio::time::timeout(ACQUIRE_TIMEOUT, is_ready).await {
            Err(_) => Err(sqlx::Error::PoolTimedOut),
            // The job was dropped without an answer: its thread panicked.
            Ok(Err(_)) => Err(sqlx::Error::WorkerCrashed),
            Ok(Ok(opened)) => opened.map(|()| Session { statements }),
        }
    }

    /// Runs `statement` (one of the [`read`] functions) with `sql` and `args` on the
    /// session's connection. The SQL and the arguments are copied before this returns, since
    /// the connection is on another thread: the future borrows only the session (and so can
    /// be sent between threads, which `&dyn Arg` cannot).
    pub fn call<'s, T: Send + 'static>(
        &'s mut self,
        sql: &str,
        args: &[&dyn Arg],
        statement: read::RunStatement<T>,
    ) -> impl Future<Output = Result<T, sqlx::Error>> + Send + use<'s, T> {
        let copied = owned(args).map(|args| (sql.to_owned(), args));
        async move {
            let (sql, args) = copied?;
            self.run(move |conn| {
                let args: Vec<&dyn Arg> = args.iter().map(|value| value as &dyn Arg).collect();
                statement(conn, &sql, &args)
            })
            .await
        }
    }

    /// Runs `work` on the session's connection.
    pub async fn run<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Connection) -> Result<T, sqlx::Error> + Send + 'static,
    ) -> Result<T, sqlx::Error> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let statement: Statement = Box::new(move |conn| {
            let _ = answer.send(work(conn));
        });
        self.statements
            .send(statement)
            .map_err(|_| sqlx::Error::WorkerCrashed)?;
        answered.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// Keeps `turn` until the session's connection has rolled back what is left uncommitted
    /// so far: the next writer then finds the database free instead of busy. For the end of a
    /// session that held a transaction.
    pub fn end_holding(&self, turn: Turn) {
        let statement: Statement = Box::new(move |conn| {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            drop(turn);
        });
        // If the thread is gone, so is its transaction; the turn is dropped with the closure.
        let _ = self.statements.send(statement);
    }
}

/// Copies of `args`' values, to send to another thread.
fn owned(args: &[&dyn Arg]) -> Result<Vec<Value>, sqlx::Error> {
    args.iter()
        .map(|arg| match arg.to_sql_output().map_err(read::error)? {
            ToSqlOutput::Borrowed(value) => match value {
                ValueRef::Null => Ok(Value::Null),
                ValueRef::Integer(n) => Ok(Value::Integer(n)),
                ValueRef::Real(x) => Ok(Value::Real(x)),
                ValueRef::Text(text) => Ok(Value::Text(
                    String::from_utf8(text.to_vec())
                        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
                )),
                ValueRef::Blob(bytes) => Ok(Value::Blob(bytes.to_vec())),
            },
            ToSqlOutput::Owned(value) => Ok(value),
            _ => Err(sqlx::Error::Protocol(
                "a statement argument of a kind Rapport does not bind".into(),
            )),
        })
        .collect()
}
