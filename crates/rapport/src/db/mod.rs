//! One storage layer for SQLite and PostgreSQL.
//!
//! A [`Db`] is whichever backend `DATABASE_URL` chose: SQLite through rusqlite, on connection
//! threads of the node's own ([`read`], [`session`]), or PostgreSQL through sqlx's pool.
//! Storage functions take a [`Conn`], a connection of either, and the `sql_*!` macros run the
//! same SQL text on whichever it is; `$1` placeholders, `RETURNING` and `ON CONFLICT` work on
//! both. Dialect-specific SQL lives in [`dialect`] and nowhere else. sqlx's own SQLite driver is
//! not used: one driver per database (docs/decisions.md).
//!
//! PostgreSQL is compiled in with the `postgres` feature (on by default); without it a
//! `postgres://` URL is refused with [`DbError::PostgresNotBuilt`].

pub mod dialect;
pub mod migrations;
pub mod read;
pub mod session;
mod turn;

pub use turn::in_background;

use std::path::{Path, PathBuf};
#[cfg(feature = "postgres")]
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "postgres")]
use sqlx::pool::PoolConnection;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
#[cfg(feature = "postgres")]
use sqlx::{PgConnection, PgPool, Postgres};

use session::Session;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error(
        "an in-memory SQLite database would lose everything when Rapport stops: use a file \
         (sqlite://PATH)"
    )]
    SqliteInMemory,
    #[error("unsupported option in the SQLite URL: {0} (Rapport takes sqlite://PATH)")]
    SqliteUrlOption(String),
    #[error(
        "this build of Rapport has no PostgreSQL support (it was built without the `postgres` \
         feature, which is on by default): use a sqlite: URL or a default build"
    )]
    PostgresNotBuilt,
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not start the database's reader and writer threads: {0}")]
    ConnectionThreads(#[from] std::io::Error),
}

/// The application's database: the connections of one backend.
#[derive(Clone, Debug)]
pub enum Db {
    /// The connection threads of one node.
    Sqlite(Arc<SqliteNode>),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
}

/// A node's SQLite connections, each on a thread of its own (see [`read`]).
#[derive(Debug)]
pub struct SqliteNode {
    /// The node's write turn (see [`Db::begin`]).
    turn: turn::WriteTurn,
    /// Read-only connections for [`Db::read`].
    readers: read::ConnectionThreads,
    /// The connection for [`Db::write`].
    writer: read::ConnectionThreads,
    /// Connections lent to a task for a while: [`Db::acquire`] and [`Db::begin`].
    sessions: read::ConnectionThreads,
}

impl SqliteNode {
    /// [`Db::write`] on SQLite: the whole transaction on the writer thread, in the write turn.
    async fn write<T, E, F>(&self, write: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(Conn<'c>) -> WriteFuture<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        let turn = tokio::time::timeout(BUSY_TIMEOUT, self.turn.take())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        self.writer
            .run(move |conn| {
                // The turn goes with the transaction: if the caller stops waiting, the next
                // writer still waits until this one has committed or rolled back.
                let _turn = turn;
                Ok(read::transaction(conn, |conn| {
                    use futures::FutureExt;
                    write(Conn::SqliteDirect(conn))
                        .now_or_never()
                        .unwrap_or_else(|| {
                            Err(E::from(sqlx::Error::Protocol(
                                "a database write waited for something other than SQLite".into(),
                            )))
                        })
                }))
            })
            .await?
    }
}

/// A connection of either backend: on SQLite, a connection of the node's own used right where
/// it is (a reader's in [`Db::read`], the writer's in [`Db::write`]) or one lent to a task
/// ([`Db::acquire`], [`Db::begin`]), whose statements are sent to its thread one at a time.
pub enum Conn<'a> {
    SqliteSession(&'a mut Session),
    #[cfg(feature = "postgres")]
    Postgres(&'a mut PgConnection),
    SqliteDirect(&'a mut rusqlite::Connection),
}

impl Conn<'_> {
    /// True on SQLite: for the few statements whose SQL differs.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Conn::SqliteSession(_) | Conn::SqliteDirect(_))
    }

    /// The connection as what statements built at run time need: SQLite's (of either kind) or
    /// PostgreSQL's.
    pub fn split(&mut self) -> Split<'_> {
        match self {
            Conn::SqliteDirect(c) => Split::Sqlite(SqliteConn::Direct(c)),
            Conn::SqliteSession(s) => Split::Sqlite(SqliteConn::Session(s)),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => Split::Postgres(c),
        }
    }

