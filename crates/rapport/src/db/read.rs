//! SQLite's connections: each on a thread of its own, doing whole reads and write transactions
//! in one hand-off.
//!
//! Rapport talks to SQLite through rusqlite. Each connection lives on a thread of its own, so
//! that no statement blocks an async task's thread; [`ConnectionThreads`] keeps a few of them
//! (read-only readers, one writer, and the connections [`Session`](super::session::Session)s
//! lend) and runs a job, a whole read or a whole write transaction, every statement of it, on
//! one of them. sqlx's SQLite driver, which Rapport used before, handed each statement and each
//! row of its result between its connection's thread and the task over channels: profiling
//! the contacts page (docs/benchmarks.md) put half of its CPU on those threads and 37% on the
//! kernel switching between them.
//!
//! Storage functions take a [`Conn::SqliteDirect`](super::Conn) and the `sql_*!` macros run
//! their SQL text on it with the functions below, binding parameters by number and storing
//! values exactly as sqlx did, so databases written before read and compare the same text.
//! The reader connections are `query_only`: a write through one fails instead of bypassing the
//! node's write turn. The writer runs [`Db::write`](super::Db::write)'s transactions while
//! their task holds the node's write turn.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlResult, ToSqlOutput, Value, ValueRef};
use rusqlite::{CachedStatement, Connection, Row, Statement, ToSql};

/// Prepared statements kept per connection: every statement a reader or the writer runs fits.
const STATEMENT_CACHE: usize = 64;

/// What the connections of a [`ConnectionThreads`] pool may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `query_only` connections, for reads.
    Read,
    /// A read-write connection (WAL, foreign keys, secure delete, `synchronous = NORMAL`), for
    /// write transactions that hold the write turn and for [`Session`](super::session::Session)s.
    Write,
}

/// A read (or a write transaction, or a [`Session`](super::session::Session)) waiting for a
/// connection.
pub(super) type Job = Box<dyn FnOnce(Result<&mut Connection, sqlx::Error>) + Send>;

/// A few threads, each with its own connection to one SQLite file (read-only for the readers,
/// read-write for the one writer), taking jobs from one queue. Threads of their own rather than tokio's blocking pool: that pool starts a new
/// thread whenever none is idle at the instant a read arrives, and every new thread gave
/// glibc a reason for another malloc arena, which kept ~10 MB more after the benchmark's
/// searches (docs/benchmarks.md).
#[derive(Debug)]
pub struct ConnectionThreads {
    /// None once closed.
    queue: Mutex<Option<flume::Sender<Job>>>,
    /// The threads, joined by [`ConnectionThreads::close`].
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl ConnectionThreads {
    /// `size` threads for the database at `path`, with connections of `access`. Each opens
    /// its connection before its first job, and again after a failed open.
    pub fn start(
        path: &Path,
        size: usize,
        busy_timeout: Duration,
        access: Access,
    ) -> std::io::Result<ConnectionThreads> {
        let (sender, receiver) = flume::unbounded::<Job>();
        let mut threads = Vec::with_capacity(size.max(1));
        for n in 0..size.max(1) {
            let receiver = receiver.clone();
            let path = path.to_owned();
            let name = match access {
                Access::Read => format!("rapport-read-{n}"),
                Access::Write => format!("rapport-write-{n}"),
            };
            threads.push(
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || serve(&path, busy_timeout, access, &receiver))?,
            );
        }
        Ok(ConnectionThreads {
            queue: Mutex::new(Some(sender)),
            threads: Mutex::new(threads),
        })
    }

    /// Runs `read` on a read connection, on one of the reader threads.
    pub async fn run<T, F>(&self, read: F) -> Result<T, sqlx::Error>
    where
        F: FnOnce(&mut Connection) -> Result<T, sqlx::Error> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move |conn| {
            // The asker may have gone away; the read is then simply not wanted.
            let _ = answer.send(conn.and_then(read));
        }))?;
        // No answer: the read panicked on its thread (the thread logs it and goes on).
        answered.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// Queues `job` for the next free thread.
    pub(super) fn submit(&self, job: Job) -> Result<(), sqlx::Error> {
        match &*self.queue.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(queue) => queue.send(job).map_err(|_| sqlx::Error::PoolClosed),
            None => Err(sqlx::Error::PoolClosed),
        }
    }

    /// Stops taking jobs and waits until every thread has run what was queued and closed its
    /// connection. SQLite copies the WAL into the database file and deletes it when the file's
    /// last connection closes: a thread still holding one at exit leaves the WAL behind, and
    /// then `rapport.db` alone is not the whole database.
    pub async fn close(&self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let joined = tokio::task::spawn_blocking(move || {
            for thread in threads {
                // A thread that panicked outside a job has nothing left to close.
                let _ = thread.join();
            }
        });
        let _ = joined.await;
    }
}

