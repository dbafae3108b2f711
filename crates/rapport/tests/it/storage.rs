//! Storage on both databases: migrations, readiness.

use crate::both_databases;
use crate::support::{Db, TestApp};

both_databases!(ready_after_migrations, |app: TestApp| async move {
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body, "ready");
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
});

both_databases!(sign_up_lands_on_contacts, |app: TestApp| async move {
    let response = app
        .sign_up("Ada Lovelace", "ada@example.com", "Analytical Engines")
        .await;
    assert_eq!(crate::support::location(&response), "/contacts");
    let (status, body) = app.get_text("/contacts").await;
    assert_eq!(status, 200);
    assert!(body.contains("No contacts yet"), "{body}");
    assert!(body.contains("Analytical Engines"));
});

// `rapport doctor` and `rapport serve` warn when PostgreSQL's autovacuum is off; SQLite has
// nothing to say.
both_databases!(
    autovacuum_is_reported_on_postgres_only,
    |app: TestApp| async move {
        let autovacuum = app.state.db.autovacuum().await.unwrap();
        match app.db {
            Db::Sqlite => assert_eq!(autovacuum, None),
            Db::Postgres => assert!(autovacuum.is_some()),
        }
    }
);

/// Pooled PostgreSQL connections that the server closed (a restart, a proxy's idle timeout) are
/// not handed to requests: the pool pings a connection before handing it out (sqlx's default,
/// kept: pinging only connections idle for a second or more measured the same) and replaces one
/// whose ping fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_the_server_closed_are_replaced() {
    use sqlx::Connection;
    let Some(app) = TestApp::spawn_postgres_or_skip().await else {
        return;
    };
    let ready = || async {
        app.client
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready().await, reqwest::StatusCode::OK);
    let mut admin = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(ended >= 1, "the app had connections to end");
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for _ in 0..5 {
        assert_eq!(ready().await, reqwest::StatusCode::OK);
    }
}

/// Tables and columns (name, and whether NULL is refused) of a fresh database.
async fn schema_of(app: &TestApp) -> std::collections::BTreeSet<(String, String, bool)> {
    let mut pooled = app.state.db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    let rows: Vec<(String, String, bool)> = match app.db {
        Db::Sqlite => rapport::sql_as!(
            &mut conn,
            (String, String, bool),
            fetch_all,
            "SELECT m.name, p.name, (p.\"notnull\" = 1 OR p.pk > 0)
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'
               -- SQLite's trigram search index; PostgreSQL's is an index, not a table.
               AND m.name NOT LIKE 'contacts_search%'
               -- and the numbering that places a contact in it (migration 0011).
               AND NOT (m.name = 'contacts' AND p.name = 'search_seq')
               AND NOT (m.name = 'organizations' AND p.name = 'contacts_created')"
        ),
        Db::Postgres => rapport::sql_as!(
            &mut conn,
            (String, String, bool),
            fetch_all,
            "SELECT table_name::text, column_name::text, is_nullable = 'NO'
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'
               -- the first-character group of PostgreSQL's search (migration 0008).
               AND NOT (table_name = 'contacts' AND column_name = 'search_group')"
        ),
    }
    .unwrap();
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_match() {
    let sqlite = TestApp::spawn(Db::Sqlite).await;
    let Some(postgres) = TestApp::spawn_postgres_or_skip().await else {
        return;
    };
    let lite = schema_of(&sqlite).await;
    let pg = schema_of(&postgres).await;
    assert!(lite.len() > 50, "{lite:?}");
    let only_lite: Vec<_> = lite.difference(&pg).collect();
    let only_pg: Vec<_> = pg.difference(&lite).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_lite:?}\nonly in PostgreSQL: {only_pg:?}"
    );
}

both_databases!(
    contact_list_query_uses_the_org_sort_index,
    |app: TestApp| async move {
        // Keep the whole app (and its data directory) alive, not just the fields used below.
        let app = app;
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        let orgs =
            crate::kit::insert_organizations(&mut tx.conn(), &["Big Org", "Small Org"], now).await;
        for i in 0..2000 {
            let org = if i % 10 == 0 { orgs[1] } else { orgs[0] };
            let data = rapport::contacts::storage::ContactData {
                email: Some(format!("c{i}@example.com")),
                ..crate::kit::contact_named(format!("Contact {:05}", (i * 7919) % 2000))
            };
            rapport::contacts::storage::insert(&mut tx.conn(), org, None, &data, now)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut pooled = app.state.db.acquire().await.unwrap();
        let mut conn = pooled.conn();
        // The list query of contacts::storage::list, first page and a later page.
        let query = |org: i64, after: &str| {
            format!(
            "SELECT id, name, email, phone, company, job_title, time_zone, notes, sort_key, created_at, updated_at
             FROM contacts
             WHERE org_id = {org} AND (sort_key, id) > ('{after}', 0)
             ORDER BY sort_key, id LIMIT 51"
        )
        };
        rapport::sql_execute!(&mut conn, "ANALYZE").unwrap();
        let mut plans = Vec::new();
        for after in ["", "contact 01000"] {
            plans.push(query_plan(&mut conn, &query(orgs[0], after)).await);
        }
        for plan in &plans {
            assert!(plan.contains("contacts_org_sort"), "{plan}");
            assert!(
                !plan.contains("TEMP B-TREE") && !plan.contains("Sort "),
                "the index gives the order: {plan}"
            );
        }
        // A later page seeks to the cursor in the index instead of reading up to it and
        // filtering.
        let later = &plans[1];
        assert!(
            later.contains("sort_key>?") || later.contains("ROW(sort_key, id) >"),
            "the cursor bounds the index scan: {later}"
        );
        assert!(
            !later.contains("Filter:"),
            "nothing is read only to be dropped: {later}"
        );
    }
);

/// The plan the database chose for `sql`: SQLite's `EXPLAIN QUERY PLAN` details or
/// PostgreSQL's `EXPLAIN` lines, one per line.
async fn query_plan(conn: &mut rapport::db::Conn<'_>, sql: &str) -> String {
    match conn {
        rapport::db::Conn::Postgres(_) => {
            let rows: Vec<String> = rapport::sql_scalar!(
                conn,
                String,
                fetch_all,
                sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"))
            )
            .unwrap();
            rows.join("\n")
        }
        _ => {
            let rows: Vec<(i64, i64, i64, String)> = rapport::sql_as!(
                conn,
                (i64, i64, i64, String),
                fetch_all,
                sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))
            )
            .unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
    }
}