    /// The backend, for the [`dialect`] functions that pick a statement by it.
    pub fn backend(&self) -> Backend {
        if self.is_sqlite() {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// A [`Conn`] split by backend (see [`Conn::split`]).
pub enum Split<'a> {
    Sqlite(SqliteConn<'a>),
    #[cfg(feature = "postgres")]
    Postgres(&'a mut PgConnection),
}

/// A SQLite connection of either kind, for the multi-row statements built at run time (see
/// [`read::once`]).
pub enum SqliteConn<'a> {
    Direct(&'a mut rusqlite::Connection),
    Session(&'a mut Session),
}

impl SqliteConn<'_> {
    /// Runs `sql` once (not cached) and returns how many rows it changed.
    pub fn once_execute<'s>(
        &'s mut self,
        sql: &str,
        args: &[&dyn read::Arg],
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + use<'s> {
        self.once(sql, args, read::once::execute)
    }

    /// Runs `sql` once (not cached) and returns the first column of every row.
    pub fn once_fetch_all_scalar<'s, T: read::ReadValue + Send + 'static>(
        &'s mut self,
        sql: &str,
        args: &[&dyn read::Arg],
    ) -> impl Future<Output = Result<Vec<T>, sqlx::Error>> + Send + use<'s, T> {
        self.once(sql, args, read::once::fetch_all_scalar)
    }

    /// On a connection of this thread, runs `statement` now; on a session's, sends it.
    fn once<'s, T: Send + 'static>(
        &'s mut self,
        sql: &str,
        args: &[&dyn read::Arg],
        statement: read::RunStatement<T>,
    ) -> impl Future<Output = Result<T, sqlx::Error>> + Send + use<'s, T> {
        use futures::future::{Either, ready};
        match self {
            SqliteConn::Direct(c) => Either::Left(ready(statement(c, sql, args))),
            SqliteConn::Session(s) => Either::Right(s.call(sql, args, statement)),
        }
    }
}

/// What a [`Db::read`] closure returns: the read, as a future borrowing the connection.
pub type ReadFuture<'c, T> = futures::future::BoxFuture<'c, Result<T, sqlx::Error>>;

/// What a [`Db::write`] closure returns: the transaction's work, as a future borrowing the
/// connection, with the caller's error type.
pub type WriteFuture<'c, T, E> = futures::future::BoxFuture<'c, Result<T, E>>;

/// A connection of either backend, kept by one task until dropped.
pub enum PoolConn {
    Sqlite(Session),
    #[cfg(feature = "postgres")]
    Postgres(PoolConnection<Postgres>),
}

impl PoolConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::SqliteSession(c),
            #[cfg(feature = "postgres")]
            PoolConn::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

/// A transaction of either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(SqliteTx),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::SqliteSession(&mut t.session),
            #[cfg(feature = "postgres")]
            Tx::Postgres(t) => Conn::Postgres(&mut *t),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

/// A SQLite write transaction: a lent connection that began one, and the node's write turn,
/// held until the transaction has committed or rolled back on the connection's thread (see
/// [`Session::end_holding`]), so that the next writer finds the database free.
pub struct SqliteTx {
    session: Session,
    /// Taken when the transaction ends.
    turn: Option<turn::Turn>,
}

impl SqliteTx {
    async fn commit(mut self) -> Result<(), sqlx::Error> {
        let committed = self
            .session
            .run(|conn| conn.execute_batch("COMMIT").map_err(read::error))
            .await;
        if let Some(turn) = self.turn.take() {
            self.session.end_holding(turn);
        }
        committed
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(turn) = self.turn.take() {
            self.session.end_holding(turn);
        }
    }
}

/// How long a SQLite writer waits for its turn before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(feature = "postgres")]
/// Waiting for a pooled connection is normal under load (requests queue for the pool); only a
/// wait this long is worth a warning. sqlx's default warned on every request of a busy node.
const SLOW_ACQUIRE: Duration = Duration::from_secs(1);

/// Connections a SQLite node lends to tasks ([`Db::acquire`], [`Db::begin`]): one for the
/// write transaction whose turn it is, one for a single statement outside any transaction
/// meanwhile. (As sqlx's pool of these was: in quick benchmark runs two served as much as four,
/// with peaks 1-1.5 MB lower.)
const SQLITE_SESSIONS: usize = 2;

/// The file a `sqlite:` URL names: `sqlite://PATH` or `sqlite:PATH`, as sqlx read them, with
/// `%XX` escapes decoded. `mode=rwc` (the default: read, write, create) is the one option taken.
fn sqlite_path(url: &str) -> Result<PathBuf, DbError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or(DbError::UnsupportedUrl)?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" {
        return Err(DbError::SqliteInMemory);
    }
    for option in options.split('&').filter(|o| !o.is_empty()) {
        match option {
            "mode=rwc" => {}
            "mode=memory" => return Err(DbError::SqliteInMemory),
            other => return Err(DbError::SqliteUrlOption(other.to_owned())),
        }
    }
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| DbError::UnsupportedUrl)?;
    if path.is_empty() {
        return Err(DbError::UnsupportedUrl);
    }
    Ok(PathBuf::from(path.as_ref()))
}

