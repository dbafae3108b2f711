//! Contacts in the database. Every function takes the organization id: a contact of another
//! organization is simply not found.

use chrono::{DateTime, Utc};

use crate::db::read::{self, Arg};
use crate::db::{Conn, Split, WithLast};
use crate::{sql_as, sql_execute, sql_scalar};

crate::db_row! {
    #[derive(Debug, Clone)]
    pub struct ContactRow {
        pub id: i64,
        pub name: String,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub company: Option<String>,
        pub job_title: Option<String>,
        pub time_zone: Option<String>,
        pub notes: Option<String>,
        pub sort_key: String,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

crate::db_row! {
    /// A contact as a line of the contacts list: what the list shows and its cursor needs.
    /// Reading the other columns too (notes, time zone, two timestamps) was a fifth of the
    /// list's database time.
    #[derive(Debug, Clone)]
    pub struct ContactListItem {
        pub id: i64,
        pub name: String,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub company: Option<String>,
        pub job_title: Option<String>,
        pub sort_key: String,
    }
}

/// A validated contact, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactData {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub time_zone: Option<String>,
    pub notes: Option<String>,
}

impl ContactData {
    /// Lower-cased name, for ordering.
    pub fn sort_key(&self) -> String {
        self.name.to_lowercase()
    }

    /// Lower-cased name, email and company: what search matches against.
    pub fn search_text(&self) -> String {
        let mut text = self.name.to_lowercase();
        for part in [&self.email, &self.company].into_iter().flatten() {
            text.push(' ');
            text.push_str(&part.to_lowercase());
        }
        text
    }
}

/// Puts contacts about to be inserted in one transaction in name order. SQLite's search
/// index keeps a transaction's new entries in memory only while their rowids ascend, and
/// writes them out as a segment of their own whenever one does not; a rowid begins with the
/// name's bucket (migration 0011), so contacts in file or random order wrote up to one
/// segment per contact, for later merges to undo. The order of a batch is not visible: the
/// contacts list is in name order whatever the ids.
pub fn sort_for_bulk_insert<C: std::borrow::Borrow<ContactData>>(contacts: &mut [C]) {
    contacts.sort_by_cached_key(|c| c.borrow().sort_key());
}

pub async fn insert(
    conn: &mut Conn<'_>,
    org_id: i64,
    user_id: Option<i64>,
    data: &ContactData,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_one,
        "INSERT INTO contacts (org_id, name, email, phone, company, job_title, time_zone, notes, sort_key, search_text, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        org_id,
        &data.name,
        data.email.as_deref(),
        data.phone.as_deref(),
        data.company.as_deref(),
        data.job_title.as_deref(),
        data.time_zone.as_deref(),
        data.notes.as_deref(),
        data.sort_key(),
        data.search_text(),
        user_id,
        now
    )
}

/// Contacts one statement of [`insert_many`] inserts: 13 parameters each, far below either
/// database's limit on parameters, and enough that the statement's round trip is shared.
const ROWS_PER_INSERT: usize = 100;

/// Inserts many contacts, in the order given (see [`sort_for_bulk_insert`]), `ROWS_PER_INSERT`
/// to a statement, and returns their ids in no particular order. One statement per contact cost
/// a round trip to the database's thread or server each; a CSV import of 50,000 rows, two
/// statements per row with its activity, took 11–15 s (docs/benchmarks.md).
pub async fn insert_many(
    conn: &mut Conn<'_>,
    org_id: i64,
    user_id: Option<i64>,
    contacts: &[&ContactData],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = Vec::with_capacity(contacts.len());
    for chunk in contacts.chunks(ROWS_PER_INSERT) {
        ids.extend(insert_chunk(conn, org_id, user_id, chunk, now).await?);
    }
    Ok(ids)
}

