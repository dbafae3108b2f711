//! The one-shot commands: `rapport user add`, `flags`, `secrets rotate`, `dev seed` and `dev mail`.

use fake::Fake;
use fake::faker::company::en::{CompanyName, Profession};
use fake::faker::name::en::{FirstName, LastName};
use fake::faker::phone_number::en::PhoneNumber;
use rand::Rng;

use crate::accounts::storage::{self as accounts_storage, NewUser, Role, TokenPurpose};
use crate::app::AppState;
use crate::contacts::storage::{self as contacts_storage, ContactData};
use crate::domain;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("a user with this email already exists")]
    UserExists,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

async fn org_id_for(state: &AppState, name: &str) -> Result<(i64, bool), CommandError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let found = accounts_storage::find_organization_by_name(&mut tx.conn(), name).await?;
    let result = match found {
        Some(id) => (id, false),
        None => (
            accounts_storage::insert_organization(&mut tx.conn(), name, now).await?,
            true,
        ),
    };
    tx.commit().await?;
    Ok(result)
}

/// Adds a user and queues the email with their link to set a password.
pub async fn add_user(
    state: &AppState,
    args: &crate::cli::UserAddArgs,
) -> Result<String, CommandError> {
    let invalid = |field, message| CommandError::Invalid { field, message };
    let org =
        domain::required_text(&args.org, "Organization", 100).map_err(|m| invalid("--org", m))?;
    let email = domain::email(&args.email).map_err(|m| invalid("--email", m))?;
    let name = domain::required_text(&args.name, "Name", 100).map_err(|m| invalid("--name", m))?;
    let tz = domain::time_zone(&args.time_zone).map_err(|m| invalid("--time-zone", m))?;
    let (org_id, created) = org_id_for(state, &org).await?;
    let role = if created || args.owner {
        Role::Owner
    } else {
        Role::Member
    };
    let now = state.clock.now();
    let token = crate::crypto::random_token();
    let mut tx = state.db.begin().await?;
    let user_id = accounts_storage::insert_user(
        &mut tx.conn(),
        NewUser {
            org_id,
            email: &email,
            name: &name,
            password_hash: None,
            role,
            time_zone: tz.name(),
        },
        now,
    )
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            CommandError::UserExists
        } else {
            e.into()
        }
    })?;
    accounts_storage::insert_password_token(
        &mut tx.conn(),
        &crate::crypto::hash_token(&token),
        user_id,
        TokenPurpose::Invite,
        now,
        now + crate::accounts::INVITE_LINK_LIFETIME,
    )
    .await?;
    let link = state.config.url_for(&format!("/set-password/{token}"));
    let message = crate::mail::templates::invite(&crate::mail::templates::Invite {
        to_email: &email,
        name: &name,
        inviter: "Your administrator",
        org_name: &org,
        org_id,
        link: &link,
        days: crate::accounts::INVITE_LINK_LIFETIME.num_days(),
    })
    .map_err(|e| CommandError::Other(e.to_string()))?;
    crate::mail::enqueue(&mut tx.conn(), &message, now, state.config.job_max_attempts).await?;
    tx.commit().await?;
    Ok(format!(
        "Added {name} <{email}> to {org} as {}. An email with a link to set a password is queued; it is sent by `rapport serve`.",
        role.as_str()
    ))
}