/// How many reader threads a SQLite node runs: the pool size, but no more than the machine has
/// cores (and at least two, so that one slow search does not hold up every page). A read keeps
/// its core busy from start to end (the file is in the kernel's page cache), so threads beyond
/// the cores read no more; each one costs a malloc arena and a page cache. The benchmark's full
/// run on two cores, with four readers: each reader's heap held 6-9 MB after the searches of a
/// 1,000,000-contact organization, and the webhook scenario after them peaked over 64 MB
/// (docs/benchmarks.md).
fn reader_threads(max_connections: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (max_connections as usize).min(cores).max(2)
}

impl Db {
    /// Connects to `url` (`sqlite:PATH` or `postgres://…`). SQLite files are created when missing,
    /// in WAL mode with foreign keys on.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        if url.starts_with("sqlite:") {
            let path = sqlite_path(url)?;
            let start =
                |size, access| read::ConnectionThreads::start(&path, size, BUSY_TIMEOUT, access);
            let node = SqliteNode {
                turn: turn::WriteTurn::default(),
                readers: start(reader_threads(max_connections), read::Access::Read)?,
                writer: start(1, read::Access::Write)?,
                sessions: start(SQLITE_SESSIONS, read::Access::Write)?,
            };
            // Open the file now (creating it, in WAL mode): a path Rapport cannot open is an
            // error here rather than at the first request.
            node.writer.run(|_| Ok(())).await?;
            Ok(Db::Sqlite(Arc::new(node)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::connect_postgres(url, max_connections).await
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }

    #[cfg(feature = "postgres")]
    async fn connect_postgres(url: &str, max_connections: u32) -> Result<Db, DbError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_slow_threshold(SLOW_ACQUIRE)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Db::Postgres(pool))
    }

    #[cfg(not(feature = "postgres"))]
    async fn connect_postgres(_url: &str, _max_connections: u32) -> Result<Db, DbError> {
        Err(DbError::PostgresNotBuilt)
    }

    /// The default SQLite URL for a data directory.
    pub fn sqlite_url_in(dir: &Path) -> String {
        format!("sqlite://{}", dir.join("rapport.db").display())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(node) => {
                node.writer
                    .run(|conn| Ok(migrations::run_sqlite(conn, migrations::SQLITE)))
                    .await??
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => migrations::migrator(migrations::POSTGRES).run(pool).await?,
        }
        Ok(())
    }

    pub async fn acquire(&self) -> Result<PoolConn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(node) => PoolConn::Sqlite(Session::open(&node.sessions).await?),
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => PoolConn::Postgres(pool.acquire().await?),
        })
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`)
    /// so that two writers never deadlock upgrading a read lock.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(node) => {
                // SQLite has one writer. Writers of this node take turns here, first come first
                // served, instead of inside SQLite, whose busy handler sleeps in steps of up to
                // 100 ms: under load that sleeping, not the writing, was most of a webhook's or
                // a schedule's latency. BEGIN IMMEDIATE still guards against other processes.
                // Background work (the job loops) lets waiting requests go first (see `turn`).
                // A task that already holds the turn and begins again would wait forever;
                // give up as SQLite's own busy timeout would.
                let turn = tokio::time::timeout(BUSY_TIMEOUT, node.turn.take())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                let mut session = Session::open(&node.sessions).await?;
                session
                    .run(|conn| conn.execute_batch("BEGIN IMMEDIATE").map_err(read::error))
                    .await?;
                Tx::Sqlite(SqliteTx {
                    session,
                    turn: Some(turn),
                })
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs `read`, which only reads, with a connection for it. On SQLite every statement of
    /// the read runs on one of the node's read connections in one hand-off (see [`read`]);
    /// on PostgreSQL it gets a pooled connection. The closure's future must only wait for the
    /// database: on SQLite it is run to completion without an executor.
    pub async fn read<T, F>(&self, read: F) -> Result<T, sqlx::Error>
    where
        F: for<'c> FnOnce(Conn<'c>) -> ReadFuture<'c, T> + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Db::Sqlite(node) => {
                node.readers
                    .run(move |conn| {
                        use futures::FutureExt;
                        read(Conn::SqliteDirect(conn)).now_or_never().unwrap_or(Err(
                            sqlx::Error::Protocol(
                                "a database read waited for something other than SQLite".into(),
                            ),
                        ))
                    })
                    .await
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => {
                let mut pooled = self.acquire().await?;
                read(pooled.conn()).await
            }
        }
    }

    /// Runs `write` in one write transaction, committed when it returns `Ok` and rolled back
    /// when it returns `Err`. The closure's future must only wait for the database.
    ///
    /// On a SQLite file, the whole transaction, `BEGIN IMMEDIATE` to `COMMIT` and every
    /// statement between, runs on the node's writer thread in one hand-off, while the caller
    /// holds the node's write turn as [`Db::begin`]'s transactions do. In a [`Db::begin`]
    /// transaction each statement is handed to its connection's thread and back (as sqlx's
    /// SQLite driver did): a schedule's second transaction made ten such round trips, and perf
    /// put a third of a schedule's samples on the kernel switching threads
    /// (docs/benchmarks.md). On PostgreSQL it is a [`Db::begin`] transaction.
    pub async fn write<T, E, F>(&self, write: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(Conn<'c>) -> WriteFuture<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        match self {
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => {
                let mut tx = self.begin().await?;
                let value = write(tx.conn()).await?;
                tx.commit().await?;
                Ok(value)
            }
            Db::Sqlite(node) => node.write(write).await,
        }
    }

    /// Whether PostgreSQL's autovacuum is on; `None` on SQLite, which needs no vacuum to keep
    /// up. With it off, the job queue's claimed rows and the contact-count triggers' old row
    /// versions pile up and every claim and count steps over them, the planner has no
    /// statistics, and index-only scans read the table (the benchmark measured this:
    /// docs/benchmarks.md). `rapport doctor` and `rapport serve` warn about it.
    pub async fn autovacuum(&self) -> Result<Option<bool>, sqlx::Error> {
        match self {
            Db::Sqlite(_) => Ok(None),
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => {
                let setting: String = sqlx::query_scalar("SHOW autovacuum")
                    .fetch_one(pool)
                    .await?;
                Ok(Some(setting == "on"))
            }
        }
    }

    /// A statement's round trip: on SQLite on a reader thread, which also finds a database
    /// file that can no longer be opened; on PostgreSQL on a pooled connection.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.read(|mut conn| {
            Box::pin(async move {
                crate::sql_execute!(&mut conn, "SELECT 1")?;
                Ok(())
            })
        })
        .await
    }

    /// Closes every connection, waiting for those in use. On SQLite the last one to close
    /// checkpoints the WAL into the database file and deletes it, so a stopped Rapport leaves
    /// its whole database in `rapport.db` (what an operator copies).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(node) => {
                // The writer last, alone: SQLite folds the WAL in only when the connection that
                // closes finds itself the last one, and two closing at the same moment (as the
                // threads of one pool do) can each see the other and both leave the WAL behind.
                // The writer's connection is always open (`connect` opens it).
                for threads in [&node.readers, &node.sessions, &node.writer] {
                    threads.close().await;
                }
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Declares a struct read from query results by column name, for both backends: what
/// `#[derive(sqlx::FromRow)]` does, as a declarative macro. sqlx's derive is a proc macro, and
/// enabling it compiles sqlx's whole driver stack (SQLite's C amalgamation, rustls, tokio, the
/// PostgreSQL driver) a second time for the compiler's host: in a release build that was a
/// sixth of the CPU time (`cargo build --timings`).
#[macro_export]
macro_rules! db_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $field_ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $field_ty),*
        }

        #[cfg(feature = "postgres")]
        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $name
        where
            &'r str: sqlx::ColumnIndex<R>,
            $($field_ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,)*
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                Ok($name {
                    $($field: row.try_get(stringify!($field))?),*
                })
            }
        }

        impl $crate::db::read::ReadRow for $name {
            fn columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                $crate::db::read::column_indexes(statement, &[$(stringify!($field)),*])
            }

            fn read_row(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
                // The fields in declaration order, as `columns` lists them; a missing index
                // reads as an invalid column, not a panic.
                let mut at = columns.iter().copied();
                Ok($name {
                    $($field: $crate::db::read::column(row, at.next().unwrap_or(usize::MAX))?),*
                })
            }
        }
    };
}