async fn insert_chunk(
    conn: &mut Conn<'_>,
    org_id: i64,
    user_id: Option<i64>,
    contacts: &[&ContactData],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    // The columns in the order of `insert`'s.
    let values = crate::db::placeholders(conn.backend(), contacts.len(), 13);
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO contacts (org_id, name, email, phone, company, job_title, time_zone, notes, sort_key, search_text, created_by, created_at, updated_at)
         VALUES {values} RETURNING id"
    ));
    #[cfg(feature = "postgres")]
    macro_rules! run {
        ($db:ty, $c:expr) => {{
            // Not cached: see `zoom::storage::record_webhooks`.
            let mut query = sqlx::query_scalar::<$db, i64>(sql).persistent(false);
            for data in contacts {
                query = query
                    .bind(org_id)
                    .bind(&data.name)
                    .bind(data.email.as_deref())
                    .bind(data.phone.as_deref())
                    .bind(data.company.as_deref())
                    .bind(data.job_title.as_deref())
                    .bind(data.time_zone.as_deref())
                    .bind(data.notes.as_deref())
                    .bind(data.sort_key())
                    .bind(data.search_text())
                    .bind(user_id)
                    .bind(now)
                    .bind(now);
            }
            query.fetch_all(&mut *$c).await
        }};
    }
    match conn.split() {
        #[cfg(feature = "postgres")]
        Split::Postgres(c) => run!(sqlx::Postgres, c),
        Split::Sqlite(mut c) => {
            // The arguments cannot be sent between threads: the call copies them, and they
            // are dropped before it is awaited.
            let call = {
                let derived: Vec<(String, String)> = contacts
                    .iter()
                    .map(|data| (data.sort_key(), data.search_text()))
                    .collect();
                let mut args: Vec<&dyn Arg> = Vec::with_capacity(contacts.len() * 13);
                for (data, (sort_key, search_text)) in contacts.iter().zip(&derived) {
                    args.extend([
                        &org_id as &dyn Arg,
                        &data.name,
                        &data.email,
                        &data.phone,
                        &data.company,
                        &data.job_title,
                        &data.time_zone,
                        &data.notes,
                        sort_key,
                        search_text,
                        &user_id,
                        &now,
                        &now,
                    ]);
                }
                c.once_fetch_all_scalar(&sql.0, &args)
            };
            call.await
        }
    }
}

pub async fn update(
    conn: &mut Conn<'_>,
    org_id: i64,
    id: i64,
    data: &ContactData,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sql_execute!(
        conn,
        "UPDATE contacts SET name = $3, email = $4, phone = $5, company = $6, job_title = $7, time_zone = $8, notes = $9,
             sort_key = $10, search_text = $11, updated_at = $12
         WHERE org_id = $1 AND id = $2",
        org_id,
        id,
        &data.name,
        data.email.as_deref(),
        data.phone.as_deref(),
        data.company.as_deref(),
        data.job_title.as_deref(),
        data.time_zone.as_deref(),
        data.notes.as_deref(),
        data.sort_key(),
        data.search_text(),
        now
    )?;
    Ok(n == 1)
}

/// Deletes the contact and the emails addressed to them: a sent message's row keeps the
/// recipient's address, name and subject for the timeline, which goes with the contact; one not
/// yet sent is withdrawn (its job finds no message and ends, `mail::deliver`).
pub async fn delete(conn: &mut Conn<'_>, org_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    sql_execute!(
        conn,
        "DELETE FROM outbox WHERE org_id = $1 AND contact_id = $2",
        org_id,
        id
    )?;
    let n = sql_execute!(
        conn,
        "DELETE FROM contacts WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )?;
    Ok(n == 1)
}

pub async fn get(
    conn: &mut Conn<'_>,
    org_id: i64,
    id: i64,
) -> Result<Option<ContactRow>, sqlx::Error> {
    sql_as!(
        conn,
        ContactRow,
        fetch_optional,
        "SELECT id, name, email, phone, company, job_title, time_zone, notes, sort_key, created_at, updated_at
         FROM contacts WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )
}

/// Where a page of the list starts: after this (sort key, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort_key: String,
    pub id: i64,
}

/// What to search for, and how many contacts the organization has (see [`count`]), which
/// decides how SQLite looks for the matches.
#[derive(Debug, Clone, Copy)]
pub struct Search<'a> {
    pub term: &'a str,
    pub org_contacts: i64,
}