/// A reader (or writer) thread: runs jobs until the queue closes.
fn serve(path: &Path, busy_timeout: Duration, access: Access, queue: &flume::Receiver<Job>) {
    let mut conn: Option<Connection> = None;
    while let Ok(job) = queue.recv() {
        if conn.is_none() {
            match open(path, busy_timeout, access) {
                Ok(opened) => conn = Some(opened),
                Err(err) => {
                    tracing::error!(error = %err, "could not open a database connection of its own");
                    job(Err(error(err)));
                    continue;
                }
            }
        }
        if let Some(conn) = conn.as_mut() {
            // A read that panics loses its answer, not the thread or its connection.
            let run = std::panic::AssertUnwindSafe(|| job(Ok(conn)));
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!("a database job panicked on its thread");
                // A write transaction it left open would hold SQLite's write lock, and keep
                // every other writer waiting, until this thread's next job.
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
            }
        }
    }
}

fn open(path: &Path, busy_timeout: Duration, access: Access) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    match access {
        Access::Read => conn.pragma_update(None, "query_only", true)?,
        Access::Write => {
            // WAL: readers never wait for the writer. A setting of the file, kept once set.
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(journal_mode = %mode, "SQLite did not switch the database to WAL");
            }
            conn.pragma_update(None, "foreign_keys", true)?;
            // Deleted Zoom data should not linger in free pages of the file.
            conn.pragma_update(None, "secure_delete", true)?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
    }
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// One of the functions below that run a statement: what a [`Session`](super::session::Session)
/// sends to its connection's thread.
pub type RunStatement<T> = fn(&mut Connection, &str, &[&dyn Arg]) -> Result<T, sqlx::Error>;

/// A value bound to a `$N` parameter, stored as sqlx stores it on SQLite.
pub trait Arg {
    fn to_sql_output(&self) -> rusqlite::Result<ToSqlOutput<'_>>;
}

macro_rules! arg_as_rusqlite {
    ($($ty:ty),*) => {
        $(impl Arg for $ty {
            fn to_sql_output(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                ToSql::to_sql(self)
            }
        })*
    };
}

arg_as_rusqlite!(i64, i32, u32, bool, f64, str, String, [u8], Vec<u8>);

impl Arg for DateTime<Utc> {
    /// sqlx writes RFC 3339 with a `T`; rusqlite's own encoding has a space. Timestamps are
    /// compared as text in SQL, so both paths must write the same text.
    fn to_sql_output(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Owned(Value::Text(
            self.to_rfc3339_opts(SecondsFormat::AutoSi, false),
        )))
    }
}

impl Arg for Value {
    fn to_sql_output(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(self.into()))
    }
}

impl<T: Arg + ?Sized> Arg for &T {
    fn to_sql_output(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        (**self).to_sql_output()
    }
}

impl<T: Arg> Arg for Option<T> {
    fn to_sql_output(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Some(value) => value.to_sql_output(),
            None => Ok(ToSqlOutput::Owned(Value::Null)),
        }
    }
}

/// A type read from a result row by column name: what `sqlx::FromRow` is for the other paths.
/// [`db_row!`](crate::db_row) implements both. Names are looked up once per statement, not once
/// per row (by name, per row, was a tenth of the contacts page's CPU).
pub trait ReadRow: Sized {
    /// Where this type's columns are in the statement's results.
    fn columns(statement: &Statement<'_>) -> rusqlite::Result<Vec<usize>>;
    /// The row, from the columns at `columns` (what [`ReadRow::columns`] found).
    fn read_row(row: &Row<'_>, columns: &[usize]) -> rusqlite::Result<Self>;
}

/// One column's value, read the way sqlx's SQLite driver decodes it.
pub trait ReadValue: Sized {
    fn read_value(value: ValueRef<'_>) -> FromSqlResult<Self>;
}

macro_rules! value_as_rusqlite {
    ($($ty:ty),*) => {
        $(impl ReadValue for $ty {
            fn read_value(value: ValueRef<'_>) -> FromSqlResult<Self> {
                FromSql::column_result(value)
            }
        })*
    };
}

value_as_rusqlite!(i64, i32, bool, f64, String, Vec<u8>);

impl ReadValue for DateTime<Utc> {
    /// sqlx writes RFC 3339, which chrono parses directly; rusqlite's own decoding goes through
    /// a format string (6% of the contacts page's CPU) and stays the fallback for other text.
    fn read_value(value: ValueRef<'_>) -> FromSqlResult<Self> {
        if let ValueRef::Text(text) = value
            && let Ok(text) = std::str::from_utf8(text)
            && let Ok(parsed) = DateTime::parse_from_rfc3339(text)
        {
            return Ok(parsed.with_timezone(&Utc));
        }
        FromSql::column_result(value)
    }
}

impl<T: ReadValue> ReadValue for Option<T> {
    fn read_value(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Null => Ok(None),
            value => T::read_value(value).map(Some),
        }
    }
}

/// The value of the column at `index`, as `T`.
pub fn column<T: ReadValue>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let value = row.get_ref(index)?;
    T::read_value(value).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(index, value.data_type(), Box::new(err))
    })
}