/// A stored row and one more value computed beside it, the last column of the `SELECT`
/// (a count, a flag): for queries that answer "this row, and …".
pub struct WithLast<R, T> {
    pub row: R,
    pub last: T,
}

#[cfg(feature = "postgres")]
impl<'r, DbRow: sqlx::Row, R, T> sqlx::FromRow<'r, DbRow> for WithLast<R, T>
where
    usize: sqlx::ColumnIndex<DbRow>,
    R: sqlx::FromRow<'r, DbRow>,
    T: sqlx::Decode<'r, DbRow::Database> + sqlx::Type<DbRow::Database>,
{
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(WithLast {
            row: R::from_row(row)?,
            last: row.try_get(row.len().saturating_sub(1))?,
        })
    }
}

impl<R: read::ReadRow, T: read::ReadValue> read::ReadRow for WithLast<R, T> {
    fn columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
        let mut columns = R::columns(statement)?;
        columns.push(statement.column_count().saturating_sub(1));
        Ok(columns)
    }

    fn read_row(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
        let (last, of_row) = columns
            .split_last()
            .ok_or(rusqlite::Error::InvalidColumnIndex(0))?;
        Ok(WithLast {
            row: R::read_row(row, of_row)?,
            last: read::column(row, *last)?,
        })
    }
}