/// One page of contacts in name order, optionally filtered by a substring of name, email or
/// company. Keyset pagination: the query walks the (org_id, sort_key, id) index from the cursor,
/// so page 1,000 costs what page 1 does. The cursor is compared as a row value: PostgreSQL
/// seeks the index to `(sort_key, id) > (…)`, where the equivalent `sort_key > … OR (sort_key =
/// … AND id > …)` made it read the organization's index from the start and filter (10 ms to
/// reach the middle of 60,000 contacts, 0.14 ms with the row value).
pub async fn list(
    conn: &mut Conn<'_>,
    org_id: i64,
    search: Option<Search<'_>>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<ContactListItem>, sqlx::Error> {
    let (after_key, after_id) = match after {
        Some(c) => (c.sort_key.clone(), c.id),
        None => (String::new(), 0),
    };
    match search {
        None => Ok(page_with_count(conn, org_id, &after_key, after_id, limit)
            .await?
            .into_iter()
            .map(|row| row.row)
            .collect()),
        // SQLite: terms of three characters or more go through the trigram index
        // (migrations 0005, 0006 and 0011), so the cost follows the page, not the
        // organization's contacts; unless the term matches so many that walking the contacts
        // in name order finds a page sooner (below). PostgreSQL's planner picks its trigram
        // index (migration 0005) for the LIKE below.
        Some(Search { term: q, .. }) if conn.is_sqlite() && q.chars().count() >= 3 => {
            search_in_buckets(conn, org_id, q, &after_key, after_id, limit).await
        }
        // PostgreSQL, a large organization: the contacts whose names begin like the cursor's
        // first (migration 0008), then the rest.
        Some(Search {
            term: q,
            org_contacts,
        }) if !conn.is_sqlite()
            && q.chars().count() >= 3
            && org_contacts >= BUCKETED_SEARCH_FROM =>
        {
            search_from_first_character(conn, org_id, q, &after_key, after_id, limit).await
        }
        Some(Search { term: q, .. }) => {
            walk_in_name_order(conn, org_id, q, &after_key, after_id, limit).await
        }
    }
}

