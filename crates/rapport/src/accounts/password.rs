//! Password hashing (argon2id, OWASP's m=19 MiB, t=2, p=1) and the password policy.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LENGTH: usize = 8;
/// Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
pub const MAX_LENGTH: usize = 128;

/// Passwords that appear at the top of every breach list.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "qwerty123",
    "qwertyui",
    "iloveyou",
    "11111111",
    "00000000",
    "abc12345",
    "abcd1234",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "letmein1",
    "trustno1",
    "superman",
    "starwars",
    "whatever",
    "dragon12",
    "monkey12",
    "michelle",
    "jennifer",
    "computer",
    "corvette",
    "mercedes",
    "1qaz2wsx",
    "zaq12wsx",
    "qazwsxedc",
    "asdfghjkl",
    "changeme",
    "default1",
    "administrator",
    "admin123",
    "rapport1",
    "zoomzoom",
    "11223344",
    "87654321",
    "88888888",
    "12341234",
    "aaaaaaaa",
    "q1w2e3r4",
    "passpass",
    "internet",
    "samsung1",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordPolicyError {
    #[error("Use at least {MIN_LENGTH} characters.")]
    TooShort,
    #[error("Use at most {MAX_LENGTH} characters.")]
    TooLong,
    #[error("This password is too common. Choose one that is harder to guess.")]
    TooCommon,
    #[error("Do not use your email address as your password.")]
    SameAsEmail,
}

pub fn check_policy(password: &str, email: &str) -> Result<(), PasswordPolicyError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordPolicyError::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordPolicyError::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(PasswordPolicyError::TooCommon);
    }
    if !email.is_empty() && lower == email.to_lowercase() {
        return Err(PasswordPolicyError::SameAsEmail);
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    // The constants are valid by construction; fall back to the crate default (also argon2id).
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the blocking pool: argon2 takes tens of milliseconds of CPU by design.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Verifies on the blocking pool. With no stored hash (unknown user, or an invited user who has
/// not set a password) it still spends the same time, so response times do not reveal accounts.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => match PasswordHash::new(&stored) {
            Ok(parsed) => hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        },
        None => {
            let salt = SaltString::generate(&mut OsRng);
            let _ = hasher().hash_password(password.as_bytes(), &salt);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert_eq!(
            check_policy("short", ""),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_policy("Password123", ""),
            Err(PasswordPolicyError::TooCommon)
        );
        assert_eq!(
            check_policy("ann@example.com", "Ann@example.com"),
            Err(PasswordPolicyError::SameAsEmail)
        );
        assert_eq!(
            check_policy(&"x".repeat(129), ""),
            Err(PasswordPolicyError::TooLong)
        );
        assert!(check_policy("correct horse battery", "ann@example.com").is_ok());
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let hashed = hash("correct horse battery".into()).await.unwrap();
        assert!(hashed.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(hashed.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(hashed)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