/// Runs `sqlx::query_as` with the same SQL and binds on whichever backend `$conn` (a `&mut Conn`) is.
/// `$method` is `fetch_one`, `fetch_optional` or `fetch_all`.
#[macro_export]
macro_rules! sql_as {
    ($conn:expr, $ty:ty, $method:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            // The future is made in a statement of its own: the arguments, which cannot be
            // sent between threads, are copied into it and dropped before it is awaited.
            $crate::db::Conn::SqliteSession(s) => {
                let call = s.call(
                    sqlx::SqlSafeStr::into_sql_str($sql).as_str(),
                    &[$(&$arg as &dyn $crate::db::read::Arg),*],
                    $crate::db::read::$method::<$ty>,
                );
                call.await
            }
            #[cfg(feature = "postgres")]
            $crate::db::Conn::Postgres(c) => {
                sqlx::query_as::<sqlx::Postgres, $ty>($sql)$(.bind($arg))*.$method(&mut **c).await
            }
            $crate::db::Conn::SqliteDirect(c) => $crate::db::read::$method::<$ty>(
                c,
                sqlx::SqlSafeStr::into_sql_str($sql).as_str(),
                &[$(&$arg as &dyn $crate::db::read::Arg),*],
            ),
        }
    };
}

/// Runs `sqlx::query_scalar` with the same SQL and binds on whichever backend `$conn` is.
#[macro_export]
macro_rules! sql_scalar {
    ($conn:expr, $ty:ty, $method:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            // The future is made in a statement of its own: the arguments, which cannot be
            // sent between threads, are copied into it and dropped before it is awaited.
            $crate::db::Conn::SqliteSession(s) => {
                let call = s.call(
                    sqlx::SqlSafeStr::into_sql_str($sql).as_str(),
                    &[$(&$arg as &dyn $crate::db::read::Arg),*],
                    $crate::db::read::scalar::$method::<$ty>,
                );
                call.await
            }
            #[cfg(feature = "postgres")]
            $crate::db::Conn::Postgres(c) => {
                sqlx::query_scalar::<sqlx::Postgres, $ty>($sql)$(.bind($arg))*.$method(&mut **c).await
            }
            $crate::db::Conn::SqliteDirect(c) => $crate::db::read::scalar::$method::<$ty>(
                c,
                sqlx::SqlSafeStr::into_sql_str($sql).as_str(),
                &[$(&$arg as &dyn $crate::db::read::Arg),*],
            ),
        }
    };
}

