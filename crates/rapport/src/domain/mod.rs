//! Values parsed and validated once at the edge. A form handler turns raw text into these types
//! or into [`FieldErrors`] that the page shows next to each field, keeping what was typed.

use std::collections::BTreeMap;

use chrono_tz::Tz;

/// Messages keyed by form field name.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn new() -> FieldErrors {
        FieldErrors::default()
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn count(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &String)> {
        self.0.iter()
    }

    /// Runs a parser and records its error under `field`.
    pub fn check<T>(&mut self, field: &'static str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }
}

/// A required single-line text of at most `max` characters, trimmed.
pub fn required_text(raw: &str, label: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(format!("{label} is required."));
    }
    single_line(value, label, max)
}

/// An optional single-line text; empty becomes `None`.
pub fn optional_text(raw: &str, label: &str, max: usize) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    single_line(value, label, max).map(Some)
}

/// Optional multi-line text (notes).
pub fn optional_long_text(raw: &str, label: &str, max: usize) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(format!("{label} can be at most {max} characters."));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!(
            "{label} contains characters that cannot be stored."
        ));
    }
    Ok(Some(value.to_owned()))
}

fn single_line(value: &str, label: &str, max: usize) -> Result<String, String> {
    if value.chars().count() > max {
        return Err(format!("{label} can be at most {max} characters."));
    }
    // Control characters (CR/LF above all) would let a value break out of a mail header.
    if value.chars().any(char::is_control) {
        return Err(format!("{label} must be a single line of text."));
    }
    Ok(value.to_owned())
}

pub const EMAIL_MAX: usize = 254;

/// An email address, lower-cased. Deliberately simple (one `@`, a dotted domain, no spaces or
/// control characters) and then checked by the mail library that will send to it.
pub fn email(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("Email is required.".into());
    }
    optional_email(value)?.ok_or_else(|| "Email is required.".into())
}

pub fn optional_email(raw: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let invalid = || format!("“{}” is not a valid email address.", truncate(value, 60));
    if value.len() > EMAIL_MAX || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid());
    }
    let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(invalid());
    }
    if value.parse::<lettre::Address>().is_err() {
        return Err(invalid());
    }
    Ok(Some(value.to_lowercase()))
}

/// An IANA time zone name such as `Europe/Paris`.
pub fn time_zone(raw: &str) -> Result<Tz, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("Time zone is required.".into());
    }
    value.parse::<Tz>().map_err(|_| {
        format!(
            "“{}” is not a known time zone. Pick one from the list, e.g. Europe/Paris.",
            truncate(value, 60)
        )
    })
}

pub fn optional_time_zone(raw: &str) -> Result<Option<Tz>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    time_zone(raw).map(Some)
}

pub const PHONE_MAX: usize = 40;

pub fn optional_phone(raw: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().#/x".contains(c));
    if !ok_chars
        || value.len() > PHONE_MAX
        || value.chars().filter(char::is_ascii_digit).count() < 3
    {
        return Err(
            "Phone can hold digits, spaces and + - ( ) . only, up to 40 characters.".into(),
        );
    }
    Ok(Some(value.to_owned()))
}

fn truncate(value: &str, max: usize) -> String {
    let mut out: String = value.chars().take(max).collect();
    if value.chars().count() > max {
        out.push('…');
    }
    out
}

/// The zones offered in time zone pickers: canonical `Area/City` names plus UTC.
pub fn time_zone_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|n| {
                let area = n.split('/').next().unwrap_or("");
                n.contains('/')
                    && matches!(
                        area,
                        "Africa"
                            | "America"
                            | "Antarctica"
                            | "Asia"
                            | "Atlantic"
                            | "Australia"
                            | "Europe"
                            | "Indian"
                            | "Pacific"
                    )
            })
            .collect();
        names.push("UTC");
        names.sort_unstable();
        names
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@x",
            "a b@x.com",
            "ann@x.com\r\nBcc: y@z.com",
            "a@@x.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_rules() {
        assert_eq!(required_text("  Ann  ", "Name", 10).unwrap(), "Ann");
        assert!(required_text("   ", "Name", 10).is_err());
        assert!(required_text("Ann\r\nBcc: x", "Name", 100).is_err());
        assert!(required_text(&"é".repeat(11), "Name", 10).is_err());
        assert_eq!(optional_text("", "Company", 10).unwrap(), None);
        assert_eq!(
            optional_long_text("line 1\nline 2", "Notes", 100)
                .unwrap()
                .unwrap(),
            "line 1\nline 2"
        );
    }

    #[test]
    fn zones_and_phones() {
        assert_eq!(time_zone("Europe/Paris").unwrap(), chrono_tz::Europe::Paris);
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(time_zone_names().contains(&"America/New_York"));
        assert!(optional_phone("+1 (555) 010-2030").unwrap().is_some());
        assert!(optional_phone("call me").is_err());
    }
}
