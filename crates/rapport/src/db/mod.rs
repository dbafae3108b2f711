//! One storage layer for SQLite and PostgreSQL.
//!
//! `sqlx::Any` cannot carry dates, UUIDs or JSON, so instead a [`Db`] holds the pool of whichever
//! backend `DATABASE_URL` chose, and storage functions take a [`Conn`] that is either a SQLite or a
//! PostgreSQL connection (from the pool or inside a transaction). The `sql_*!` macros run the same
//! SQL text on whichever backend is in use; `$1` placeholders, `RETURNING` and `ON CONFLICT` work
//! on both. Dialect-specific SQL lives in [`dialect`] and nowhere else.

pub mod dialect;
pub mod migrations;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

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
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The application's database: a pool of one backend.
#[derive(Clone, Debug)]
pub enum Db {
    /// The pool and the node's write turn (see [`Db::begin`]).
    Sqlite(SqlitePool, Arc<tokio::sync::Mutex<()>>),
    Postgres(PgPool),
}

/// A connection of either backend, borrowed from a pool connection or a transaction.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// A pooled connection of either backend.
pub enum PoolConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl PoolConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::Sqlite(&mut *c),
            PoolConn::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

/// A transaction of either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    /// The transaction, and the write turn it holds until commit or rollback. Declared in this
    /// order so the transaction ends (rolls back when dropped) before the turn passes on.
    Sqlite(
        sqlx::Transaction<'static, Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t, _) => Conn::Sqlite(&mut *t),
            Tx::Postgres(t) => Conn::Postgres(&mut *t),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

/// Waiting for a pooled connection is normal under load (requests queue for the pool); only a
/// wait this long is worth a warning. sqlx's default warned on every request of a busy node.
/// How long a SQLite writer waits for its turn before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SLOW_ACQUIRE: Duration = Duration::from_secs(1);

impl Db {
    /// Connects to `url` (`sqlite:PATH` or `postgres://…`). SQLite files are created when missing,
    /// in WAL mode with foreign keys on.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                // Deleted Zoom data should not linger in free pages of the file.
                .pragma("secure_delete", "ON")
                .busy_timeout(BUSY_TIMEOUT);
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_slow_threshold(SLOW_ACQUIRE)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool, Arc::default()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_slow_threshold(SLOW_ACQUIRE)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }

    /// The default SQLite URL for a data directory.
    pub fn sqlite_url_in(dir: &Path) -> String {
        format!("sqlite://{}", dir.join("rapport.db").display())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool, _) => migrations::migrator(migrations::SQLITE).run(pool).await?,
            Db::Postgres(pool) => migrations::migrator(migrations::POSTGRES).run(pool).await?,
        }
        Ok(())
    }

    pub async fn acquire(&self) -> Result<PoolConn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool, _) => PoolConn::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => PoolConn::Postgres(pool.acquire().await?),
        })
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`)
    /// so that two writers never deadlock upgrading a read lock.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool, turn) => {
                // SQLite has one writer. Writers of this node take turns here, first come first
                // served, instead of inside SQLite, whose busy handler sleeps in steps of up to
                // 100 ms: under load that sleeping, not the writing, was most of a webhook's or
                // a schedule's latency. BEGIN IMMEDIATE still guards against other processes.
                // A task that already holds the turn and begins again would wait forever;
                // give up as SQLite's own busy timeout would.
                let turn = tokio::time::timeout(BUSY_TIMEOUT, turn.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let mut pooled = self.acquire().await?;
        let mut conn = pooled.conn();
        crate::sql_execute!(&mut conn, "SELECT 1")?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, _) => pool.close().await,
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
    };
}

/// Runs `sqlx::query_as` with the same SQL and binds on whichever backend `$conn` (a `&mut Conn`) is.
/// `$method` is `fetch_one`, `fetch_optional` or `fetch_all`.
#[macro_export]
macro_rules! sql_as {
    ($conn:expr, $ty:ty, $method:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => {
                sqlx::query_as::<sqlx::Sqlite, $ty>($sql)$(.bind($arg))*.$method(&mut **c).await
            }
            $crate::db::Conn::Postgres(c) => {
                sqlx::query_as::<sqlx::Postgres, $ty>($sql)$(.bind($arg))*.$method(&mut **c).await
            }
        }
    };
}

/// Runs `sqlx::query_scalar` with the same SQL and binds on whichever backend `$conn` is.
#[macro_export]
macro_rules! sql_scalar {
    ($conn:expr, $ty:ty, $method:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => {
                sqlx::query_scalar::<sqlx::Sqlite, $ty>($sql)$(.bind($arg))*.$method(&mut **c).await
            }
            $crate::db::Conn::Postgres(c) => {
                sqlx::query_scalar::<sqlx::Postgres, $ty>($sql)$(.bind($arg))*.$method(&mut **c).await
            }
        }
    };
}

/// Executes a statement on whichever backend `$conn` is; evaluates to `Result<u64, sqlx::Error>`
/// with the number of rows affected.
#[macro_export]
macro_rules! sql_execute {
    ($conn:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => {
                sqlx::query::<sqlx::Sqlite>($sql)$(.bind($arg))*.execute(&mut **c).await.map(|r| r.rows_affected())
            }
            $crate::db::Conn::Postgres(c) => {
                sqlx::query::<sqlx::Postgres>($sql)$(.bind($arg))*.execute(&mut **c).await.map(|r| r.rows_affected())
            }
        }
    };
}

/// `($1, $2, $3), ($4, $5, $6)`: the VALUES of a multi-row insert of `rows` rows of `columns`
/// parameters each, numbered from 1.
pub fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}