/// Executes a statement on whichever backend `$conn` is; evaluates to `Result<u64, sqlx::Error>`
/// with the number of rows affected.
#[macro_export]
macro_rules! sql_execute {
    ($conn:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            // The future is made in a statement of its own: the arguments, which cannot be
            // sent between threads, are copied into it and dropped before it is awaited.
            $crate::db::Conn::SqliteSession(s) => {
                let call = s.call(
                    sqlx::SqlSafeStr::into_sql_str($sql).as_str(),
                    &[$(&$arg as &dyn $crate::db::read::Arg),*],
                    $crate::db::read::execute,
                );
                call.await
            }
            #[cfg(feature = "postgres")]
            $crate::db::Conn::Postgres(c) => {
                sqlx::query::<sqlx::Postgres>($sql)$(.bind($arg))*.execute(&mut **c).await.map(|r| r.rows_affected())
            }
            $crate::db::Conn::SqliteDirect(c) => $crate::db::read::execute(
                c,
                sqlx::SqlSafeStr::into_sql_str($sql).as_str(),
                &[$(&$arg as &dyn $crate::db::read::Arg),*],
            ),
        }
    };
}

/// The VALUES of a multi-row insert built at run time: `rows` rows of `columns` parameters
/// each, bound row by row. PostgreSQL gets `($1, $2, $3), ($4, $5, $6)`; SQLite gets anonymous
/// `(?, ?, ?), (?, ?, ?)`, which it numbers in the same order.
///
/// Why not `$n` on SQLite too: there `$n` is a parameter *name*. While compiling, SQLite looks
/// each new name up among all the names before it, and sqlx looks every parameter's name up
/// again to bind it; both lookups walk a list, so a statement's cost grew with the square of
/// its parameters. Seeding 100 contacts to a statement (1,300 parameters) spent 30% of its
/// time in them (perf: `strncmp`, `sqlite3_bind_parameter_name`). Anonymous parameters have
/// no names to look up.
pub fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let row = |row: usize| -> String {
        let params: Vec<String> = (1..=columns)
            .map(|column| match backend {
                Backend::Sqlite => "?".to_owned(),
                Backend::Postgres => format!("${}", row * columns + column),
            })
            .collect();
        format!("({})", params.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// Parameter `n` (from 1) in SQL text built at run time where a parameter is used more than
/// once: `$n` on PostgreSQL, `?n` on SQLite, whose numbered parameters are found by number
/// (see [`placeholders`] for what SQLite does with `$n`).
pub fn numbered_param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("?{n}"),
        Backend::Postgres => format!("${n}"),
    }
}

