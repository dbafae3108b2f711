//! The command line: `rapport [serve]`, `rapport migrate`, `rapport user add`, `rapport dev seed`.
//! Every option is also an environment variable (`rapport --help` lists them).

use clap::{Args, Parser, Subcommand};

use crate::config::ServerArgs;

#[derive(Debug, Parser)]
#[command(
    name = "rapport",
    version,
    about = "Rapport: a self-hostable CRM for meeting your contacts over Zoom"
)]
pub struct Cli {
    #[command(flatten)]
    pub server: ServerArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the background job worker (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Developer tools.
    #[command(subcommand)]
    Dev(DevCommand),
    /// Feature flags (e.g. turn Zoom on for a test account first, for everyone later).
    #[command(subcommand)]
    Flags(FlagsCommand),
    /// The key that encrypts Zoom tokens at rest.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Zoom Marketplace tools.
    #[command(subcommand)]
    Zoom(ZoomCommand),
    /// Check this configuration the way a Zoom Marketplace reviewer would. Exits non-zero when
    /// anything blocks a submission.
    Doctor(DoctorArgs),
}

#[derive(Debug, Subcommand)]
pub enum ZoomCommand {
    /// Print what to enter in the Zoom Marketplace: URLs, events, scopes and why each is needed.
    Manifest(ManifestArgs),
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ManifestFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ManifestFormat {
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also call the configured Zoom and this server's public URL (webhook validation challenge).
    #[arg(long)]
    pub online: bool,
}

#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// Show every flag.
    Show,
    /// Change a flag. Takes effect on every node without a restart.
    Set(FlagSetArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["org", "user", "all", "off"])))]
pub struct FlagSetArgs {
    /// The flag, e.g. `zoom`.
    pub name: String,
    /// Turn it on for this organization (by name), in addition to those already listed.
    #[arg(long)]
    pub org: Option<String>,
    /// Turn it on for this user (by email), in addition to those already listed.
    #[arg(long)]
    pub user: Option<String>,
    /// Turn it on for everyone.
    #[arg(long)]
    pub all: bool,
    /// Turn it off for everyone.
    #[arg(long)]
    pub off: bool,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a new random key for RAPPORT_SECRET_KEY.
    GenerateKey,
    /// Re-encrypt every stored token with the current key (RAPPORT_SECRET_KEY), reading old values
    /// with RAPPORT_SECRET_KEY_PREVIOUS. Afterwards the previous key can be removed.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user to an organization (created when missing) and email them a link to set a password.
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Organization name.
    #[arg(long, env = "RAPPORT_USER_ORG")]
    pub org: String,
    /// The user's email address.
    #[arg(long, env = "RAPPORT_USER_EMAIL")]
    pub email: String,
    /// The user's name.
    #[arg(long, env = "RAPPORT_USER_NAME")]
    pub name: String,
    /// IANA time zone of the user.
    #[arg(long, env = "RAPPORT_USER_TIME_ZONE", default_value = "UTC")]
    pub time_zone: String,
    /// Make the user an owner of the organization (always true for a new organization).
    #[arg(long)]
    pub owner: bool,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill an organization with fake but realistic contacts (for demos and benchmarks).
    Seed(SeedArgs),
    /// Queue test emails through the outbox, as any email Rapport sends (checks the SMTP
    /// settings of a running node; the outbox benchmark uses it).
    Mail(MailArgs),
}

#[derive(Debug, Args)]
pub struct MailArgs {
    /// Recipient address.
    #[arg(long)]
    pub to: String,
    /// How many messages to queue.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many contacts to add.
    #[arg(long, default_value_t = 100)]
    pub contacts: u64,
    /// Organization to fill (created when missing).
    #[arg(long, default_value = "Demo Company")]
    pub org: String,
    /// Contacts per transaction. Each transaction holds SQLite's write lock (about half a
    /// second for 10,000), so a running server's writes wait that long; fewer per transaction
    /// make the seed slower.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub per_transaction: u64,
}
