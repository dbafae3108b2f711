//! Every Zoom endpoint the app calls, with its rate-limit label, scopes and the reason the
//! app needs it. This table is the single source for the Marketplace submission
//! (`rapport zoom manifest`) and for the client itself: every request the client makes
//! looks its endpoint up here first, so an endpoint missing from the table cannot be
//! called (and a test drives every client method against a recording server and checks
//! each request against this table).

use std::fmt;

use crate::scopes::ScopeSet;

/// Which Zoom host serves an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `https://zoom.us`: authorize, token, revoke.
    OAuth,
    /// `https://api.zoom.us`: the REST API.
    Api,
}

/// Zoom's rate-limit label for an endpoint (contract §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLabel {
    Light,
    Medium,
    Heavy,
    ResourceIntensive,
    /// OAuth endpoints carry no published label.
    Unlabelled,
}

impl RateLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            RateLabel::Light => "Light",
            RateLabel::Medium => "Medium",
            RateLabel::Heavy => "Heavy",
            RateLabel::ResourceIntensive => "Resource-intensive",
            RateLabel::Unlabelled => "-",
        }
    }
}

/// One row of the endpoint table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub host: Host,
    /// Path template; `{name}` marks a path parameter.
    pub path: &'static str,
    pub rate_label: RateLabel,
    /// The granular scope the app requests for this call (user level, no `:admin`).
    pub granular_scope: Option<&'static str>,
    /// The classic scope that grants the same call for apps that still have classic scopes.
    pub classic_scope: Option<&'static str>,
    /// Further scopes Zoom accepts for this call (admin variants and wider classic scopes).
    pub also_accepted: &'static [&'static str],
    /// Safe to repeat after a timeout, a 5xx or a per-second 429: the client retries only these.
    pub idempotent: bool,
    /// Why the app needs it, in one line (shown to Marketplace reviewers).
    pub why: &'static str,
}

/// The table.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "GET",
        host: Host::OAuth,
        path: "/oauth/authorize",
        rate_label: RateLabel::Unlabelled,
        granular_scope: None,
        classic_scope: None,
        also_accepted: &[],
        idempotent: true,
        why: "The user's browser is sent here to approve connecting their Zoom account (state + PKCE S256).",
    },
    Endpoint {
        method: "POST",
        host: Host::OAuth,
        path: "/oauth/token",
        rate_label: RateLabel::Unlabelled,
        granular_scope: None,
        classic_scope: None,
        also_accepted: &[],
        // A refresh rotates the refresh token: repeating one blindly could lose the grant.
        idempotent: false,
        why: "Exchanges the authorization code for tokens and refreshes the hourly access token.",
    },
    Endpoint {
        method: "POST",
        host: Host::OAuth,
        path: "/oauth/revoke",
        rate_label: RateLabel::Unlabelled,
        granular_scope: None,
        classic_scope: None,
        also_accepted: &[],
        // Retried by the caller's durable job instead, so retries happen at one layer.
        idempotent: false,
        why: "Revokes the app's access when the user disconnects Zoom in the CRM.",
    },
    Endpoint {
        method: "GET",
        host: Host::Api,
        path: "/v2/users/me",
        rate_label: RateLabel::Light,
        granular_scope: Some("user:read:user"),
        classic_scope: Some("user:read"),
        also_accepted: &[
            "user:read:user:admin",
            "user:read:admin",
            "user:write",
            "user:write:admin",
            "user_info:read",
            "user_profile",
        ],
        idempotent: true,
        why: "Shows which Zoom account is connected (email, name) and its license type (Basic meetings end after 40 minutes).",
    },
    Endpoint {
        method: "POST",
        host: Host::Api,
        path: "/v2/users/me/meetings",
        rate_label: RateLabel::Medium,
        granular_scope: Some("meeting:write:meeting"),
        classic_scope: Some("meeting:write"),
        also_accepted: &["meeting:write:meeting:admin", "meeting:write:admin"],
        // Zoom has no idempotency key: a repeated create makes a second meeting.
        idempotent: false,
        why: "Creates the Zoom meeting when the user schedules a meeting with a contact.",
    },
    Endpoint {
        method: "GET",
        host: Host::Api,
        path: "/v2/meetings/{meetingId}",
        rate_label: RateLabel::Light,
        granular_scope: Some("meeting:read:meeting"),
        classic_scope: Some("meeting:read"),
        also_accepted: &[
            "meeting:read:meeting:admin",
            "meeting:read:admin",
            "meeting:write",
            "meeting:write:admin",
        ],
        idempotent: true,
        why: "Fetches a fresh start link (it expires after two hours) when the host clicks Start, and checks a meeting's state.",
    },
    Endpoint {
        method: "PATCH",
        host: Host::Api,
        path: "/v2/meetings/{meetingId}",
        rate_label: RateLabel::Light,
        granular_scope: Some("meeting:update:meeting"),
        classic_scope: Some("meeting:write"),
        also_accepted: &["meeting:update:meeting:admin", "meeting:write:admin"],
        // Setting the same fields twice leaves the same meeting (it only costs one more of
        // the user's 100 daily create/update requests).
        idempotent: true,
        why: "Reschedules the meeting (time, duration, topic, agenda) when the user changes it in the CRM.",
    },
    Endpoint {
        method: "DELETE",
        host: Host::Api,
        path: "/v2/meetings/{meetingId}",
        rate_label: RateLabel::Light,
        granular_scope: Some("meeting:delete:meeting"),
        classic_scope: Some("meeting:write"),
        also_accepted: &["meeting:delete:meeting:admin", "meeting:write:admin"],
        idempotent: true,
        why: "Cancels the Zoom meeting when the user cancels the meeting in the CRM.",
    },
    Endpoint {
        method: "GET",
        host: Host::Api,
        path: "/v2/users/me/meetings",
        rate_label: RateLabel::Medium,
        granular_scope: Some("meeting:read:list_meetings"),
        classic_scope: Some("meeting:read"),
        also_accepted: &[
            "meeting:read:list_meetings:admin",
            "meeting:read:admin",
            "meeting:write",
            "meeting:write:admin",
        ],
        idempotent: true,
        why: "Lists the user's upcoming meetings to reconcile a create whose outcome was unknown, so no meeting is orphaned or duplicated.",
    },
];

