//! Where Zoom lives and who we are to it.

use std::fmt;

use secrecy::SecretString;
use url::Url;

/// Zoom's OAuth host (authorize, token, revoke).
pub const DEFAULT_OAUTH_BASE: &str = "https://zoom.us";
/// Zoom's global REST API host; paths are `/v2/...`.
pub const DEFAULT_API_BASE: &str = "https://api.zoom.us";

/// Credentials and base URLs of one Zoom app (or of the simulator standing in for it).
#[derive(Clone)]
pub struct ZoomConfig {
    pub oauth_base: Url,
    pub api_base: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Must equal the redirect URL registered for the app; used verbatim in both the
    /// authorize URL and the code exchange (RFC 6749 §4.1.3).
    pub redirect_url: Url,
}

impl ZoomConfig {
    /// A configuration pointing at real Zoom.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_url: Url,
    ) -> Self {
        Self {
            oauth_base: builtin_url(DEFAULT_OAUTH_BASE),
            api_base: builtin_url(DEFAULT_API_BASE),
            client_id: client_id.into(),
            client_secret,
            redirect_url,
        }
    }

    pub fn with_oauth_base(mut self, base: Url) -> Self {
        self.oauth_base = base;
        self
    }

    pub fn with_api_base(mut self, base: Url) -> Self {
        self.api_base = base;
        self
    }
}

fn builtin_url(url: &str) -> Url {
    // The two constants above are valid URLs; a test parses them.
    Url::parse(url).unwrap_or_else(|_| unreachable!("built-in URL {url} is valid"))
}

impl fmt::Debug for ZoomConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoomConfig")
            .field("oauth_base", &self.oauth_base.as_str())
            .field("api_base", &self.api_base.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_url", &self.redirect_url.as_str())
            .finish()
    }
}

/// Joins a base URL (which may carry a path prefix, e.g. a simulator mounted under `/zoom`)
/// and an absolute request path.
pub(crate) fn join(base: &Url, path: &str) -> Result<Url, url::ParseError> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_zoom_and_debug_hides_the_secret() {
        let cfg = ZoomConfig::new(
            "cid",
            SecretString::from("ZCANARY_CS_123"),
            Url::parse("https://crm.example/zoom/callback").unwrap(),
        );
        assert_eq!(cfg.oauth_base.as_str(), "https://zoom.us/");
        assert_eq!(cfg.api_base.as_str(), "https://api.zoom.us/");
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("ZCANARY"), "{dbg}");
        assert!(dbg.contains("cid"));
    }

    #[test]
    fn join_keeps_a_path_prefix() {
        let base = Url::parse("http://127.0.0.1:9000/zoom/").unwrap();
        assert_eq!(
            join(&base, "/v2/users/me").unwrap().as_str(),
            "http://127.0.0.1:9000/zoom/v2/users/me"
        );
    }
}