/// `rapport flags set`.
pub async fn set_flag(
    state: &AppState,
    args: &crate::cli::FlagSetArgs,
) -> Result<String, CommandError> {
    use crate::flags::{self, Change};
    if !flags::KNOWN.contains(&args.name.as_str()) {
        return Err(CommandError::Invalid {
            field: "NAME",
            message: format!("unknown flag; known flags: {}", flags::KNOWN.join(", ")),
        });
    }
    let mut tx = state.db.begin().await?;
    let change = if args.off {
        Change::Off
    } else if args.all {
        Change::All
    } else if let Some(org) = &args.org {
        let id = accounts_storage::find_organization_by_name(&mut tx.conn(), org)
            .await?
            .ok_or_else(|| CommandError::Invalid {
                field: "--org",
                message: format!("no organization is named {org:?}"),
            })?;
        Change::AddOrg(id)
    } else if let Some(email) = &args.user {
        let (user, _) =
            accounts_storage::find_user_by_email(&mut tx.conn(), &email.trim().to_lowercase())
                .await?
                .ok_or_else(|| CommandError::Invalid {
                    field: "--user",
                    message: format!("no user has the email {email:?}"),
                })?;
        Change::AddUser(user.id)
    } else {
        return Err(CommandError::Invalid {
            field: "NAME",
            message: "say --org, --user, --all or --off".into(),
        });
    };
    flags::set(&mut tx.conn(), &args.name, change, state.clock.now()).await?;
    let description = flags::describe(&mut tx.conn(), &args.name).await?;
    tx.commit().await?;
    Ok(description)
}

pub async fn show_flags(state: &AppState) -> Result<String, CommandError> {
    let mut pooled = state.db.acquire().await?;
    let mut lines = Vec::new();
    for name in crate::flags::KNOWN {
        lines.push(crate::flags::describe(&mut pooled.conn(), name).await?);
    }
    Ok(lines.join("\n"))
}

/// `rapport secrets rotate`: re-seals every stored token under the current key.
pub async fn rotate_secrets(state: &AppState) -> Result<String, CommandError> {
    use crate::zoom::tokens::{access_context, refresh_context};
    let vault = &state.zoom.vault;
    let mut tx = state.db.begin().await?;
    let rows = crate::sql_as!(
        &mut tx.conn(),
        (i64, i64, String, String, i64),
        fetch_all,
        "SELECT id, user_id, access_token, refresh_token, version FROM connections"
    )?;
    let mut rotated = 0;
    let mut refreshed_meanwhile = 0;
    for (id, user_id, access, refresh, version) in &rows {
        if !vault.is_stale(access) && !vault.is_stale(refresh) {
            continue;
        }
        let open = |sealed: &str, ctx: &str| {
            vault
                .open(sealed, ctx)
                .map_err(|e| CommandError::Other(format!("connection {id}: {e}")))
        };
        let a = open(access, &access_context(*user_id))?;
        let r = open(refresh, &refresh_context(*user_id))?;
        let new_access = vault.seal(
            secrecy::ExposeSecret::expose_secret(&a),
            &access_context(*user_id),
        );
        let new_refresh = vault.seal(
            secrecy::ExposeSecret::expose_secret(&r),
            &refresh_context(*user_id),
        );
        // Fenced by the version the tokens were read at, and without moving it: a node that is
        // refreshing this connection right now stores its new tokens against that version, and
        // they must win. Written blindly, the rotation would put back a refresh token Zoom has
        // just retired (PostgreSQL: the refresh committed after the SELECT), or the refresh's
        // fenced write would find the version moved and drop the new tokens.
        let updated = crate::sql_execute!(
            &mut tx.conn(),
            "UPDATE connections SET access_token = $2, refresh_token = $3 WHERE id = $1 AND version = $4",
            id,
            new_access,
            new_refresh,
            version
        )?;
        if updated == 1 {
            rotated += 1;
        } else {
            refreshed_meanwhile += 1;
        }
    }
    tx.commit().await?;
    let mut report = format!(
        "Re-encrypted {rotated} of {} connections with key {}. Values sealed for pending jobs are re-read with the previous key until they run; keep RAPPORT_SECRET_KEY_PREVIOUS until the job queue is empty.",
        rows.len(),
        vault.key_id()
    );
    if refreshed_meanwhile > 0 {
        report.push_str(&format!(
            " {refreshed_meanwhile} connection(s) refreshed their tokens while this ran and kept the new ones; run the command again to check they are sealed with the current key."
        ));
    }
    Ok(report)
}

const ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Africa/Lagos",
];

/// One fake but plausible contact.
pub fn fake_contact(rng: &mut impl Rng, n: u64) -> ContactData {
    let first: String = FirstName().fake();
    let last: String = LastName().fake();
    let company: String = CompanyName().fake();
    let domain_part: String = company
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let email = format!(
        "{}.{}{}@{}.example",
        first.to_lowercase(),
        last.to_lowercase(),
        n,
        if domain_part.is_empty() {
            "mail".into()
        } else {
            domain_part
        }
    )
    .chars()
    .filter(|c| c.is_ascii_alphanumeric() || "@.-_".contains(*c))
    .collect();
    let phone: String = PhoneNumber().fake();
    let phone = domain::optional_phone(&phone).ok().flatten();
    ContactData {
        name: format!("{first} {last}"),
        email: Some(email),
        phone,
        company: Some(company),
        job_title: Some(Profession().fake()),
        time_zone: Some(ZONES[rng.gen_range(0..ZONES.len())].to_owned()),
        notes: None,
    }
}

/// Adds `count` fake contacts, committing every `per_transaction` so progress survives an
/// interruption. On SQLite a commit writes every page the transaction changed to the WAL, and
/// the search index's pages change with nearly every contact: 100,000 contacts took 9.7 s
/// committed every 1,000 and 6.0 s every 10,000 (the CLI's default), most of the difference
/// the kernel's time writing the WAL (docs/benchmarks.md).
pub async fn seed_contacts(
    state: &AppState,
    org: &str,
    count: u64,
    per_transaction: u64,
) -> Result<u64, CommandError> {
    let (org_id, _) = org_id_for(state, org).await?;
    let mut rng = rand::thread_rng();
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(per_transaction.max(1));
        let now = state.clock.now();
        let mut contacts: Vec<ContactData> = (0..batch)
            .map(|i| fake_contact(&mut rng, done + i))
            .collect();
        contacts_storage::sort_for_bulk_insert(&mut contacts);
        state
            .db
            .write(move |mut conn| {
                Box::pin(async move {
                    let contacts: Vec<&ContactData> = contacts.iter().collect();
                    contacts_storage::insert_many(&mut conn, org_id, None, &contacts, now).await
                })
            })
            .await?;
        done += batch;
    }
    // After a bulk load the planner's statistics describe the empty table; PostgreSQL would
    // plan searches on them until autovacuum caught up.
    if state.db.backend() == crate::db::Backend::Postgres {
        let mut pooled = state.db.acquire().await?;
        crate::sql_execute!(&mut pooled.conn(), "ANALYZE contacts")?;
    }
    // On SQLite each transaction above left a segment in the search index; searches look in
    // every segment until they are merged (contacts::search_index).
    crate::contacts::search_index::tidy(&state.db).await?;
    Ok(done)
}

/// Queues `count` test messages to `to` through the outbox, 1,000 per transaction. A running
/// node's worker delivers them (within its idle poll interval).
pub async fn queue_test_mail(state: &AppState, to: &str, count: u64) -> Result<u64, CommandError> {
    let to = domain::email(to).map_err(|message| CommandError::Invalid {
        field: "--to",
        message,
    })?;
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(1000);
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        for i in 0..batch {
            let n = done + i + 1;
            let email = crate::mail::Email {
                to_address: to.clone(),
                to_name: None,
                subject: format!("Rapport test message {n} of {count}"),
                text_body: format!(
                    "This is test message {n} of {count}, queued with `rapport dev mail`.\n"
                ),
                html_body: format!(
                    "<p>This is test message {n} of {count}, queued with <code>rapport dev mail</code>.</p>"
                ),
                attachments: Vec::new(),
                org_id: None,
                contact_id: None,
            };
            crate::mail::enqueue(&mut tx.conn(), &email, now, state.config.job_max_attempts)
                .await?;
        }
        tx.commit().await?;
        done += batch;
    }
    Ok(done)
}