impl Endpoint {
    /// True when `method` and a concrete request `path` (e.g. `/v2/meetings/123`) fit this row.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let mut template = self.path.split('/');
        let mut concrete = path.split('/');
        loop {
            match (template.next(), concrete.next()) {
                (None, None) => return true,
                (Some(t), Some(c)) => {
                    let is_param = t.starts_with('{') && t.ends_with('}');
                    if is_param {
                        if c.is_empty() {
                            return false;
                        }
                    } else if t != c {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }

    /// True when `granted` allows this call, by its granular scope or an equivalent.
    pub fn allowed_by(&self, granted: &ScopeSet) -> bool {
        let candidates = self
            .granular_scope
            .iter()
            .chain(self.classic_scope.iter())
            .chain(self.also_accepted.iter());
        let mut any_required = false;
        for scope in candidates {
            any_required = true;
            if granted.contains(scope) {
                return true;
            }
        }
        !any_required
    }

    /// Fills `{name}` placeholders. Values are numbers or fixed words, so no escaping is needed;
    /// an unfilled placeholder leaves the braces, which `lookup` refuses.
    pub(crate) fn render(&self, params: &[(&str, String)]) -> String {
        let mut path = self.path.to_owned();
        for (name, value) in params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        path
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Finds a row by method and path template.
pub fn lookup(method: &str, path_template: &str) -> Option<&'static Endpoint> {
    ENDPOINTS
        .iter()
        .find(|e| e.method.eq_ignore_ascii_case(method) && e.path == path_template)
}

/// Finds the row a concrete request (`GET /v2/meetings/42`) belongs to.
pub fn find_for_request(method: &str, path: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.matches(method, path))
}

/// True when `endpoint` is a row of [`ENDPOINTS`] itself (not a copy made elsewhere).
pub(crate) fn is_listed(endpoint: &Endpoint) -> bool {
    ENDPOINTS.iter().any(|e| std::ptr::eq(e, endpoint))
}

/// The minimal set of granular scopes the app requests: one per REST endpoint it calls.
pub fn required_scopes() -> ScopeSet {
    ENDPOINTS.iter().filter_map(|e| e.granular_scope).collect()
}

/// A capability the granted scopes do not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingScope {
    pub endpoint: &'static Endpoint,
}

impl fmt::Display for MissingScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.endpoint;
        match (e.granular_scope, e.classic_scope) {
            (Some(g), Some(c)) => write!(f, "{g} (or classic {c})")?,
            (Some(g), None) => write!(f, "{g}")?,
            (None, Some(c)) => write!(f, "{c}")?,
            (None, None) => write!(f, "(no scope)")?,
        }
        write!(f, ", needed for {} {}: {}", e.method, e.path, e.why)
    }
}

/// Checks a granted scope set (granular or classic, or a mix) against what the app needs.
/// Returns one entry per endpoint the grant does not cover; empty means everything works.
pub fn missing_scopes(granted: &ScopeSet) -> Vec<MissingScope> {
    ENDPOINTS
        .iter()
        .filter(|e| !e.allowed_by(granted))
        .map(|endpoint| MissingScope { endpoint })
        .collect()
}

