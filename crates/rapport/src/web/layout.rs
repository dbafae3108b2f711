//! What every page's frame needs: title, navigation, the signed-in user, the form token and the
//! one-time message. Handlers take a [`Layout`] and hand it to their template.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::accounts::session::CurrentUser;
use crate::app::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::Flash;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Contacts,
    Meetings,
    Settings,
}

impl Nav {
    pub fn as_str(self) -> &'static str {
        match self {
            Nav::None => "",
            Nav::Contacts => "contacts",
            Nav::Meetings => "meetings",
            Nav::Settings => "settings",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub nav: Nav,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub dev_mailbox: bool,
    /// Shows the "reconnect Zoom" banner on every page.
    pub zoom_needs_reconnect: bool,
}

impl Layout {
    pub fn page(mut self, title: impl Into<String>, nav: Nav) -> Layout {
        self.title = title.into();
        self.nav = nav;
        self
    }

    pub fn nav_class(&self, name: &str) -> &'static str {
        if self.nav.as_str() == name {
            "nav-link active"
        } else {
            "nav-link"
        }
    }

    pub fn aria_current(&self, name: &str) -> &'static str {
        if self.nav.as_str() == name {
            "page"
        } else {
            "false"
        }
    }
}

impl FromRequestParts<AppState> for Layout {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<CurrentUser>().cloned();
        let zoom_needs_reconnect = user
            .as_ref()
            .is_some_and(|u| u.zoom_status.as_deref() == Some("needs_reconnect"));
        Ok(Layout {
            zoom_needs_reconnect,
            title: String::new(),
            nav: Nav::None,
            user,
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            flash: parts.extensions.get::<Flash>().cloned(),
            dev_mailbox: state.transport.is_dev_mailbox(),
        })
    }
}
