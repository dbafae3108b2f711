//! The web layer's shared pieces: layout, errors, cookies, CSRF, flash messages, headers, assets.

pub mod assets;
pub mod client_address;
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

/// A count as people read it: `1234567` is "1,234,567" (the pages are in English). Takes a
/// reference too, as templates pass their values.
pub fn thousands(n: impl std::borrow::Borrow<i64>) -> String {
    let n = *n.borrow();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{safe_return_to, thousands};

    #[test]
    fn counts_are_grouped_by_thousands() {
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (50_000, "50,000"),
            (123_456, "123,456"),
            (1_234_567, "1,234,567"),
            (-1_234, "-1,234"),
            (i64::MIN, "-9,223,372,036,854,775,808"),
        ] {
            assert_eq!(thousands(n), text);
        }
    }

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