/// Where each of `names` is in the statement's results.
pub fn column_indexes(statement: &Statement<'_>, names: &[&str]) -> rusqlite::Result<Vec<usize>> {
    names
        .iter()
        .map(|name| statement.column_index(name))
        .collect()
}

macro_rules! tuple_read_row {
    ($count:literal: $($name:ident $index:tt),+) => {
        impl<$($name: ReadValue),+> ReadRow for ($($name,)+) {
            fn columns(_: &Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                Ok((0..$count).collect())
            }

            fn read_row(row: &Row<'_>, _: &[usize]) -> rusqlite::Result<Self> {
                Ok(($(column(row, $index)?,)+))
            }
        }
    };
}

tuple_read_row!(1: A 0);
tuple_read_row!(2: A 0, B 1);
tuple_read_row!(3: A 0, B 1, C 2);
tuple_read_row!(4: A 0, B 1, C 2, D 3);
tuple_read_row!(5: A 0, B 1, C 2, D 3, E 4);

/// Prepares (or reuses) `sql` and binds `args` by number, as sqlx does: `$N`, `?N` and an
/// anonymous `?` (numbered by SQLite in order) take `args[N - 1]`.
fn prepare<'c>(
    conn: &'c mut Connection,
    sql: &str,
    args: &[&dyn Arg],
) -> rusqlite::Result<CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, args)?;
    Ok(statement)
}

/// Binds `args` to the statement's parameters, each by its number.
fn bind(statement: &mut Statement<'_>, args: &[&dyn Arg]) -> rusqlite::Result<()> {
    // SQLite numbers parameters in order of first appearance; a `$N` is a name, written by
    // the SQL. `?N` is parameter N itself and an anonymous `?` the next number, so their
    // index is their number (multi-row inserts use them: see `db::placeholders`). Walking the
    // statement's parameters binds each without building names.
    for index in 1..=statement.parameter_count() {
        let number = match statement.parameter_name(index) {
            None => Some(index),
            Some(name) => match name.strip_prefix('$') {
                Some(number) => number.parse::<usize>().ok(),
                None if name.starts_with('?') => Some(index),
                None => None,
            },
        };
        if let Some(arg) = number.and_then(|n| args.get(n.wrapping_sub(1))) {
            statement.raw_bind_parameter(index, arg.to_sql_output()?)?;
        }
    }
    Ok(())
}

/// Runs `sql` and hands each row, as `T`, to `each` until it answers false.
fn query<T: ReadRow>(
    conn: &mut Connection,
    sql: &str,
    args: &[&dyn Arg],
    mut each: impl FnMut(T) -> bool,
) -> rusqlite::Result<()> {
    let mut statement = prepare(conn, sql, args)?;
    let columns = T::columns(&statement)?;
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        if !each(T::read_row(row, &columns)?) {
            break;
        }
    }
    Ok(())
}

/// Runs `sql` and hands each row, as `T`, to `each` until it answers false: a read that stops
/// as soon as it has what it needs.
pub fn for_each<T: ReadRow>(
    conn: &mut Connection,
    sql: &str,
    args: &[&dyn Arg],
    each: impl FnMut(T) -> bool,
) -> Result<(), sqlx::Error> {
    query(conn, sql, args, each).map_err(error)
}

pub fn fetch_all<T: ReadRow>(
    conn: &mut Connection,
    sql: &str,
    args: &[&dyn Arg],
) -> Result<Vec<T>, sqlx::Error> {
    let mut out = Vec::new();
    query(conn, sql, args, |row| {
        out.push(row);
        true
    })
    .map_err(error)?;
    Ok(out)
}

pub fn fetch_optional<T: ReadRow>(
    conn: &mut Connection,
    sql: &str,
    args: &[&dyn Arg],
) -> Result<Option<T>, sqlx::Error> {
    let mut out = None;
    query(conn, sql, args, |row| {
        out = Some(row);
        false
    })
    .map_err(error)?;
    Ok(out)
}

pub fn fetch_one<T: ReadRow>(
    conn: &mut Connection,
    sql: &str,
    args: &[&dyn Arg],
) -> Result<T, sqlx::Error> {
    fetch_optional(conn, sql, args)?.ok_or(sqlx::Error::RowNotFound)
}

