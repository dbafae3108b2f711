//! The schema migrations, embedded in the binary.
//!
//! Listed by hand rather than with `sqlx::migrate!`, whose proc macro brings sqlx's drivers into
//! the build a second time (see [`crate::db_row`]). Versions, descriptions and checksums are the
//! ones `sqlx::migrate!` gave, so databases migrated before keep validating; a test checks that
//! every file in the directories is listed here.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

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
