//! `GET /v2/users/me`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Zoom user type (license).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    /// 1: free; meetings with participants end after 40 minutes.
    Basic,
    /// 2: paid license.
    Licensed,
    /// 4: "Unassigned without Meetings Basic".
    Unassigned,
    /// 99: "None" (deprecated).
    None,
    /// Any other value (older specs had 3, On-prem).
    Other(i64),
}

impl UserType {
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => UserType::Basic,
            2 => UserType::Licensed,
            4 => UserType::Unassigned,
            99 => UserType::None,
            other => UserType::Other(other),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            UserType::Basic => 1,
            UserType::Licensed => 2,
            UserType::Unassigned => 4,
            UserType::None => 99,
            UserType::Other(c) => c,
        }
    }

    /// Free users: meetings with participants end after 40 minutes; no cloud recording.
    pub fn is_basic(self) -> bool {
        self == UserType::Basic
    }

    /// Whether the user holds a paid license (cloud recording, meetings beyond 40 minutes).
    pub fn is_licensed(self) -> bool {
        self == UserType::Licensed
    }
}

impl<'de> Deserialize<'de> for UserType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        crate::de::i64_from_value(&v)
            .map(UserType::from_code)
            .ok_or_else(|| serde::de::Error::custom("user type is not an integer"))
    }
}

/// The connected Zoom user. Every field but `id` is optional, and unknown fields are ignored,
/// because Zoom's schema marks them all optional and adds fields over time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(rename = "type", default)]
    pub user_type: Option<UserType>,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub account_number: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub pmi: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub role_name: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
}

impl User {
    /// A name to show: display name, else "first last", else the email.
    pub fn name(&self) -> Option<String> {
        if let Some(d) = self
            .display_name
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            return Some(d.to_owned());
        }
        let full = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if full.is_empty() {
            self.email.clone()
        } else {
            Some(full)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_user_and_ignores_unknown_fields() {
        let body = r#"{"id":"zJKyaiAyTNC-MWjiWC18KQ","first_name":"Jill","last_name":"Chill","display_name":"Jill Chill",
            "email":"jchill@example.com","type":2,"role_name":"Owner","pmi":3542471135,"use_pmi":false,
            "timezone":"Asia/Shanghai","verified":1,"dept":"","created_at":"2019-06-01T07:58:03Z",
            "last_login_time":"2019-06-01T07:58:03Z","pic_url":"https://example.com/photo.jpg","language":"en-US",
            "phone_numbers":[],"status":"active","account_id":"q6gBJVO5TzexKYTb_I2rpg","account_number":10009239,
            "cluster":"us04","login_types":[0,1],"brand_new_field":{"x":1}}"#;
        let u: User = serde_json::from_str(body).unwrap();
        assert_eq!(u.user_type, Some(UserType::Licensed));
        assert_eq!(u.account_id.as_deref(), Some("q6gBJVO5TzexKYTb_I2rpg"));
        assert_eq!(u.pmi, Some(3542471135));
        assert_eq!(u.name().as_deref(), Some("Jill Chill"));
    }

    #[test]
    fn reads_a_minimal_user_and_every_type() {
        for (code, t) in [
            (1, UserType::Basic),
            (2, UserType::Licensed),
            (4, UserType::Unassigned),
            (99, UserType::None),
            (3, UserType::Other(3)),
        ] {
            let u: User = serde_json::from_str(&format!(r#"{{"id":"x","type":{code}}}"#)).unwrap();
            assert_eq!(u.user_type, Some(t));
            assert_eq!(t.code(), code);
        }
        let u: User = serde_json::from_str(r#"{"id":"x","email":"a@b.c"}"#).unwrap();
        assert_eq!(u.user_type, None);
        assert_eq!(u.name().as_deref(), Some("a@b.c"));
    }
}