/// The first column of each row, for `sql_scalar!`.
pub mod scalar {
    use super::*;

    pub fn fetch_all<T: ReadValue>(
        conn: &mut Connection,
        sql: &str,
        args: &[&dyn Arg],
    ) -> Result<Vec<T>, sqlx::Error> {
        Ok(super::fetch_all::<(T,)>(conn, sql, args)?
            .into_iter()
            .map(|(value,)| value)
            .collect())
    }

    pub fn fetch_optional<T: ReadValue>(
        conn: &mut Connection,
        sql: &str,
        args: &[&dyn Arg],
    ) -> Result<Option<T>, sqlx::Error> {
        Ok(super::fetch_optional::<(T,)>(conn, sql, args)?.map(|(value,)| value))
    }

    pub fn fetch_one<T: ReadValue>(
        conn: &mut Connection,
        sql: &str,
        args: &[&dyn Arg],
    ) -> Result<T, sqlx::Error> {
        super::fetch_one::<(T,)>(conn, sql, args).map(|(value,)| value)
    }
}

/// Runs `work` in a write transaction on `conn` (`BEGIN IMMEDIATE`), committed when it
/// returns `Ok`, rolled back when it returns `Err` or when the commit fails.
pub fn transaction<T, E: From<sqlx::Error>>(
    conn: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<T, E>,
) -> Result<T, E> {
    // A transaction left open by an earlier failure (a rollback that failed too) would make
    // every BEGIN on this connection fail.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| E::from(error(e)))?;
    let outcome = work(conn).and_then(|value| {
        conn.execute_batch("COMMIT")
            .map(|()| value)
            .map_err(|e| E::from(error(e)))
    });
    if outcome.is_err() && !conn.is_autocommit() {
        // If this fails too, the next transaction rolls back first (above).
        let _ = conn.execute_batch("ROLLBACK");
    }
    outcome
}

/// Runs a statement and returns how many rows it changed. On a read connection any write
/// fails (`query_only`); statements that only read answer 0.
pub fn execute(conn: &mut Connection, sql: &str, args: &[&dyn Arg]) -> Result<u64, sqlx::Error> {
    let run = |conn: &mut Connection| -> rusqlite::Result<u64> {
        let mut statement = prepare(conn, sql, args)?;
        let mut rows = statement.raw_query();
        while rows.next()?.is_some() {}
        drop(rows);
        drop(statement);
        Ok(conn.changes())
    };
    run(conn).map_err(error)
}

/// Multi-row writes (an import, a webhook batch), whose text changes with the number of rows:
/// prepared for one use and not kept in the connection's statement cache, where a 256-row
/// insert would hold a large compiled program and push out the statements that repeat.
pub mod once {
    use super::*;

    /// Runs `sql` and returns how many rows it changed.
    pub fn execute(
        conn: &mut Connection,
        sql: &str,
        args: &[&dyn Arg],
    ) -> Result<u64, sqlx::Error> {
        let run = |conn: &mut Connection| -> rusqlite::Result<u64> {
            let mut statement = conn.prepare(sql)?;
            bind(&mut statement, args)?;
            let mut rows = statement.raw_query();
            while rows.next()?.is_some() {}
            drop(rows);
            drop(statement);
            Ok(conn.changes())
        };
        run(conn).map_err(error)
    }

    /// Runs `sql` and returns the first column of every row (an `INSERT … RETURNING`).
    pub fn fetch_all_scalar<T: ReadValue>(
        conn: &mut Connection,
        sql: &str,
        args: &[&dyn Arg],
    ) -> Result<Vec<T>, sqlx::Error> {
        let run = |conn: &mut Connection| -> rusqlite::Result<Vec<T>> {
            let mut statement = conn.prepare(sql)?;
            bind(&mut statement, args)?;
            let mut rows = statement.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(column(row, 0)?);
            }
            Ok(out)
        };
        run(conn).map_err(error)
    }
}

/// rusqlite's errors as sqlx's, so storage functions have one error type whichever path read.
/// Decoding errors map to sqlx's decoding error; the rest (SQLite's own, such as a busy or
/// read-only database) carry their message as an I/O-level failure of the database.
pub fn error(err: rusqlite::Error) -> sqlx::Error {
    match err {
        rusqlite::Error::QueryReturnedNoRows => sqlx::Error::RowNotFound,
        rusqlite::Error::InvalidColumnName(name) => sqlx::Error::ColumnNotFound(name),
        err @ (rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)) => sqlx::Error::Decode(Box::new(err)),
        err => sqlx::Error::Io(std::io::Error::other(err)),
    }
}