/// SQLite's search: the organization's matches of `q` after the cursor, read from the trigram
/// index in rowid order, which is bucket order (migration 0011), and only up to the end of
/// the bucket the page ends in: no contact of a later bucket sorts before that bucket's
/// (`search_bucket`). The matches are tested against the cursor on the
/// (search_rowid, org_id, sort_key, id) index, sorted here, and only the page's rows are read.
/// On the reader threads the matches are read one at a time and the scan stops at the
/// bucket's end; the same statement on any other connection (a lent one, PostgreSQL's is
/// another statement) reads them all, up to the limit below. (This was two statements scanning the same matches, one to find the page's
/// last bucket and one to read up to it: by hand 0.96 ms for a page this finds in 0.50 at
/// 100,000 contacts, docs/benchmarks.md.)
async fn search_in_buckets(
    conn: &mut Conn<'_>,
    org_id: i64,
    q: &str,
    after_key: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ContactListItem>, sqlx::Error> {
    // CROSS JOIN fixes the order: the matches first, then their index entries (left to
    // itself SQLite walked the organization's name index and probed the matches for each
    // contact). FTS5 returns its matches in rowid order, so no sort happens here.
    const MATCHES: &str = "SELECT s.rowid, k.id, k.sort_key
         FROM contacts_search AS s
         CROSS JOIN contacts AS k INDEXED BY contacts_search_rowid ON k.search_rowid = s.rowid
         WHERE s.contacts_search MATCH $5 AND s.rowid BETWEEN $6 AND $7
           AND k.org_id = $1 AND (k.sort_key, k.id) > ($2, $3)
         ORDER BY s.rowid LIMIT $4";
    let phrase = format!("\"{}\"", q.to_lowercase().replace('"', "\"\""));
    // The organization's entries from the bucket of the cursor's name: every contact after
    // the cursor is in that bucket or a later one.
    let org_rowids = org_id << SEARCH_ORG_SHIFT;
    let first_rowid = org_rowids | (search_bucket(after_key) << SEARCH_BUCKET_SHIFT);
    let org_last_rowid = org_rowids | ((1 << SEARCH_ORG_SHIFT) - 1);
    let mut matches = PageMatches::new(limit);
    match conn {
        Conn::SqliteDirect(c) => read::for_each::<(i64, i64, String)>(
            c,
            MATCHES,
            &[
                &org_id,
                &after_key,
                &after_id,
                &COMMON_TERM_MATCHES,
                &phrase,
                &first_rowid,
                &org_last_rowid,
            ],
            |(rowid, id, sort_key)| matches.push(rowid, id, sort_key),
        )?,
        _ => {
            let all = sql_as!(
                conn,
                (i64, i64, String),
                fetch_all,
                MATCHES,
                org_id,
                after_key,
                after_id,
                COMMON_TERM_MATCHES,
                &phrase,
                first_rowid,
                org_last_rowid
            )?;
            for (rowid, id, sort_key) in all {
                if !matches.push(rowid, id, sort_key) {
                    break;
                }
            }
        }
    }
    if matches.common() {
        return walk_in_name_order(conn, org_id, q, after_key, after_id, limit).await;
    }
    let ids = matches.page_ids();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(&ids).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sql_as!(
        conn,
        ContactListItem,
        fetch_all,
        "SELECT id, name, email, phone, company, job_title, sort_key
         FROM contacts WHERE id IN (SELECT value FROM json_each($1))
         ORDER BY sort_key, id",
        &ids
    )
}

/// The matches a SQLite search has read, in rowid order, and when to stop reading.
struct PageMatches {
    limit: usize,
    /// (sort key, contact id) of each match.
    found: Vec<(String, i64)>,
    /// The last rowid of the bucket holding the `limit`-th match, once there is one.
    bucket_end: Option<i64>,
}

impl PageMatches {
    fn new(limit: i64) -> PageMatches {
        PageMatches {
            limit: usize::try_from(limit).unwrap_or(0),
            found: Vec::new(),
            bucket_end: None,
        }
    }

    /// Takes the next match; false once nothing after it can be on the page.
    fn push(&mut self, rowid: i64, id: i64, sort_key: String) -> bool {
        if self.bucket_end.is_some_and(|end| rowid > end) {
            return false;
        }
        self.found.push((sort_key, id));
        if self.found.len() == self.limit {
            self.bucket_end = Some(rowid | SEARCH_BUCKET_END);
        }
        !self.common()
    }

    /// So many matches before the page's end that walking the contacts in name order is
    /// quicker (names all beginning alike, or beyond ASCII, share a bucket).
    fn common(&self) -> bool {
        self.found.len() as i64 >= COMMON_TERM_MATCHES
    }

    /// The page's contacts, in name order (sort keys compare by their bytes, as SQLite's
    /// default collation does).
    fn page_ids(mut self) -> Vec<i64> {
        self.found.sort_unstable();
        self.found.truncate(self.limit);
        self.found.into_iter().map(|(_, id)| id).collect()
    }
}

/// PostgreSQL's search in a large organization. Its trigram index returns every match of a
/// term in no order, so a page of a common surname read and sorted all of them (5,500 rows at
/// 1,000,000 contacts). Here the page is first looked for among the contacts whose first
/// character has the level of the next contact after the cursor (migration 0008's
/// `search_group`, one equality in the GIN index: the planner kept a range or a list of groups
/// out of the index and read every match): the levels before 'a' (punctuation, digits) one by
/// one, then the letter. Only when those run out are the rest of the matches read, from the
/// next level on. Sort keys compare by code point on PostgreSQL too (0008), so no contact of a
/// later level sorts before one of an earlier level.
async fn search_from_first_character(
    conn: &mut Conn<'_>,
    org_id: i64,
    q: &str,
    after_key: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ContactListItem>, sqlx::Error> {
    let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
    let mut page: Vec<ContactListItem> = Vec::new();
    // The groups before the next contact's are empty: one probe of the name-order index finds
    // where to start, where the groups before 'a' (seldom used) cost a statement each.
    let next_key = sql_scalar!(
        conn,
        String,
        fetch_optional,
        "SELECT sort_key FROM contacts
         WHERE org_id = $1 AND (sort_key, id) > ($2, $3)
         ORDER BY sort_key, id LIMIT 1",
        org_id,
        after_key,
        after_id
    )?;
    let Some(next_key) = next_key else {
        return Ok(page);
    };
    // Level 0 is the empty name, which validation refuses.
    let mut level = first_character_level(&next_key).max(1);
    loop {
        let rows = sql_as!(
            conn,
            ContactListItem,
            fetch_all,
            "SELECT id, name, email, phone, company, job_title, sort_key
             FROM contacts
             WHERE search_group = $1 AND search_text LIKE $2 ESCAPE '\\'
               AND (sort_key, id) > ($3, $4)
             ORDER BY sort_key, id LIMIT $5",
            org_id * SEARCH_GROUPS + level,
            &pattern,
            after_key,
            after_id,
            limit - page.len() as i64
        )?;
        page.extend(rows);
        let Some(next) = first_key_of_level(level + 1) else {
            return Ok(page);
        };
        if page.len() as i64 >= limit {
            return Ok(page);
        }
        if level >= FIRST_LETTER_LEVEL {
            // Every contact from `next` on sorts after the cursor. The matches there are read
            // whole (MATERIALIZED) and sorted: left to itself, the planner walked the name-order
            // index for a term whose matches all sort late (a first name, Martin: 656 ms through
            // the half a million contacts from 'b' to 'm' of a 1M-contact organization; read
            // whole, its thousand matches took 9 ms).
            let rest = sql_as!(
                conn,
                ContactListItem,
                fetch_all,
                "WITH m AS MATERIALIZED (
                     SELECT id, name, email, phone, company, job_title, sort_key
                     FROM contacts
                     WHERE org_id = $1 AND search_text LIKE $2 ESCAPE '\\' AND sort_key >= $3)
                 SELECT id, name, email, phone, company, job_title, sort_key
                 FROM m ORDER BY sort_key, id LIMIT $4",
                org_id,
                &pattern,
                &next,
                limit - page.len() as i64
            )?;
            page.extend(rest);
            return Ok(page);
        }
        level += 1;
    }
}

/// How many contacts the organization has ([`count`]) and a page of [`list`], for the contacts
/// page. Without a search the count comes with the page's rows, in one statement: on
/// PostgreSQL every statement is a round trip to the server, and the page made three (the
/// session, the count, the rows). A search needs the count first: it decides SQLite's plan.
pub async fn count_and_list(
    conn: &mut Conn<'_>,
    org_id: i64,
    term: Option<&str>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(i64, Vec<ContactListItem>), sqlx::Error> {
    let Some(term) = term else {
        let (after_key, after_id) = match after {
            Some(c) => (c.sort_key.as_str(), c.id),
            None => ("", 0),
        };
        let rows = page_with_count(conn, org_id, after_key, after_id, limit).await?;
        let total = match rows.first() {
            Some(row) => row.last,
            // No contact after the cursor: the count still has to be shown.
            None => count(conn, org_id).await?,
        };
        return Ok((total, rows.into_iter().map(|row| row.row).collect()));
    };
    let total = count(conn, org_id).await?;
    let search = Search {
        term,
        org_contacts: total,
    };
    let page = list(conn, org_id, Some(search), after, limit).await?;
    Ok((total, page))
}

/// A page of the organization's contacts in name order from the cursor, each row with the
/// organization's contact count as its last column.
async fn page_with_count(
    conn: &mut Conn<'_>,
    org_id: i64,
    after_key: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<WithLast<ContactListItem, i64>>, sqlx::Error> {
    sql_as!(
        conn,
        WithLast<ContactListItem, i64>,
        fetch_all,
        "SELECT id, name, email, phone, company, job_title, sort_key,
                (SELECT contact_count FROM organizations WHERE id = $1) AS total
         FROM contacts
         WHERE org_id = $1 AND (sort_key, id) > ($2, $3)
         ORDER BY sort_key, id LIMIT $4",
        org_id,
        after_key,
        after_id,
        limit
    )
}

/// From this many matches before the page's end, a SQLite search walks the contacts in name
/// order instead of sorting its matches. The trigram path reads those matches and sorts them,
/// so its cost grows with their number; the walk tests index entries until the page is full,
/// so its cost is the page size divided by the share of contacts that match. A term with this
/// many matches is common enough that the walk fills a page within a few thousand entries in
/// an organization of up to a million contacts (benchmark growth table, docs/benchmarks.md).
const COMMON_TERM_MATCHES: i64 = 2_000;

/// From this many contacts, a PostgreSQL search looks for its page among the contacts whose
/// names begin like the cursor's first ([`search_from_first_character`]). In a smaller
/// organization a term has a page or two of matches, and reading them all in one statement
/// is cheaper than a statement per group.
const BUCKETED_SEARCH_FROM: i64 = 20_000;

/// Where a contact's entry sits in SQLite's search index (migration 0011): rowid = org_id <<
/// 40 | bucket << 25 | the contact's number in its organization.
const SEARCH_ORG_SHIFT: u32 = 40;
const SEARCH_BUCKET_SHIFT: u32 = 25;
/// A bucket's last rowid, relative to its first: every contact number bit set.
const SEARCH_BUCKET_END: i64 = (1 << SEARCH_BUCKET_SHIFT) - 1;

/// PostgreSQL's `search_group` (migration 0008): org_id * SEARCH_GROUPS + the level of the
/// name's first character, as [`search_bucket`] counts levels.
const SEARCH_GROUPS: i64 = 32;
/// The level of 'a': the levels below it are punctuation and digits.
const FIRST_LETTER_LEVEL: i64 = 4;

/// The level of a sort key's first character, 0 (empty) to 31 (beyond ASCII).
pub fn first_character_level(sort_key: &str) -> i64 {
    search_bucket(sort_key) >> (2 * 5)
}

/// The smallest sort key whose first character has this level, if there is such a level.
pub fn first_key_of_level(level: i64) -> Option<String> {
    let first = match level {
        1 => '\u{1}',
        2 => '0',
        3 => ':',
        4..=29 => char::from(b'a' + u8::try_from(level - 4).ok()?),
        30 => '{',
        31 => '\u{80}',
        _ => return None,
    };
    Some(first.to_string())
}

/// The bucket of a sort key in SQLite's search index, as migration 0011's `search_rowid`
/// computes it: five bits for each of the first three characters, from a map that never puts
/// a later character in a lower level. Only a-z have a level each; after the first character
/// that shares its level with others, the rest count as none. So a name that sorts first
/// never has a higher bucket.
pub fn search_bucket(sort_key: &str) -> i64 {
    let mut chars = sort_key.chars();
    let mut distinct = true;
    (0..3).fold(0, |bucket, _| {
        let level = match chars.next().map(u32::from) {
            _ if !distinct => 0,
            None => 0,
            Some(c) if c < u32::from('0') => 1,
            Some(c) if c <= u32::from('9') => 2,
            Some(c) if c < u32::from('a') => 3,
            Some(c) if c <= u32::from('z') => i64::from(c) - 93,
            Some(c) if c < 128 => 30,
            Some(_) => 31,
        };
        distinct = (4..=29).contains(&level);
        (bucket << 5) | level
    })
}

/// The organization's contacts in name order whose search text contains `q`, from the cursor.
/// SQLite tests `search_text` in the name-order index (migration 0007) and reads a row only
/// for a match; PostgreSQL uses its trigram index (migration 0005). Here the cursor stays in
/// its `OR` form: as a row value it is an index bound, and PostgreSQL's planner then preferred
/// walking the name-order index and reading each contact's row for every term, rare ones too
/// (full run: searches at 100,000 contacts 559 -> 201/s, p99 691 ms).
async fn walk_in_name_order(
    conn: &mut Conn<'_>,
    org_id: i64,
    q: &str,
    after_key: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ContactListItem>, sqlx::Error> {
    let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
    sql_as!(
        conn,
        ContactListItem,
        fetch_all,
        "SELECT id, name, email, phone, company, job_title, sort_key
         FROM contacts
         WHERE org_id = $1 AND search_text LIKE $5 ESCAPE '\\'
           AND (sort_key > $2 OR (sort_key = $2 AND id > $3))
         ORDER BY sort_key, id LIMIT $4",
        org_id,
        after_key,
        after_id,
        limit,
        pattern
    )
}

/// Every column of a page of the organization's contacts in name order, from the cursor: for
/// the CSV export.
pub async fn export_page(
    conn: &mut Conn<'_>,
    org_id: i64,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<ContactRow>, sqlx::Error> {
    let (after_key, after_id) = match after {
        Some(c) => (c.sort_key.as_str(), c.id),
        None => ("", 0),
    };
    sql_as!(
        conn,
        ContactRow,
        fetch_all,
        "SELECT id, name, email, phone, company, job_title, time_zone, notes, sort_key, created_at, updated_at
         FROM contacts
         WHERE org_id = $1 AND (sort_key, id) > ($2, $3)
         ORDER BY sort_key, id LIMIT $4",
        org_id,
        after_key,
        after_id,
        limit
    )
}

/// How many contacts the organization has: a counter kept by triggers (migration 0005), so
/// the contacts page does not count 1,000,000 rows on every view.
pub async fn count(conn: &mut Conn<'_>, org_id: i64) -> Result<i64, sqlx::Error> {
    sql_scalar!(
        conn,
        i64,
        fetch_one,
        "SELECT contact_count FROM organizations WHERE id = $1",
        org_id
    )
}

/// `%`, `_` and `\` typed by the user match themselves.
pub fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
