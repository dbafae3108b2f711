//! The web layer's shared pieces: layout, errors, cookies, CSRF, flash messages, headers, assets.

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod flash;
pub mod headers;
pub mod layout;
pub mod listener;

pub use csrf::Form;
pub use error::{AppError, AppResult};
pub use flash::FlashKind;
pub use layout::{Layout, Nav};

/// A `?next=` target is followed only when it is a path on this site: it must start with one `/`
/// and hold no backslash or control character (`//evil`, `/\evil` and `https://evil` are refused).
pub fn safe_return_to(raw: Option<&str>) -> String {
    match raw {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 2000 =>
        {
            path.to_owned()
        }
        _ => "/contacts".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn open_redirects_are_refused() {
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\t//evil",
            "javascript:alert(1)",
            "/x\r\nLocation: //evil",
            "",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/contacts", "{bad:?}");
        }
        assert_eq!(
            safe_return_to(Some("/contacts/7?q=ann")),
            "/contacts/7?q=ann"
        );
        assert_eq!(safe_return_to(None), "/contacts");
    }
}