/// A SQLite database in `dir`, not yet migrated, and a pool of sqlx's SQLite driver on the same
/// file: the tests write and read through it as another program would, beside Rapport's own
/// connections.
async fn sqlite_in(dir: &std::path::Path) -> (rapport::db::Db, sqlx::SqlitePool) {
    use std::str::FromStr;
    let url = rapport::db::Db::sqlite_url_in(dir);
    let db = rapport::db::Db::connect(&url, 2).await.unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(10));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    (db, pool)
}

/// Stores an organization or a contact directly, as a migration would find them.
async fn insert_org<'c>(conn: impl sqlx::SqliteExecutor<'c>, org: i64) {
    sqlx::query(
        "INSERT INTO organizations (id, name, created_at) VALUES ($1, 'Org', '2026-01-01T00:00:00Z')",
    )
    .bind(org)
    .execute(conn)
    .await
    .unwrap();
}

async fn insert_contact<'c>(conn: impl sqlx::SqliteExecutor<'c>, org: i64, name: &str) {
    sqlx::query(
        "INSERT INTO contacts (org_id, name, sort_key, search_text, created_at, updated_at)
         VALUES ($1, $2, $3, $3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .bind(org)
    .bind(name)
    .bind(name.to_lowercase())
    .execute(conn)
    .await
    .unwrap();
}

/// The i-th of a mix of names beginning with every kind of character (letters, accents, other
/// scripts, digits, punctuation), many sharing a first name or a surname, for the search paging
/// tests.
fn name_of_every_kind(i: usize) -> String {
    const FIRSTS: [&str; 31] = [
        "Aaron",
        "Ada",
        "Adam",
        "Al",
        "Ann",
        "Anna",
        "Annabel",
        "Bo",
        "Ben",
        "Émile",
        "Zoë",
        "Zed",
        "Ølaf",
        "Ωmega",
        "日本",
        "O'Brien",
        "'Quoted'",
        "007",
        "42nd",
        "Mary",
        "Max",
        "Maxine",
        "Mo",
        "Smith",
        "Xi",
        "~Tilde",
        "{Brace}",
        "Ann-Marie",
        "Al Smith",
        "_under",
        "Über",
    ];
    const LASTS: [&str; 6] = ["Smith", "Smithson", "Jones", "Annan", "Blacksmith", "Ng"];
    format!(
        "{} {}",
        FIRSTS[(i * 7) % FIRSTS.len()],
        LASTS[(i * 11 / 3) % LASTS.len()]
    )
}

/// Every page of a search, 20 contacts at a time from the cursor of the last, as (sort key, id).
async fn every_page_of(
    conn: &mut rapport::db::Conn<'_>,
    org: i64,
    term: &str,
    org_contacts: i64,
) -> Vec<(String, i64)> {
    use rapport::contacts::storage::{Cursor, Search, list};
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let search = Search { term, org_contacts };
        let page = list(conn, org, Some(search), cursor.as_ref(), 20)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(Cursor {
            sort_key: last.sort_key.clone(),
            id: last.id,
        });
        let full = page.len() == 20;
        seen.extend(page.into_iter().map(|c| (c.sort_key, c.id)));
        if !full {
            break;
        }
    }
    seen
}

/// The contacts (id, name) whose lower-cased name contains the term, as (sort key, id) in name
/// order: what [`every_page_of`] must give.
fn matching_by_hand(contacts: &[(i64, String)], term: &str) -> Vec<(String, i64)> {
    let mut expected: Vec<(String, i64)> = contacts
        .iter()
        .filter(|(_, n)| n.to_lowercase().contains(&term.to_lowercase()))
        .map(|(id, n)| (n.to_lowercase(), *id))
        .collect();
    expected.sort();
    expected
}

/// A PostgreSQL database migrated before 0008 (search by first character) finds its contacts
/// in name order after upgrading: the migration gives every stored contact its group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrade_to_first_character_groups_covers_existing_contacts() {
    use crate::kit::contact_named;
    use rapport::contacts::storage::{Search, insert, list};
    use rapport::db::migrations::{POSTGRES, migrator};
    let Some(server) = crate::support::postgres_server_url() else {
        return;
    };
    let url = crate::support::fresh_postgres_database(&server).await;
    let db = rapport::db::Db::connect(&url, 2).await.unwrap();
    let rapport::db::Db::Postgres(pool) = &db else {
        unreachable!("a PostgreSQL URL gives a PostgreSQL pool")
    };
    let before = POSTGRES
        .iter()
        .position(|(file, _)| file.starts_with("0008"))
        .unwrap();
    migrator(&POSTGRES[..before]).run(pool).await.unwrap();
    let now = chrono::Utc::now();
    let mut pooled = db.acquire().await.unwrap();
    let org = rapport::accounts::storage::insert_organization(&mut pooled.conn(), "Old", now)
        .await
        .unwrap();
    let names = [
        "Zed Smith",
        "Ada Smith",
        "007 Smith",
        "Émile Smith",
        "'Q' Smith",
        "Bo Jones",
    ];
    for name in names {
        insert(&mut pooled.conn(), org, None, &contact_named(name), now)
            .await
            .unwrap();
    }
    drop(pooled);

    db.migrate().await.unwrap();

    let mut pooled = db.acquire().await.unwrap();
    let search = Some(Search {
        term: "smith",
        org_contacts: 1_000_000,
    });
    let found: Vec<String> = list(&mut pooled.conn(), org, search, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        found,
        [
            "'Q' Smith",
            "007 Smith",
            "Ada Smith",
            "Zed Smith",
            "Émile Smith"
        ]
    );
}

