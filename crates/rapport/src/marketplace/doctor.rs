//! `rapport doctor`: checks a configuration the way a Marketplace reviewer (and a careful
//! operator) would, and says how to fix each finding.

use crate::config::{Config, ZoomSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Blocks a Marketplace submission or a safe production run.
    Blocker,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub severity: Severity,
    pub check: &'static str,
    pub problem: String,
    pub fix: String,
}

fn finding(
    severity: Severity,
    check: &'static str,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        severity,
        check,
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Hosts that forward a laptop to the internet: fine for trying, never for a submission.
const TUNNEL_HOSTS: &[&str] = &[
    "ngrok.io",
    "ngrok-free.app",
    "ngrok.app",
    "trycloudflare.com",
    "loca.lt",
    "localtunnel.me",
    "serveo.net",
    "localhost.run",
];

/// Whether mail (and the SMTP password) would cross the network unencrypted. A plain
/// `smtp://` URL is plain SMTP in lettre: no STARTTLS unless `?tls=required` asks for it.
fn smtp_encryption(smtp_url: &secrecy::SecretString) -> Option<Finding> {
    use secrecy::ExposeSecret;
    // Never quote the URL itself: it may hold the password.
    let url = url::Url::parse(smtp_url.expose_secret()).ok()?;
    let host = url.host_str().unwrap_or("");
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]");
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let what = if url.password().is_some() {
        "mail and the SMTP password"
    } else {
        "mail"
    };
    let fix = "Use smtps://host:465, or smtp://host:587?tls=required for STARTTLS";
    match (url.scheme(), tls.as_deref()) {
        ("smtps", _) | (_, Some("required")) => None,
        _ if loopback => None,
        (_, Some("opportunistic")) => Some(finding(
            Severity::Warning,
            "smtp",
            format!(
                "RAPPORT_SMTP_URL uses STARTTLS only when {host} offers it: anyone on the path can strip the offer and read {what}"
            ),
            fix,
        )),
        _ => Some(finding(
            Severity::Blocker,
            "smtp",
            format!("RAPPORT_SMTP_URL sends {what} to {host} unencrypted"),
            fix,
        )),
    }
}

/// What the database says, gathered by the caller (doctor itself only reads configuration).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `rapport flags show`'s line for Zoom.
    pub zoom_flag: Option<String>,
    pub zoom_flag_limited: bool,
    /// PostgreSQL's autovacuum setting; `None` on SQLite or when the database was not reached.
    pub autovacuum: Option<bool>,
}

