//! Random identifiers shaped like Zoom's. Tokens are opaque random strings: nothing in
//! them can be decoded, so a client cannot come to depend on their contents.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use rand::distributions::Alphanumeric;

pub(crate) fn alnum(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Zoom user ids look like `zJKyaiAyTNC-MWjiWC18KQ`: 16 random bytes, base64url, unpadded.
pub(crate) fn user_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().r#gen();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Meeting UUIDs look like `aDYlohsHRtCd4ii1uC2+hA==` (standard base64, padded).
pub(crate) fn meeting_uuid() -> String {
    let bytes: [u8; 16] = rand::thread_rng().r#gen();
    STANDARD.encode(bytes)
}

/// Meeting numbers are 10 or 11 digits; clients must store them as 64-bit integers.
/// Most generated ids exceed `i32::MAX` on purpose.
pub(crate) fn meeting_id() -> i64 {
    let mut rng = rand::thread_rng();
    if rng.gen_bool(0.25) {
        rng.gen_range(3_000_000_000..=9_999_999_999)
    } else {
        rng.gen_range(70_000_000_000..=99_999_999_999)
    }
}

pub(crate) fn pmi() -> i64 {
    rand::thread_rng().gen_range(2_000_000_000..=9_999_999_999)
}

pub(crate) fn account_number() -> i64 {
    rand::thread_rng().gen_range(10_000_000..=99_999_999)
}

/// Access and refresh tokens: opaque, long, URL-safe.
pub(crate) fn token(prefix: &str) -> String {
    format!("{prefix}{}", alnum(64))
}

pub(crate) fn tracking_id() -> String {
    format!(
        "v=2.0;clid=us06;rid=WEB_{}",
        hex::encode(rand::thread_rng().r#gen::<[u8; 16]>())
    )
}
