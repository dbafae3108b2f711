//! Zoom scope sets, as granted in a token response's space-separated `scope` string.

use std::collections::BTreeSet;
use std::fmt;

/// A set of Zoom scope names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses Zoom's `scope` field. Zoom separates with spaces; commas are tolerated too
    /// because some proxies and older docs rewrite the list that way.
    pub fn parse(scope: &str) -> Self {
        Self(
            scope
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn insert(&mut self, scope: impl Into<String>) {
        self.0.insert(scope.into());
    }
}

impl<S: Into<String>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

/// Space separated, the way Zoom writes it.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(s)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_space_separated_scopes_into_a_set() {
        let set = ScopeSet::parse("meeting:read  meeting:write user:read meeting:read");
        assert_eq!(set.len(), 3);
        assert!(set.contains("meeting:write"));
        assert_eq!(set.to_string(), "meeting:read meeting:write user:read");
    }

    #[test]
    fn empty_scope_string_is_an_empty_set() {
        assert!(ScopeSet::parse("  ").is_empty());
    }
}
