//! Password hashing (argon2id, OWASP's m=19 MiB, t=2, p=1) and the password policy.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// Argon2's working memory (19 MiB with our parameters), reserved so that freeing it returns it
/// to the operating system. The crate allocates it as a plain `Vec`, and glibc raises its mmap
/// threshold to the largest block freed, so from the second hash on the 19 MiB came from a
/// thread's heap and stayed there: four sign-ups left Rapport at 79 MB instead of 20. glibc
/// always maps allocations of 32 MiB and more (the threshold's ceiling) and unmaps them when
/// freed; reserving that much costs nothing, as only the pages Argon2 writes are ever resident.
fn working_memory(blocks: usize) -> Vec<Block> {
    const ALWAYS_MAPPED_BYTES: usize = 33 * 1024 * 1024;
    let mut memory = Vec::with_capacity(blocks.max(ALWAYS_MAPPED_BYTES / Block::SIZE));
    memory.resize(blocks, Block::default());
    memory
}

/// Argon2 with the given algorithm, version and parameters, into `out`, in [`working_memory`].
fn argon2_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &Salt<'_>,
    out: &mut [u8],
) -> Result<(), password_hash::Error> {
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    argon2
        .hash_password_into_with_memory(
            password,
            salt,
            out,
            working_memory(argon2.params().block_count()),
        )
        .map_err(password_hash::Error::from)
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), as `PasswordHasher` makes it.
fn hash_blocking(password: &[u8]) -> Result<String, password_hash::Error> {
    let argon2 = hasher();
    let salt = SaltString::generate(&mut OsRng);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon2, password, &salt.as_salt(), &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2.params().try_into()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a stored PHC string, with the parameters it names.
fn verify_blocking(password: &[u8], stored: &str) -> Result<bool, password_hash::Error> {
    let parsed = PasswordHash::new(stored)?;
    let expected = parsed.hash.ok_or(password_hash::Error::Password)?;
    let salt = parsed.salt.ok_or(password_hash::Error::Password)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let argon2 = Argon2::new(
        Algorithm::try_from(parsed.algorithm)?,
        version,
        Params::try_from(&parsed)?,
    );
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon2, password, &salt, &mut out)?;
    // Output's equality is constant-time.
    Ok(Output::new(&out)? == expected)
}

/// Hashes on the blocking pool: argon2 takes tens of milliseconds of CPU by design.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        hash_blocking(password.as_bytes()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Verifies on the blocking pool. With no stored hash (unknown user, or an invited user who has
/// not set a password) it still spends the same time, so response times do not reveal accounts.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_blocking(password.as_bytes(), &stored).unwrap_or(false),
        None => {
            let _ = hash_blocking(password.as_bytes());
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
        assert!(!verify("anything".into(), Some("not a hash".into())).await);
    }

    /// Hashes stored before (made by argon2's own `PasswordHasher`) still verify, and ours
    /// verify with argon2's own `PasswordVerifier`, including other parameters.
    #[tokio::test]
    async fn compatible_with_argon2_s_own_hasher() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let theirs = hasher()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify("correct horse battery".into(), Some(theirs.clone())).await);
        assert!(!verify("correct horse batterx".into(), Some(theirs)).await);
        let lighter = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 3, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery", &salt)
        .unwrap()
        .to_string();
        assert!(verify("correct horse battery".into(), Some(lighter)).await);

        let ours = hash("correct horse battery".into()).await.unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            hasher()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            hasher()
                .verify_password(b"correct horse batterx", &parsed)
                .is_err()
        );
    }
}