/// A SQLite database migrated before 0006 (search per organization) keeps finding its contacts
/// after upgrading: the migration indexes what is already stored, in each organization's range.
#[tokio::test]
async fn sqlite_upgrade_to_per_organization_search_indexes_existing_contacts() {
    use rapport::contacts::storage::list;
    let search = |term| {
        Some(rapport::contacts::storage::Search {
            term,
            org_contacts: 2,
        })
    };
    use rapport::db::migrations::{SQLITE, migrator};

    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    let pool = &pool;
    migrator(&SQLITE[..5]).run(pool).await.unwrap();
    for (org, people) in [
        (1, ["Ada Lovelace", "Grace Hopper"]),
        (2, ["Ada Byron", "Mary Jackson"]),
    ] {
        insert_org(pool, org).await;
        for name in people {
            insert_contact(pool, org, name).await;
        }
    }

    db.migrate().await.unwrap();

    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    let names = |rows: Vec<rapport::contacts::storage::ContactListItem>| {
        rows.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    let found = list(&mut conn, 1, search("ada"), None, 10).await.unwrap();
    assert_eq!(names(found), ["Ada Lovelace"]);
    let found = list(&mut conn, 2, search("ada"), None, 10).await.unwrap();
    assert_eq!(names(found), ["Ada Byron"]);
    let found = list(&mut conn, 2, search("hopper"), None, 10)
        .await
        .unwrap();
    assert!(found.is_empty());
    // The triggers of 0006 keep new contacts and deletions in step.
    sqlx::query("DELETE FROM contacts WHERE name = 'Ada Byron'")
        .execute(pool)
        .await
        .unwrap();
    let found = list(&mut conn, 2, search("ada"), None, 10).await.unwrap();
    assert!(found.is_empty());
}

/// A term matching more contacts than the trigram path handles well walks the organization's
/// contacts in name order instead; both give the same pages as filtering and sorting by hand,
/// on the first page and after a cursor, and neither shows another organization's contacts.
#[tokio::test]
async fn sqlite_search_gives_the_same_pages_for_common_and_rare_terms() {
    use rapport::contacts::storage::{Cursor, Search, list};
    // As the contacts page passes it: the organization's count.
    let search = |term| {
        Some(Search {
            term,
            org_contacts: 2_800,
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    // Organization 1: 2,500 Smiths (common: walked) and 300 Joneses (rare: trigram index);
    // organization 2: Smiths too, which must never show.
    let mut mine: Vec<String> = Vec::new();
    let mut tx = pool.begin().await.unwrap();
    for org in [1, 2] {
        insert_org(&mut *tx, org).await;
    }
    for (org, surname, n) in [(1, "Smith", 2_500), (1, "Jones", 300), (2, "Smith", 100)] {
        for i in 0..n {
            // Scrambled so that insertion order is not name order.
            let name = format!("{} {surname}", (i * 7919) % 10_000);
            insert_contact(&mut *tx, org, &name).await;
            if org == 1 {
                mine.push(name);
            }
        }
    }
    tx.commit().await.unwrap();

    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    for term in ["smith", "jones", "9 jo", "SMITH", "zzz"] {
        let mut expected: Vec<&String> = mine
            .iter()
            .filter(|n| n.to_lowercase().contains(&term.to_lowercase()))
            .collect();
        expected.sort_by_key(|n| n.to_lowercase());
        let first = list(&mut conn, 1, search(term), None, 51).await.unwrap();
        let names: Vec<&String> = first.iter().map(|c| &c.name).collect();
        assert_eq!(names, expected[..51.min(expected.len())], "{term}");
        // The contacts page reads through the node's read connections: the same page.
        let read = db
            .read(move |mut conn| {
                Box::pin(async move { list(&mut conn, 1, search(term), None, 51).await })
            })
            .await
            .unwrap();
        let read_names: Vec<&String> = read.iter().map(|c| &c.name).collect();
        assert_eq!(read_names, names, "{term}, through Db::read");
        if expected.len() > 51 {
            let last = first.last().unwrap();
            let cursor = Cursor {
                sort_key: last.sort_key.clone(),
                id: last.id,
            };
            let second = list(&mut conn, 1, search(term), Some(&cursor), 51)
                .await
                .unwrap();
            let names: Vec<&String> = second.iter().map(|c| &c.name).collect();
            assert_eq!(
                names,
                expected[51..102.min(expected.len())],
                "{term}, second page"
            );
        }
    }
}

/// The search index's rowids put a contact in a bucket by the first characters of its name
/// (migration 0011), and a search reads only up to the bucket its page ends in. Every page,
/// followed cursor by cursor to the end, is the one filtering and sorting by hand gives: with
/// names from every bucket (punctuation, digits, accents, other scripts), after renames that
/// move contacts to another bucket and after deletions, and never with another organization's
/// contacts.
#[tokio::test]
async fn sqlite_search_pages_in_name_order_across_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    for org in [1, 2] {
        insert_org(&mut *tx, org).await;
    }
    let mut mine: Vec<(i64, String)> = Vec::new();
    for i in 0..1_500_usize {
        let name = name_of_every_kind(i);
        for org in [1, 2] {
            if org == 2 && i % 5 != 0 {
                continue;
            }
            insert_contact(&mut *tx, org, &name).await;
            let id: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            if org == 1 {
                mine.push((id, name.clone()));
            }
        }
    }
    tx.commit().await.unwrap();

    let check = |mine: Vec<(i64, String)>| {
        let db = db.clone();
        async move {
            let mut pooled = db.acquire().await.unwrap();
            let mut conn = pooled.conn();
            // The organization's real count reads every match; a count of a million (as
            // the contacts page would pass for a large organization) takes the bucketed path.
            let terms = [
                "smith", "ann", "ANN", "max", "本 ", "o'b", "007", "zzz", "an",
            ];
            for (term, org_contacts) in terms
                .into_iter()
                .flat_map(|term| [(term, mine.len() as i64), (term, 1_000_000)])
            {
                assert_eq!(
                    every_page_of(&mut conn, 1, term, org_contacts).await,
                    matching_by_hand(&mine, term),
                    "{term} ({org_contacts} contacts): every page, in name order"
                );
                // The contacts page reads on the reader threads, whose scan stops at the end
                // of the page's last bucket: the same pages.
                let read = db
                    .read(move |mut conn| {
                        Box::pin(async move {
                            Ok::<_, sqlx::Error>(
                                every_page_of(&mut conn, 1, term, org_contacts).await,
                            )
                        })
                    })
                    .await
                    .unwrap();
                assert_eq!(
                    read,
                    matching_by_hand(&mine, term),
                    "{term} ({org_contacts} contacts): every page through Db::read"
                );
            }
        }
    };
    check(mine.clone()).await;

    // Renames across buckets ("Zed …" becomes "Aa …" and the other way) and deletions.
    let mut renamed = Vec::new();
    for (n, (id, name)) in mine.into_iter().enumerate() {
        let new_name = match n % 9 {
            0 => {
                sqlx::query("DELETE FROM contacts WHERE id = $1")
                    .bind(id)
                    .execute(&pool)
                    .await
                    .unwrap();
                continue;
            }
            1 => format!("Aa {name}"),
            2 => format!("zz{name}"),
            _ => name,
        };
        sqlx::query("UPDATE contacts SET name = $1, sort_key = $2, search_text = $2 WHERE id = $3")
            .bind(&new_name)
            .bind(new_name.to_lowercase())
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        renamed.push((id, new_name));
    }
    check(renamed).await;
}

/// The bucket the storage code computes for a cursor is the one the database stored for the
/// same name, and names in sort order never go to a lower bucket.
#[tokio::test]
async fn sqlite_search_buckets_agree_between_rust_and_sql_and_follow_name_order() {
    use rapport::contacts::storage::search_bucket;
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    insert_org(&pool, 3).await;
    let mut names = vec![
        "a",
        "ab",
        "abc",
        "abd",
        "a b",
        "a-b",
        "a0",
        "0",
        " x",
        "!",
        "~",
        "{",
        "`",
        "@",
        "z",
        "zz",
        "zzz",
        "zzzz",
        "é",
        "éa",
        "ñandú",
        "Ω",
        "日本語",
        "\u{7f}",
        "9z",
        ":",
        "a\u{10ffff}",
    ];
    names.sort_by_key(|n| n.to_lowercase());
    let mut previous = 0;
    for (n, name) in names.iter().enumerate() {
        insert_contact(&pool, 3, name).await;
        let (stored, seq): (i64, i64) = sqlx::query_as(
            "SELECT search_rowid, search_seq FROM contacts WHERE org_id = 3 ORDER BY id DESC LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(seq, n as i64 + 1, "{name}: numbered in its organization");
        let bucket = search_bucket(&name.to_lowercase());
        assert_eq!(stored, (3 << 40) | (bucket << 25) | seq, "{name:?}");
        assert!(bucket >= previous, "{name:?} sorts after the previous name");
        previous = bucket;
    }
    // Through Rapport's own insert the numbers go on, and the contact is found.
    let mut pooled = db.acquire().await.unwrap();
    for (n, name) in ["Zed Lamport", "Ada Lamport"].into_iter().enumerate() {
        let data = crate::kit::contact_named(name);
        let id = rapport::contacts::storage::insert(
            &mut pooled.conn(),
            3,
            None,
            &data,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let (stored, seq): (i64, i64) =
            sqlx::query_as("SELECT search_rowid, search_seq FROM contacts WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(seq, (names.len() + n + 1) as i64, "{name}");
        assert_eq!(
            stored,
            (3 << 40) | (search_bucket(&data.sort_key()) << 25) | seq
        );
    }
    let created: i64 =
        sqlx::query_scalar("SELECT contacts_created FROM organizations WHERE id = 3")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(created, names.len() as i64 + 2);
    let found = rapport::contacts::storage::list(
        &mut pooled.conn(),
        3,
        Some(rapport::contacts::storage::Search {
            term: "lamport",
            org_contacts: 1_000_000,
        }),
        None,
        10,
    )
    .await
    .unwrap();
    let found: Vec<String> = found.into_iter().map(|c| c.name).collect();
    assert_eq!(found, ["Ada Lamport", "Zed Lamport"]);

    // Every string of up to four characters from one of each level, and a few within a
    // level: in sort order, the buckets never go down.
    let alphabet = [
        " ", "!", "0", "9", ":", "`", "a", "b", "z", "{", "\u{7f}", "é", "ω",
    ];
    let mut all = vec![String::new()];
    for _ in 0..4 {
        let longer: Vec<String> = all
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(longer);
    }
    all.sort();
    all.dedup();
    for pair in all.windows(2) {
        assert!(
            search_bucket(&pair[0]) <= search_bucket(&pair[1]),
            "{:?} sorts before {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// Each transaction leaves a segment in SQLite's search index until FTS5 merges them. `tidy`
/// merges them (in steps of its own transactions) into one; searches find the same contacts
/// after as before; and a second tidy-up has nothing left to do.
#[tokio::test]
async fn sqlite_search_index_tidy_merges_segments_and_keeps_every_match() {
    use rapport::contacts::search_index::tidy;
    use rapport::contacts::storage::{ContactListItem, Search, list};
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    insert_org(&pool, 1).await;
    let mut names = Vec::new();
    for t in 0..60 {
        let mut tx = pool.begin().await.unwrap();
        for i in 0..40 {
            let n = t * 40 + i;
            let surname = if n % 3 == 0 { "Smith" } else { "Jones" };
            let name = format!("{} {surname}", (n * 7919) % 10_000);
            insert_contact(&mut *tx, 1, &name).await;
            names.push(name);
        }
        tx.commit().await.unwrap();
    }
    // FTS5's data rows are numbered (segment id << 37) + page (fts5Int.h, FTS5_SEGMENT_ROWID);
    // rows below 1 << 37 are the index's structure and averages, not segments.
    let segments = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(DISTINCT id >> 37) FROM contacts_search_data WHERE id >= (1 << 37)",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let search = |term| {
        Some(Search {
            term,
            org_contacts: 2_400,
        })
    };
    let names_of =
        |rows: Vec<ContactListItem>| rows.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let terms = ["smith", "jones", "79 j", "zzz"];
    let mut before = Vec::new();
    {
        let mut pooled = db.acquire().await.unwrap();
        for term in terms {
            before.push(names_of(
                list(&mut pooled.conn(), 1, search(term), None, 51)
                    .await
                    .unwrap(),
            ));
        }
    }
    assert!(
        segments().await > 1,
        "the test needs an index in several segments"
    );

    assert!(tidy(&db).await.unwrap() > 0, "the first tidy-up merges");
    assert_eq!(segments().await, 1);
    assert_eq!(tidy(&db).await.unwrap(), 0, "nothing left to merge");

    let mut pooled = db.acquire().await.unwrap();
    for (term, earlier) in terms.iter().zip(before) {
        let mut expected: Vec<&String> = names
            .iter()
            .filter(|n| n.to_lowercase().contains(term))
            .collect();
        expected.sort_by_key(|n| n.to_lowercase());
        expected.truncate(51);
        let found = names_of(
            list(&mut pooled.conn(), 1, search(term), None, 51)
                .await
                .unwrap(),
        );
        assert_eq!(found, earlier, "{term}: the same page as before the merge");
        assert_eq!(found.iter().collect::<Vec<_>>(), expected, "{term}");
    }
}

/// A write transaction of `Db::write` runs on the node's writer connection in one hand-off:
/// it commits when its work returns `Ok` and leaves nothing behind when it returns `Err` or a
/// statement fails; what it writes, another driver (sqlx's) reads back as it was written; the
/// writer enforces foreign keys and reports unique violations; and it waits for a `Db::begin`
/// transaction (a connection lent to a task) that holds the write turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_write_transactions_commit_roll_back_and_take_turns() {
    use chrono::{DateTime, Utc};
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    let at: DateTime<Utc> = "2026-12-03T12:34:56.789012Z".parse().unwrap();
    let orgs = |pool: sqlx::SqlitePool| async move {
        sqlx::query_as::<_, (i64, String, DateTime<Utc>)>(
            "SELECT id, name, created_at FROM organizations ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };

    let id: i64 = db
        .write(move |mut conn| {
            Box::pin(async move {
                let id = rapport::sql_scalar!(
                    &mut conn,
                    i64,
                    fetch_one,
                    "INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id",
                    "Kept",
                    at
                )?;
                Ok::<_, sqlx::Error>(id)
            })
        })
        .await
        .unwrap();
    assert_eq!(orgs(pool.clone()).await, [(id, "Kept".to_owned(), at)]);

    // Work that fails after writing leaves nothing behind.
    let failed = db
        .write(move |mut conn| {
            Box::pin(async move {
                rapport::sql_execute!(
                    &mut conn,
                    "INSERT INTO organizations (name, created_at) VALUES ('Dropped', $1)",
                    at
                )?;
                Err::<(), _>(sqlx::Error::Protocol("changed my mind".into()))
            })
        })
        .await;
    assert!(failed.is_err());
    // So does a statement that fails: here the foreign key, which the writer enforces.
    let orphan = db
        .write(move |mut conn| {
            Box::pin(async move {
                rapport::sql_execute!(
                    &mut conn,
                    "INSERT INTO organizations (name, created_at) VALUES ('Dropped too', $1)",
                    at
                )?;
                rapport::sql_execute!(
                    &mut conn,
                    "INSERT INTO contacts (org_id, name, sort_key, search_text, created_at, updated_at)
                     VALUES (999999, 'Nobody', 'nobody', 'nobody', $1, $1)",
                    at
                )
            })
        })
        .await;
    assert!(orphan.is_err(), "a contact of no organization is refused");
    assert_eq!(
        orgs(pool.clone()).await.len(),
        1,
        "both failed writes rolled back"
    );

    let duplicate = db
        .write(move |mut conn| {
            Box::pin(async move {
                rapport::sql_execute!(
                    &mut conn,
                    "INSERT INTO organizations (id, name, created_at) VALUES ($1, 'Again', $2)",
                    id,
                    at
                )
            })
        })
        .await
        .unwrap_err();
    assert!(rapport::db::is_unique_violation(&duplicate), "{duplicate}");

    // A `Db::begin` transaction holds the turn: the writer waits for its commit, then sees
    // its row.
    let mut tx = db.begin().await.unwrap();
    rapport::sql_execute!(
        &mut tx.conn(),
        "INSERT INTO organizations (name, created_at) VALUES ('Through a lent connection', $1)",
        at
    )
    .unwrap();
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(|mut conn| {
                Box::pin(async move {
                    rapport::sql_scalar!(
                        &mut conn,
                        i64,
                        fetch_one,
                        "SELECT count(*) FROM organizations"
                    )
                })
            })
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!writer.is_finished(), "the writer waits for the turn");
    tx.commit().await.unwrap();
    assert_eq!(writer.await.unwrap().unwrap(), 2);
}

/// A `Db::begin` transaction on SQLite (a connection lent to the task, its statements sent to
/// the connection's thread one at a time) that is dropped without a commit, as when its request
/// fails or is cancelled half-way, leaves nothing behind, and passes the write turn on only
/// once it has rolled back: the next writer, waiting for it, finds the database free. Errors
/// through a lent connection are SQLite's own (a unique violation is recognized as one), and
/// a connection lent outside a transaction commits each statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_lent_connections_roll_back_what_they_drop_and_report_sqlite_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    let count = |pool: sqlx::SqlitePool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM organizations")
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    let mut tx = db.begin().await.unwrap();
    rapport::sql_execute!(
        &mut tx.conn(),
        "INSERT INTO organizations (id, name, created_at) VALUES (1, 'Dropped', '2026-01-01T00:00:00Z')"
    )
    .unwrap();
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(|mut conn| {
                Box::pin(async move {
                    rapport::sql_execute!(
                        &mut conn,
                        "INSERT INTO organizations (id, name, created_at) VALUES (1, 'Kept', '2026-01-01T00:00:00Z')"
                    )
                })
            })
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!writer.is_finished(), "the writer waits for the turn");
    drop(tx);
    assert_eq!(
        writer.await.unwrap().unwrap(),
        1,
        "the same id was free again"
    );
    let name: String = sqlx::query_scalar("SELECT name FROM organizations WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Kept");

    // Outside a transaction each statement stands on its own, and SQLite's errors come back
    // as SQLite gave them.
    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    rapport::sql_execute!(
        &mut conn,
        "INSERT INTO organizations (id, name, created_at) VALUES (2, 'Second', '2026-01-01T00:00:00Z')"
    )
    .unwrap();
    let duplicate = rapport::sql_execute!(
        &mut conn,
        "INSERT INTO organizations (id, name, created_at) VALUES (2, 'Again', '2026-01-01T00:00:00Z')"
    )
    .unwrap_err();
    assert!(rapport::db::is_unique_violation(&duplicate), "{duplicate}");
    let missing = rapport::sql_scalar!(
        &mut conn,
        String,
        fetch_one,
        "SELECT name FROM organizations WHERE id = $1",
        99_i64
    )
    .unwrap_err();
    assert!(matches!(missing, sqlx::Error::RowNotFound), "{missing}");
    drop(pooled);
    assert_eq!(count(pool.clone()).await, 2);
}

/// Reads run on the node's own SQLite read connections (`Db::read`), not through sqlx: they
/// see what sqlx committed, compare timestamps in the text sqlx wrote, bind `$N` by number
/// whatever the order in the SQL, and cannot write.
#[tokio::test]
async fn sqlite_reads_see_what_sqlx_wrote_and_cannot_write() {
    use chrono::{DateTime, Utc};
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    let at: DateTime<Utc> = "2026-11-29T12:34:56.789012Z".parse().unwrap();
    sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (1, 'Org', $1)")
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();

    let (same, before_next, read_back, swapped) = db
        .read(move |mut conn| {
            Box::pin(async move {
                let same = rapport::sql_scalar!(
                    &mut conn,
                    i64,
                    fetch_one,
                    "SELECT count(*) FROM organizations WHERE created_at = $1",
                    at
                )?;
                let before_next = rapport::sql_scalar!(
                    &mut conn,
                    i64,
                    fetch_one,
                    "SELECT count(*) FROM organizations WHERE created_at < $1",
                    at + chrono::Duration::microseconds(1)
                )?;
                let read_back = rapport::sql_scalar!(
                    &mut conn,
                    DateTime<Utc>,
                    fetch_one,
                    "SELECT created_at FROM organizations WHERE id = $1",
                    1_i64
                )?;
                let swapped = rapport::sql_scalar!(
                    &mut conn,
                    String,
                    fetch_one,
                    "SELECT $2 || '-' || $1",
                    "first",
                    "second"
                )?;
                Ok((same, before_next, read_back, swapped))
            })
        })
        .await
        .unwrap();
    assert_eq!(same, 1, "a bound timestamp is stored text's equal");
    assert_eq!(before_next, 1);
    assert_eq!(read_back, at);
    assert_eq!(swapped, "second-first");

    let write = db
        .read(|mut conn| {
            Box::pin(async move { rapport::sql_execute!(&mut conn, "DELETE FROM organizations") })
        })
        .await;
    assert!(write.is_err(), "a read connection refuses writes");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 1);

    // A read sees a commit made just before it, on any of the read connections.
    sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (2, 'Org', $1)")
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    let counts = futures::future::join_all((0..8).map(|_| {
        db.read(|mut conn| {
            Box::pin(async move {
                rapport::sql_scalar!(
                    &mut conn,
                    i64,
                    fetch_one,
                    "SELECT count(*) FROM organizations"
                )
            })
        })
    }))
    .await;
    assert!(counts.into_iter().all(|n| n.unwrap() == 2));
}

both_databases!(
    search_pages_match_filtering_by_hand_for_common_and_rare_terms,
    |app: TestApp| async move {
        // Keep the whole app (and its data directory) alive, not just the fields used below.
        let app = app;
        use rapport::contacts::storage::{ContactListItem, Cursor, Search, count, list};
        // 25,000 contacts with six-digit names in scrambled order. Smith: every tenth (common:
        // SQLite walks the name order). Jones: ~1 in 83, and Zed: ~360, all in the last tenth
        // of name order (SQLite's trigram index). PostgreSQL's planner picks its own way for
        // each. Organization 2 has the same names and must never show.
        fn surname(g: i64) -> &'static str {
            if (g * 7919) % 100_000 >= 90_000 && g % 7 == 0 {
                "Zed"
            } else if g % 10 == 0 {
                "Smith"
            } else if g % 83 == 0 {
                "Jones"
            } else {
                "Other"
            }
        }
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        let mut orgs = Vec::new();
        for (name, size) in [("Big Org", 25_000_i64), ("Other Org", 2_000)] {
            let org = rapport::accounts::storage::insert_organization(&mut tx.conn(), name, now)
                .await
                .unwrap();
            rapport::sql_execute!(
                &mut tx.conn(),
                "INSERT INTO contacts (org_id, name, sort_key, search_text, created_at, updated_at)
                 WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $2),
                 n(name) AS (
                     SELECT CAST(100000 + (x * 7919) % 100000 AS TEXT) || ' ' ||
                            CASE WHEN (x * 7919) % 100000 >= 90000 AND x % 7 = 0 THEN 'Zed'
                                 WHEN x % 10 = 0 THEN 'Smith'
                                 WHEN x % 83 = 0 THEN 'Jones'
                                 ELSE 'Other' END
                     FROM g)
                 SELECT $1, name, lower(name), lower(name), $3, $3 FROM n",
                org,
                size,
                now
            )
            .unwrap();
            orgs.push(org);
        }
        tx.commit().await.unwrap();
        let mine: Vec<String> = (1..=25_000_i64)
            .map(|g| format!("{} {}", 100_000 + (g * 7919) % 100_000, surname(g)))
            .collect();

        let org = orgs[0];
        let page = |term: &'static str, after: Option<Cursor>| {
            let db = app.state.db.clone();
            async move {
                // As the contacts page reads it.
                db.read(move |mut conn| {
                    Box::pin(async move {
                        let total = count(&mut conn, org).await?;
                        let search = Some(Search {
                            term,
                            org_contacts: total,
                        });
                        list(&mut conn, org, search, after.as_ref(), 51).await
                    })
                })
                .await
                .unwrap()
            }
        };
        let names = |rows: &[ContactListItem]| rows.iter().map(|c| c.name.clone()).collect();
        for term in ["smith", "jones", "zed", "SMITH", "0 zed", "zzz"] {
            let mut expected: Vec<String> = mine
                .iter()
                .filter(|n| n.to_lowercase().contains(&term.to_lowercase()))
                .cloned()
                .collect();
            expected.sort();
            let first = page(term, None).await;
            let got: Vec<String> = names(&first);
            assert_eq!(got, expected[..51.min(expected.len())], "{term}");
            if expected.len() > 51 {
                let last = first.last().unwrap();
                let cursor = Cursor {
                    sort_key: last.sort_key.clone(),
                    id: last.id,
                };
                let second: Vec<String> = names(&page(term, Some(cursor)).await);
                assert_eq!(
                    second,
                    expected[51..102.min(expected.len())],
                    "{term}, second page"
                );
            }
        }
    }
);

// A large organization's search pages follow name order across first characters (punctuation,
// digits, letters, beyond ASCII) on the path each database takes for it (SQLite: buckets in its
// trigram index; PostgreSQL: first-character groups, then the rest), through renames across
// groups and deletions, and never show another organization's contacts.
both_databases!(
    search_pages_in_name_order_across_first_characters,
    |app: TestApp| async move {
        let app = app;
        use crate::kit::{contact_named, insert_organizations};
        use rapport::contacts::storage::{delete, first_character_level, insert, update};
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        let orgs = insert_organizations(&mut tx.conn(), &["Mine", "Theirs"], now).await;
        let mut mine: Vec<(i64, String)> = Vec::new();
        for i in 0..1_200_usize {
            let name = name_of_every_kind(i);
            let data = contact_named(name.clone());
            let id = insert(&mut tx.conn(), orgs[0], None, &data, now)
                .await
                .unwrap();
            mine.push((id, name));
            if i % 4 == 0 {
                insert(&mut tx.conn(), orgs[1], None, &data, now)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();

        let check = |mine: Vec<(i64, String)>| {
            let db = app.state.db.clone();
            let which = app.db;
            let org = orgs[0];
            async move {
                let mut pooled = db.acquire().await.unwrap();
                let mut conn = pooled.conn();
                if matches!(which, Db::Postgres) {
                    // Names compare by code point whatever the database's collation, as the
                    // groups' order assumes (the test server's default is C.UTF-8 anyway).
                    let collation: Option<String> = rapport::sql_scalar!(
                        &mut conn,
                        Option<String>,
                        fetch_one,
                        "SELECT collation_name::text FROM information_schema.columns
                         WHERE table_name = 'contacts' AND column_name = 'sort_key'"
                    )
                    .unwrap();
                    assert_eq!(collation.as_deref(), Some("C"));
                    // The group PostgreSQL stored for each name is the one the search asks for.
                    let groups: Vec<(i64, String, i64)> = rapport::sql_as!(
                        &mut conn,
                        (i64, String, i64),
                        fetch_all,
                        "SELECT id, sort_key, search_group FROM contacts WHERE org_id = $1",
                        org
                    )
                    .unwrap();
                    assert_eq!(groups.len(), mine.len());
                    for (id, key, group) in groups {
                        assert_eq!(
                            group,
                            org * 32 + first_character_level(&key),
                            "{id} {key:?}"
                        );
                    }
                }
                let terms = [
                    "smith", "ann", "ANN", "max", "本 ", "o'b", "007", "zzz", "an", "{br", "_un",
                    "émi", "über", "a s",
                ];
                // The organization's real count, and a count of a million (what a large
                // organization passes), which takes the path under test.
                for (term, org_contacts) in terms
                    .into_iter()
                    .flat_map(|term| [(term, mine.len() as i64), (term, 1_000_000)])
                {
                    assert_eq!(
                        every_page_of(&mut conn, org, term, org_contacts).await,
                        matching_by_hand(&mine, term),
                        "{term} ({org_contacts} contacts): every page, in name order"
                    );
                }
            }
        };
        check(mine.clone()).await;

        // Renames into other groups (punctuation, digits, letters, beyond ASCII) and deletions.
        let mut renamed = Vec::new();
        let mut pooled = app.state.db.acquire().await.unwrap();
        for (n, (id, name)) in mine.into_iter().enumerate() {
            let new_name = match n % 9 {
                0 => {
                    assert!(delete(&mut pooled.conn(), orgs[0], id).await.unwrap());
                    continue;
                }
                1 => format!("Aa {name}"),
                2 => format!("zz{name}"),
                3 => format!("0{name}"),
                4 => format!("É{name}"),
                5 => format!("!{name}"),
                _ => name,
            };
            let data = contact_named(new_name.clone());
            assert!(
                update(&mut pooled.conn(), orgs[0], id, &data, now)
                    .await
                    .unwrap()
            );
            renamed.push((id, new_name));
        }
        drop(pooled);
        check(renamed).await;
    }
);

/// The first key of each first-character level sorts after every string of a lower level and
/// no later than any string of its own level or a higher one (PostgreSQL's search reads the
/// rest of a large organization's matches from there).
#[test]
fn first_key_of_each_level_bounds_the_levels_below() {
    use rapport::contacts::storage::{first_character_level, first_key_of_level};
    let samples: Vec<String> = (1..0x800_u32)
        .chain([0xFFFD, 0x10000, 0x10FFFF])
        .filter_map(char::from_u32)
        .flat_map(|c| [c.to_string(), format!("{c}\u{10FFFF}"), format!("{c} ")])
        .collect();
    for level in 1..=31 {
        let key = first_key_of_level(level).unwrap();
        assert_eq!(first_character_level(&key), level, "{key:?}");
        for s in &samples {
            let below = first_character_level(s) < level;
            assert_eq!(below, *s < key, "{s:?} against level {level}'s {key:?}");
        }
    }
    assert_eq!(first_key_of_level(32), None);
    assert_eq!(first_key_of_level(0), None);
}

both_databases!(
    contacts_page_count_comes_with_the_rows_and_without_them,
    |app: TestApp| async move {
        use crate::kit::{contact_named, insert_organizations};
        use rapport::contacts::storage::{Cursor, count_and_list, insert};
        let app = app;
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        let orgs = insert_organizations(&mut tx.conn(), &["Mine", "Theirs"], now).await;
        for (org, n) in [(orgs[0], 7), (orgs[1], 3)] {
            for i in 0..n {
                let data = contact_named(format!("Person {i}"));
                insert(&mut tx.conn(), org, None, &data, now).await.unwrap();
            }
        }
        tx.commit().await.unwrap();

        // As the contacts page reads: through Db::read (SQLite's reader threads).
        let page = |term: Option<&'static str>, after: Option<Cursor>| {
            let org = orgs[0];
            app.state.db.read(move |mut conn| {
                Box::pin(
                    async move { count_and_list(&mut conn, org, term, after.as_ref(), 5).await },
                )
            })
        };
        let names = |rows: &[rapport::contacts::storage::ContactListItem]| {
            rows.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
        };
        let (total, first) = page(None, None).await.unwrap();
        assert_eq!(total, 7);
        assert_eq!(
            names(&first),
            ["Person 0", "Person 1", "Person 2", "Person 3", "Person 4"]
        );
        let last = first.last().unwrap();
        let cursor = Cursor {
            sort_key: last.sort_key.clone(),
            id: last.id,
        };
        let (total, rest) = page(None, Some(cursor)).await.unwrap();
        assert_eq!(
            (total, names(&rest)),
            (7, vec!["Person 5".into(), "Person 6".into()])
        );
        // Past the last contact there is no row to carry the count; it is still the count.
        let end = rest.last().unwrap();
        let past = Cursor {
            sort_key: end.sort_key.clone(),
            id: end.id,
        };
        let (total, none) = page(None, Some(past)).await.unwrap();
        assert_eq!((total, none.len()), (7, 0));
        let (total, found) = page(Some("person 6"), None).await.unwrap();
        assert_eq!((total, names(&found)), (7, vec!["Person 6".into()]));
    }
);

// The contact page asks for the contact's unsent messages. The outbox keeps every message ever
// sent, bodies included; without the partial index each contact page read all of it.
both_databases!(
    unsent_messages_of_a_contact_are_found_by_index,
    |app: TestApp| async move {
        let app = app;
        let now = app.state.clock.now();
        let mut tx = app.state.db.begin().await.unwrap();
        let orgs = crate::kit::insert_organizations(&mut tx.conn(), &["Mail Org"], now).await;
        for n in 0..1500 {
            let email = rapport::mail::Email {
                to_address: format!("guest{n}@example.com"),
                to_name: None,
                subject: format!("Message {n}"),
                text_body: "Body ".repeat(200),
                html_body: format!("<p>{}</p>", "Body ".repeat(200)),
                attachments: Vec::new(),
                org_id: Some(orgs[0]),
                contact_id: None,
            };
            rapport::mail::enqueue(&mut tx.conn(), &email, now, 4)
                .await
                .unwrap();
        }
        rapport::sql_execute!(&mut tx.conn(), "UPDATE outbox SET state = 'sent'").unwrap();
        tx.commit().await.unwrap();
        let sql = rapport::mail::UNSENT_FOR_CONTACT
            .replace("$1", &orgs[0].to_string())
            .replace("$2", "1");
        let mut pooled = app.state.db.acquire().await.unwrap();
        let mut conn = pooled.conn();
        rapport::sql_execute!(&mut conn, "ANALYZE").unwrap();
        let plan = query_plan(&mut conn, &sql).await;
        assert!(plan.contains("outbox_unsent_by_contact"), "{plan}");
    }
);

/// Rapport migrates SQLite itself (not through sqlx's SQLite driver) into the same
/// `_sqlx_migrations` records sqlx's migrator keeps: a database sqlx migrated (as every Rapport
/// before did) is taken as up to date, sqlx's migrator takes one Rapport migrated, and a
/// database whose recorded migration differs from the file, or which a newer Rapport
/// migrated, is refused rather than migrated again.
#[tokio::test]
async fn sqlite_migrations_keep_the_records_sqlx_keeps() {
    use rapport::db::migrations::{SQLITE, migrator};
    use sqlx::migrate::MigrateError;

    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    migrator(SQLITE).run(&pool).await.unwrap();
    let recorded = |pool: sqlx::SqlitePool| async move {
        sqlx::query_as::<_, (i64, bool, Vec<u8>)>(
            "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let by_sqlx = recorded(pool.clone()).await;
    assert_eq!(by_sqlx.len(), SQLITE.len());
    db.migrate().await.unwrap();
    assert_eq!(
        recorded(pool.clone()).await,
        by_sqlx,
        "nothing was applied twice"
    );

    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    assert_eq!(
        recorded(pool.clone()).await,
        by_sqlx,
        "the same records as sqlx's"
    );
    migrator(SQLITE).run(&pool).await.unwrap();

    // Each tampering with the records, and the refusal it gets.
    let refused_after = |sql: &'static str| {
        let (db, pool) = (db.clone(), pool.clone());
        async move {
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            db.migrate().await.unwrap_err()
        }
    };
    let err = refused_after("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 3").await;
    assert!(
        matches!(
            err,
            rapport::db::DbError::Migrate(MigrateError::VersionMismatch(3))
        ),
        "{err}"
    );
    let err = refused_after(
        "DELETE FROM _sqlx_migrations WHERE version = 3;
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from a newer Rapport', TRUE, x'00', 1)",
    )
    .await;
    assert!(
        matches!(
            err,
            rapport::db::DbError::Migrate(MigrateError::VersionMissing(9999))
        ),
        "{err}"
    );
}

/// A write transaction whose work panics on the writer thread (a bug, not an error it
/// returns) fails its caller, leaves nothing behind, and does not leave SQLite's write lock
/// held: the next writer, on another connection, gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_write_that_panics_leaves_the_database_free() {
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = sqlite_in(dir.path()).await;
    db.migrate().await.unwrap();
    let failed = db
        .write(|mut conn| {
            Box::pin(async move {
                rapport::sql_execute!(
                    &mut conn,
                    "INSERT INTO organizations (id, name, created_at) VALUES (1, 'Half-done', '2026-01-01T00:00:00Z')"
                )?;
                panic!("a bug in the middle of a write transaction");
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            })
        })
        .await;
    assert!(
        failed.is_err(),
        "the caller of a panicked write got {failed:?}"
    );

    // Without the rollback, this waits out SQLite's busy timeout and fails: "database is
    // locked".
    let mut tx = db.begin().await.unwrap();
    rapport::sql_execute!(
        &mut tx.conn(),
        "INSERT INTO organizations (id, name, created_at) VALUES (1, 'Next', '2026-01-01T00:00:00Z')"
    )
    .unwrap();
    tx.commit().await.unwrap();
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM organizations")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(names, ["Next"]);
}