/// True when the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        sqlx::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rusqlite::Error>())
            .is_some_and(|e| {
                matches!(
                    e.sqlite_error().map(|f| f.extended_code),
                    Some(
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    )
                )
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::reader_threads;
    use super::{Db, DbError};

    /// What an operator sees who points a SQLite-only build (the one `cargo xtask bench`
    /// measures) at PostgreSQL: a refusal that says why and what to do, not a driver error.
    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn a_sqlite_only_build_refuses_a_postgres_url_and_says_why() {
        let Err(err) = Db::connect("postgres://rapport@127.0.0.1:5432/rapport", 2).await else {
            panic!("a build without PostgreSQL connected to PostgreSQL");
        };
        assert!(matches!(err, DbError::PostgresNotBuilt), "{err}");
        let message = err.to_string();
        assert!(message.contains("no PostgreSQL support"), "{message}");
        assert!(message.contains("`postgres` feature"), "{message}");
        assert!(!message.contains("127.0.0.1"), "{message}");
    }

    #[test]
    fn sqlite_urls_name_a_file_and_nothing_else() {
        use std::path::PathBuf;
        let path = |url| super::sqlite_path(url).map_err(|e| e.to_string());
        assert_eq!(
            path("sqlite:///srv/rapport/rapport.db"),
            Ok(PathBuf::from("/srv/rapport/rapport.db"))
        );
        assert_eq!(
            path("sqlite:data/rapport.db?mode=rwc"),
            Ok(PathBuf::from("data/rapport.db"))
        );
        assert_eq!(
            path("sqlite:///srv/my%20data/r.db"),
            Ok(PathBuf::from("/srv/my data/r.db"))
        );
        for in_memory in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite:///x.db?mode=memory",
        ] {
            let Err(message) = path(in_memory) else {
                panic!("{in_memory} was taken");
            };
            assert!(message.contains("in-memory"), "{in_memory}: {message}");
        }
        let Err(message) = path("sqlite:///x.db?mode=ro") else {
            panic!("an option Rapport does not apply was taken");
        };
        assert!(message.contains("mode=ro"), "{message}");
        assert!(path("sqlite://").is_err());
    }

    /// A database file Rapport cannot create fails `connect` itself, with SQLite's reason,
    /// rather than the first request.
    #[tokio::test]
    async fn a_sqlite_file_that_cannot_be_opened_fails_the_connect() {
        let Err(err) = Db::connect("sqlite:///nonexistent-dir-of-rapport/sub/rapport.db", 2).await
        else {
            panic!("connected to a file in a directory that does not exist");
        };
        assert!(matches!(err, DbError::Sqlx(_)), "{err}");
        assert!(err.to_string().contains("unable to open"), "{err}");
    }

    #[test]
    fn reader_threads_follow_the_pool_within_the_cores_and_never_fall_below_two() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(reader_threads(1), 2);
        assert_eq!(reader_threads(2), 2);
        assert_eq!(reader_threads(1000), cores.max(2));
    }
}