pub fn check(config: &Config, facts: &Facts) -> Vec<Finding> {
    use Severity::{Blocker, Warning};
    let mut out = Vec::new();
    let url = &config.public_url;
    let host = url.host_str().unwrap_or("");
    if url.scheme() != "https" {
        out.push(finding(Blocker, "public-url", format!("RAPPORT_PUBLIC_URL is {url}: not https"), "Serve Rapport over https (TLS 1.2+) behind a reverse proxy and set RAPPORT_PUBLIC_URL=https://your.domain"));
    }
    if matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]") || host.ends_with(".local") {
        out.push(finding(
            Blocker,
            "public-url",
            format!("RAPPORT_PUBLIC_URL points at {host}, which Zoom cannot reach"),
            "Set RAPPORT_PUBLIC_URL to the public https address users reach Rapport at",
        ));
    }
    if TUNNEL_HOSTS
        .iter()
        .any(|t| host == *t || host.ends_with(&format!(".{t}")))
    {
        out.push(finding(
            Blocker,
            "public-url",
            format!("RAPPORT_PUBLIC_URL is a tunnel host ({host})"),
            "Use your own domain: Zoom verifies domain ownership and the URL must stay stable",
        ));
    }
    // Rapport serves plain http, so an https public URL means a reverse proxy in front.
    if url.scheme() == "https" && config.trusted_proxies.is_empty() {
        out.push(finding(
            Warning,
            "trusted-proxies",
            "RAPPORT_TRUSTED_PROXIES is not set: behind the reverse proxy, sign-in throttling sees every user as the proxy's address, so a few wrong passwords from anyone lock an account for everyone",
            "Set RAPPORT_TRUSTED_PROXIES to the proxy's address (e.g. 127.0.0.1) and have the proxy append X-Forwarded-For",
        ));
    }
    match &config.zoom {
        ZoomSettings::EmbeddedSimulator { .. } => {
            out.push(finding(Blocker, "zoom-credentials", "No Zoom app credentials: Rapport runs its Zoom simulator", "Set ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET (or ZOOM_CLIENT_SECRET_FILE) from your app in the Zoom Marketplace"));
        }
        ZoomSettings::Remote {
            webhook_secret,
            oauth_url,
            api_url,
            ..
        } => {
            if webhook_secret.is_none() {
                out.push(finding(Blocker, "webhook-secret", "ZOOM_WEBHOOK_SECRET_TOKEN is not set: every Zoom event (including app_deauthorized) is refused", "Copy the Secret Token of the app's event subscription into ZOOM_WEBHOOK_SECRET_TOKEN (or _FILE)"));
            }
            if oauth_url.host_str() != Some("zoom.us")
                || api_url.host_str().is_none_or(|h| !h.ends_with("zoom.us"))
            {
                out.push(finding(
                    Warning,
                    "zoom-urls",
                    format!("Zoom URLs are {oauth_url} and {api_url}, not Zoom's"),
                    "Unset ZOOM_OAUTH_URL and ZOOM_API_URL in production",
                ));
            }
        }
    }
    match &config.secret_key {
        None => out.push(finding(
            if config.environment == "production" { Blocker } else { Warning },
            "secret-key",
            "RAPPORT_SECRET_KEY is not set: tokens are encrypted with a key file in the data directory, next to the database",
            "Generate a key with `rapport secrets generate-key`, keep it in a secrets manager, and pass it as RAPPORT_SECRET_KEY(_FILE)",
        )),
        Some(key) => {
            if crate::vault::key_strength(key).is_err() {
                out.push(finding(Blocker, "secret-key", "RAPPORT_SECRET_KEY is not 32 random bytes in base64 (or is visibly weak)", "Generate one with `rapport secrets generate-key`"));
            }
        }
    }
    if config.environment == "production" {
        if let ZoomSettings::Remote { client_id, .. } = &config.zoom
            && client_id.to_ascii_lowercase().contains("dev")
        {
            out.push(finding(Warning, "credentials", "ZOOM_CLIENT_ID looks like development credentials in a production environment", "Use the app's Production credentials in production and the Development ones in staging"));
        }
        if facts.zoom_flag_limited {
            out.push(finding(
                Warning,
                "feature-flag",
                format!(
                    "The Zoom feature is still limited to test accounts ({})",
                    facts.zoom_flag.clone().unwrap_or_default()
                ),
                "When the review passes: rapport flags set zoom --all",
            ));
        }
    }
    match &config.smtp_url {
        None => out.push(finding(Blocker, "smtp", "No SMTP server: emails (invitations, password resets) stay in the dev mailbox, readable by anyone who can reach Rapport", "Set RAPPORT_SMTP_URL (or _FILE), e.g. smtp://user:pass@smtp.example.com:587?tls=required")),
        Some(smtp_url) => out.extend(smtp_encryption(smtp_url)),
    }
    if config.support_email.is_none() {
        out.push(finding(Blocker, "pages", "RAPPORT_SUPPORT_EMAIL is not set: the support page and documentation give no way to reach you", "Set RAPPORT_SUPPORT_EMAIL=support@your.domain"));
    }
    if config.operator_name.starts_with("The operator") {
        out.push(finding(Warning, "pages", "RAPPORT_OPERATOR_NAME is not set: the privacy policy and terms do not name your company", "Set RAPPORT_OPERATOR_NAME, or replace the pages with your own (RAPPORT_PAGES_DIR)"));
    }
    if let Some(dir) = &config.pages_dir {
        for (_, file) in super::PAGES {
            if !dir.join(file).exists() {
                out.push(finding(
                    Warning,
                    "pages",
                    format!(
                        "{} has no {file}; the built-in page is served",
                        dir.display()
                    ),
                    format!("Add {file} or accept the built-in page"),
                ));
            }
        }
    }
    if config.zoom_domain_verification.is_none() {
        out.push(finding(Blocker, "domain-verification", "ZOOM_DOMAIN_VERIFICATION is not set: /verifyzoom.html answers 404", "Copy the verification code from the Marketplace (Domain allow list) into ZOOM_DOMAIN_VERIFICATION or ZOOM_DOMAIN_VERIFICATION_FILE"));
    }
    if config.database_url.starts_with("sqlite:") && config.environment == "production" {
        out.push(finding(
            Warning,
            "database",
            "SQLite in production: one node only",
            "Use PostgreSQL (DATABASE_URL=postgres://…) to run several nodes",
        ));
    }
    if facts.autovacuum == Some(false) {
        out.push(finding(
            Warning,
            "database",
            AUTOVACUUM_OFF,
            "Turn autovacuum on (PostgreSQL's default), or run VACUUM (ANALYZE) on Rapport's database every few minutes",
        ));
    }
    out.sort_by_key(|f| f.severity);
    out
}