/// [`missing_scopes`] as sentences for a settings page or `rapport doctor`.
pub fn describe_missing_scopes(granted: &ScopeSet) -> Vec<String> {
    missing_scopes(granted)
        .iter()
        .map(|m| format!("Missing Zoom scope {m}"))
        .collect()
}

/// The table as Markdown, for the Marketplace submission and `rapport zoom manifest`.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| Method | Host | Path | Rate label | Granular scope | Classic scope | Why |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for e in ENDPOINTS {
        let host = match e.host {
            Host::OAuth => "zoom.us",
            Host::Api => "api.zoom.us",
        };
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} | {} | {} |\n",
            e.method,
            host,
            e.path,
            e.rate_label.as_str(),
            e.granular_scope
                .map_or("-".to_owned(), |s| format!("`{s}`")),
            e.classic_scope.map_or("-".to_owned(), |s| format!("`{s}`")),
            e.why
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_scopes_are_the_six_granular_user_level_scopes() {
        assert_eq!(
            required_scopes().to_string(),
            "meeting:delete:meeting meeting:read:list_meetings meeting:read:meeting \
             meeting:update:meeting meeting:write:meeting user:read:user"
        );
        assert!(required_scopes().iter().all(|s| !s.ends_with(":admin")));
    }

    #[test]
    fn every_rest_row_has_both_scopes_and_a_reason() {
        for e in ENDPOINTS {
            assert!(!e.why.is_empty(), "{e}");
            if e.host == Host::Api {
                assert!(
                    e.granular_scope.is_some() && e.classic_scope.is_some(),
                    "{e}"
                );
                assert!(e.path.starts_with("/v2/"), "{e}");
                assert_ne!(e.rate_label, RateLabel::Unlabelled, "{e}");
            }
        }
    }

    #[test]
    fn rows_are_unique() {
        for (i, a) in ENDPOINTS.iter().enumerate() {
            for b in &ENDPOINTS[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{a} twice");
            }
        }
    }

    #[test]
    fn only_create_and_oauth_posts_are_not_retried() {
        let not_idempotent: Vec<String> = ENDPOINTS
            .iter()
            .filter(|e| !e.idempotent)
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            not_idempotent,
            [
                "POST /oauth/token",
                "POST /oauth/revoke",
                "POST /v2/users/me/meetings"
            ]
        );
    }

    #[test]
    fn concrete_paths_match_templates() {
        assert_eq!(
            find_for_request("GET", "/v2/meetings/85393847045").map(|e| e.path),
            Some("/v2/meetings/{meetingId}")
        );
        assert_eq!(
            find_for_request("patch", "/v2/meetings/1").map(|e| e.method),
            Some("PATCH")
        );
        assert!(find_for_request("GET", "/v2/meetings/").is_none());
        assert!(find_for_request("GET", "/v2/meetings/1/extra").is_none());
        assert!(find_for_request("GET", "/v2/users/someone").is_none());
        assert!(find_for_request("PUT", "/v2/meetings/1").is_none());
    }

    #[test]
    fn granular_grant_covers_everything() {
        assert!(missing_scopes(&required_scopes()).is_empty());
    }

    #[test]
    fn classic_grant_covers_everything() {
        let granted = ScopeSet::parse("meeting:read meeting:write user:read");
        assert!(missing_scopes(&granted).is_empty());
    }

    #[test]
    fn missing_scopes_are_listed_in_words() {
        let granted = ScopeSet::parse("user:read:user meeting:write:meeting meeting:read:meeting");
        let missing = describe_missing_scopes(&granted);
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(missing[0].contains("meeting:update:meeting (or classic meeting:write)"));
        assert!(missing[0].contains("Reschedules"));
        assert!(missing[1].contains("meeting:delete:meeting"));
        assert!(missing[2].contains("meeting:read:list_meetings (or classic meeting:read)"));
    }

    #[test]
    fn markdown_table_has_one_line_per_row() {
        let md = markdown_table();
        assert_eq!(md.lines().count(), ENDPOINTS.len() + 2);
        assert!(md.contains("| DELETE | api.zoom.us | `/v2/meetings/{meetingId}` | Light | `meeting:delete:meeting` | `meeting:write` |"));
    }

    #[test]
    fn render_fills_parameters() {
        let e = lookup("GET", "/v2/meetings/{meetingId}").unwrap();
        assert_eq!(e.render(&[("meetingId", "42".into())]), "/v2/meetings/42");
        assert!(is_listed(e));
        let copy = *e;
        assert!(!is_listed(&copy));
    }
}
