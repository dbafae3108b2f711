//! The schema migrations, embedded in the binary.
//!
//! Listed by hand rather than with `sqlx::migrate!`, whose proc macro brings sqlx's drivers into
//! the build a second time (see [`crate::db_row`]). Versions, descriptions and checksums are the
//! ones `sqlx::migrate!` gave, so databases migrated before keep validating; a test checks that
//! every file in the directories is listed here.
//!
//! PostgreSQL's run through sqlx's migrator. SQLite's run through [`run_sqlite`] on a rusqlite
//! connection (Rapport does not use sqlx's SQLite driver: docs/decisions.md), which keeps the
//! same `_sqlx_migrations` table as sqlx's migrator, row for row, so that a database migrated by
//! either is taken by the other.

use std::collections::HashMap;
use std::time::Instant;

use rusqlite::Connection;
use sqlx::SqlSafeStr;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

use super::read::error;

macro_rules! embed {
    ($dir:literal: $($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", $file)))),*]
    };
}

/// (file name, SQL) of each SQLite migration, in order.
pub const SQLITE: &[(&str, &str)] = embed!("sqlite":
    "0001_foundation.sql",
    "0002_zoom.sql",
    "0003_meetings.sql",
    "0004_meeting_settings.sql",
    "0005_contacts_at_scale.sql",
    "0006_search_per_organization.sql",
    "0007_search_walk_index.sql",
    "0008_search_match_sort_index.sql",
    "0009_outbox_after_sending.sql",
    "0010_meeting_cancel_requested.sql",
    "0011_search_in_name_order.sql",
);

/// (file name, SQL) of each PostgreSQL migration, in order.
pub const POSTGRES: &[(&str, &str)] = embed!("postgres":
    "0001_foundation.sql",
    "0002_zoom.sql",
    "0003_meetings.sql",
    "0004_meeting_settings.sql",
    "0005_contacts_at_scale.sql",
    "0006_outbox_after_sending.sql",
    "0007_meeting_cancel_requested.sql",
    "0008_search_by_first_letter.sql",
);

/// A migrator for the given files, named `<version>_<description>.sql` as sqlx expects.
pub fn migrator(files: &'static [(&'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .filter_map(|&(file, sql)| {
                let (version, rest) = file.split_once('_')?;
                let description = rest.strip_suffix(".sql")?.replace('_', " ");
                Some(Migration::new(
                    version.parse().ok()?,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    sql.starts_with("-- no-transaction"),
                ))
            })
            .collect(),
    )
}

/// Applies the SQLite migrations in `files` that `conn`'s database has not had yet, as sqlx's
/// migrator does: each in a transaction with its row in `_sqlx_migrations` (unless its file
/// starts with `-- no-transaction`); refused when an earlier run failed half-way (`Dirty`), when
/// an applied migration's file changed since (`VersionMismatch`), or when the database has one
/// this build does not know (`VersionMissing`, a database of a newer Rapport).
pub fn run_sqlite(
    conn: &mut Connection,
    files: &'static [(&'static str, &'static str)],
) -> Result<(), MigrateError> {
    let sqlite = |e: rusqlite::Error| MigrateError::Execute(error(e));
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
             version BIGINT PRIMARY KEY,
             description TEXT NOT NULL,
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
             success BOOLEAN NOT NULL,
             checksum BLOB NOT NULL,
             execution_time BIGINT NOT NULL
         )",
    )
    .map_err(sqlite)?;
    let dirty: Option<i64> = conn
        .query_row(
            "SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(sqlite)?;
    if let Some(version) = dirty {
        return Err(MigrateError::Dirty(version));
    }
    let applied: HashMap<i64, Vec<u8>> = conn
        .prepare("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(sqlite)?;
    let migrator = migrator(files);
    if let Some(&unknown) = applied
        .keys()
        .filter(|version| !migrator.iter().any(|m| m.version == **version))
        .min()
    {
        return Err(MigrateError::VersionMissing(unknown));
    }
    for migration in migrator.iter() {
        if let Some(checksum) = applied.get(&migration.version) {
            if checksum.as_slice() != &*migration.checksum {
                return Err(MigrateError::VersionMismatch(migration.version));
            }
            continue;
        }
        let start = Instant::now();
        let apply = |conn: &mut Connection| -> Result<(), MigrateError> {
            conn.execute_batch(migration.sql.as_str())
                .map_err(|e| MigrateError::ExecuteMigration(error(e), migration.version))?;
            conn.execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES (?1, ?2, TRUE, ?3, -1)",
                rusqlite::params![migration.version, &*migration.description, &*migration.checksum],
            )
            .map_err(sqlite)?;
            Ok(())
        };
        if migration.no_tx {
            apply(conn)?;
        } else {
            super::read::transaction(conn, apply)?;
        }
        // As sqlx does, the time is written after the commit; it is for people reading the
        // table, and a process that dies in between leaves -1.
        let nanos = i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX);
        conn.execute(
            "UPDATE _sqlx_migrations SET execution_time = ?1 WHERE version = ?2",
            rusqlite::params![nanos, migration.version],
        )
        .map_err(sqlite)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (dir, listed) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let listed: Vec<String> = listed.iter().map(|(f, _)| f.to_string()).collect();
            assert_eq!(listed, files_in(dir), "migrations/{dir}");
        }
    }

    #[test]
    fn versions_and_descriptions_are_sqlx_s() {
        let sqlite = migrator(SQLITE);
        let found: Vec<(i64, String)> = sqlite
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        assert_eq!(found.len(), SQLITE.len(), "a file name did not parse");
        assert_eq!(found[0], (1, "foundation".to_string()));
        assert_eq!(found[4], (5, "contacts at scale".to_string()));
        assert_eq!(
            migrator(POSTGRES).iter().count(),
            POSTGRES.len(),
            "a file name did not parse"
        );
    }
}