/// Said by `rapport doctor` and logged by `rapport serve` when PostgreSQL's autovacuum is off.
pub const AUTOVACUUM_OFF: &str = "PostgreSQL's autovacuum is off: the job queue and the contact counts leave dead rows that slow every claim and page until something vacuums them";

pub fn report(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "All checks passed: this configuration is ready for a Zoom Marketplace submission."
            .into();
    }
    let mut out = String::new();
    for f in findings {
        let tag = match f.severity {
            Severity::Blocker => "BLOCKER",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "[{tag}] {}: {}\n        fix: {}\n",
            f.check, f.problem, f.fix
        ));
    }
    let blockers = findings
        .iter()
        .filter(|f| f.severity == Severity::Blocker)
        .count();
    out.push_str(&format!(
        "\n{blockers} blocker(s), {} warning(s).",
        findings.len() - blockers
    ));
    out
}

#[cfg(test)]
// A production configuration names Zoom's https URLs, which a build without TLS refuses.
#[cfg(feature = "tls")]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        let mut argv = vec!["rapport"];
        argv.extend_from_slice(args);
        let cli = <crate::cli::Cli as clap::Parser>::parse_from(argv);
        Config::from_args(&cli.server).unwrap()
    }

    fn checks(findings: &[Finding]) -> Vec<&'static str> {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Blocker)
            .map(|f| f.check)
            .collect()
    }

    const GOOD: &[&str] = &[
        "--public-url",
        "https://crm.example.com",
        "--zoom-client-id",
        "AbC123prod",
        "--zoom-client-secret",
        "s3cret",
        "--zoom-webhook-secret-token",
        "whsec",
        "--smtp-url",
        "smtps://mailer:pa55word@mail.example.com",
        "--support-email",
        "help@example.com",
        "--operator-name",
        "Example Ltd",
        "--zoom-domain-verification",
        "abc123",
        "--secret-key",
        "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=",
        "--trusted-proxies",
        "127.0.0.1",
        "--environment",
        "production",
        "--database-url",
        "postgres://rapport@db/rapport",
    ];

    #[test]
    fn a_production_like_configuration_passes() {
        let findings = check(&config(GOOD), &Facts::default());
        assert!(findings.is_empty(), "{}", report(&findings));
    }

    #[test]
    fn each_misconfiguration_is_flagged() {
        let with = |replace: &[(&str, &str)], drop: &[&str]| {
            let mut args: Vec<&str> = Vec::new();
            let mut i = 0;
            while i < GOOD.len() {
                let (flag, value) = (GOOD[i], GOOD[i + 1]);
                i += 2;
                if drop.contains(&flag) {
                    continue;
                }
                args.push(flag);
                args.push(
                    replace
                        .iter()
                        .find(|(f, _)| *f == flag)
                        .map_or(value, |(_, v)| *v),
                );
            }
            check(&config(&args), &Facts::default())
        };
        assert!(
            checks(&with(&[("--public-url", "http://crm.example.com")], &[]))
                .contains(&"public-url")
        );
        assert!(
            checks(&with(
                &[("--public-url", "https://abcd.ngrok-free.app")],
                &[]
            ))
            .contains(&"public-url")
        );
        assert!(checks(&with(&[], &["--zoom-webhook-secret-token"])).contains(&"webhook-secret"));
        assert!(checks(&with(&[], &["--secret-key"])).contains(&"secret-key"));
        assert!(
            with(&[], &["--trusted-proxies"])
                .iter()
                .any(|f| f.check == "trusted-proxies" && f.severity == Severity::Warning)
        );
        assert!(
            checks(&with(
                &[(
                    "--secret-key",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                )],
                &[]
            ))
            .contains(&"secret-key")
        );
        assert!(checks(&with(&[], &["--smtp-url"])).contains(&"smtp"));
        let smtp = |url: &'static str| with(&[("--smtp-url", url)], &[]);
        let plain = smtp("smtp://mailer:pa55word@mail.example.com:587");
        let finding = plain.iter().find(|f| f.check == "smtp").unwrap();
        assert_eq!(finding.severity, Severity::Blocker);
        assert!(
            finding.problem.contains("password") && !finding.problem.contains("pa55word"),
            "{}",
            finding.problem
        );
        assert!(checks(&smtp("smtp://mail.example.com:25")).contains(&"smtp"));
        let opportunistic = smtp("smtp://mail.example.com:587?tls=opportunistic");
        assert!(
            opportunistic
                .iter()
                .any(|f| f.check == "smtp" && f.severity == Severity::Warning)
        );
        for encrypted in [
            "smtp://mailer:pa55word@mail.example.com:587?tls=required",
            "smtps://mail.example.com",
            "smtp://127.0.0.1:25",
        ] {
            assert!(
                !smtp(encrypted).iter().any(|f| f.check == "smtp"),
                "{encrypted}"
            );
        }
        assert!(checks(&with(&[], &["--support-email"])).contains(&"pages"));
        assert!(
            checks(&with(&[], &["--zoom-domain-verification"])).contains(&"domain-verification")
        );
        assert!(
            checks(&with(&[], &["--zoom-client-id", "--zoom-client-secret"]))
                .contains(&"zoom-credentials")
        );
        let dev = with(&[("--zoom-client-id", "DevAbC123")], &[]);
        assert!(dev.iter().any(|f| f.check == "credentials"));
        let limited = check(
            &config(GOOD),
            &Facts {
                zoom_flag: Some("zoom: on only for user a@b.c".into()),
                zoom_flag_limited: true,
                autovacuum: None,
            },
        );
        assert!(limited.iter().any(|f| f.check == "feature-flag"));
    }

    #[test]
    fn autovacuum_off_is_a_warning_and_unknown_is_silent() {
        let database_warnings = |autovacuum| {
            check(
                &config(GOOD),
                &Facts {
                    autovacuum,
                    ..Facts::default()
                },
            )
            .into_iter()
            .filter(|f| f.check == "database")
            .map(|f| (f.severity, f.problem))
            .collect::<Vec<_>>()
        };
        assert_eq!(
            database_warnings(Some(false)),
            vec![(Severity::Warning, AUTOVACUUM_OFF.to_owned())]
        );
        assert!(database_warnings(Some(true)).is_empty());
        assert!(database_warnings(None).is_empty());
    }
}
