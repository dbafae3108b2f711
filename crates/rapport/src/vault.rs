//! The token vault: AES-256-GCM encryption of Zoom tokens at rest. Each sealed value carries the
//! id of the key that sealed it (so keys can rotate) and is bound to where it is stored (the
//! associated data names the row and column, so a ciphertext copied into another row does not
//! open there).

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "{var}: must be 32 bytes encoded as base64 (generate one with `openssl rand -base64 32`)"
    )]
    BadKey { var: &'static str },
    #[error(
        "RAPPORT_SECRET_KEY is required with PostgreSQL: every node must encrypt with the same key"
    )]
    KeyRequired,
    #[error("cannot use the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "a stored secret was sealed with key {key_id}, which is not configured (set RAPPORT_SECRET_KEY_PREVIOUS)"
    )]
    UnknownKey { key_id: String },
    #[error("a stored secret could not be decrypted (tampered with, or moved to another row)")]
    Corrupt,
}

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn from_bytes(bytes: &[u8]) -> Option<Key> {
        let cipher = Aes256Gcm::new_from_slice(bytes).ok()?;
        Some(Key {
            id: hex::encode(&Sha256::digest(bytes)[..4]),
            cipher,
        })
    }

    fn from_base64(raw: &SecretString, var: &'static str) -> Result<Key, VaultError> {
        let bytes = STANDARD
            .decode(raw.expose_secret().trim())
            .map_err(|_| VaultError::BadKey { var })?;
        if bytes.len() != 32 {
            return Err(VaultError::BadKey { var });
        }
        Key::from_bytes(&bytes).ok_or(VaultError::BadKey { var })
    }
}

pub struct Vault {
    current: Key,
    previous: Option<Key>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("key_id", &self.current.id)
            .finish_non_exhaustive()
    }
}

pub const KEY_FILE: &str = "secret.key";

impl Vault {
    /// The vault of a configuration: `RAPPORT_SECRET_KEY`, or for the embedded SQLite default a
    /// key file generated in the data directory (mode 0600).
    pub fn from_config(config: &Config) -> Result<Vault, VaultError> {
        let current = match &config.secret_key {
            Some(raw) => Key::from_base64(raw, "RAPPORT_SECRET_KEY")?,
            None if config.database_url.starts_with("sqlite:") => {
                key_from_file(&config.data_dir.join(KEY_FILE))?
            }
            None => return Err(VaultError::KeyRequired),
        };
        let previous = match &config.secret_key_previous {
            Some(raw) => Some(Key::from_base64(raw, "RAPPORT_SECRET_KEY_PREVIOUS")?),
            None => None,
        };
        Ok(Vault { current, previous })
    }

    /// A vault with one random key (for tests and tools).
    pub fn random() -> Vault {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        match Key::from_bytes(&bytes) {
            Some(current) => Vault {
                current,
                previous: None,
            },
            None => unreachable_key(),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Encrypts `plaintext` for the place named by `context` (e.g. `connections.access_token:zoom:42`).
    /// Format: `v1:{key id}:{base64(nonce ‖ ciphertext)}`.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        // AES-GCM encryption with a valid key and a 12-byte nonce cannot fail.
        let ciphertext = self
            .current
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!("v1:{}:{}", self.current.id, STANDARD.encode(blob))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString, VaultError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some("v1"), Some(key_id), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Corrupt);
        };
        let key = if key_id == self.current.id {
            &self.current
        } else {
            match &self.previous {
                Some(previous) if previous.id == key_id => previous,
                _ => {
                    return Err(VaultError::UnknownKey {
                        key_id: key_id.to_owned(),
                    });
                }
            }
        };
        let blob = STANDARD.decode(data).map_err(|_| VaultError::Corrupt)?;
        if blob.len() < 12 + 16 {
            return Err(VaultError::Corrupt);
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| VaultError::Corrupt)
    }

    /// True when `sealed` was not sealed with the current key.
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed.split(':').nth(1) != Some(self.current.id.as_str())
    }
}

#[allow(clippy::panic)]
fn unreachable_key() -> Vault {
    panic!("a 32-byte key is always a valid AES-256 key")
}

fn key_from_file(path: &Path) -> Result<Key, VaultError> {
    let io = |source| VaultError::KeyFile {
        path: path.display().to_string(),
        source,
    };
    if !path.exists() {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        write_private_file(path, STANDARD.encode(bytes).as_bytes()).map_err(io)?;
    }
    let raw = std::fs::read_to_string(path).map_err(io)?;
    Key::from_base64(&SecretString::from(raw), "RAPPORT_SECRET_KEY (key file)")
}

/// Writes a file readable by its owner only.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Checks that a configured key is usable and not visibly weak (all bytes equal, or mostly zero).
pub fn key_strength(raw: &SecretString) -> Result<(), VaultError> {
    let var = "RAPPORT_SECRET_KEY";
    let bytes = STANDARD
        .decode(raw.expose_secret().trim())
        .map_err(|_| VaultError::BadKey { var })?;
    if bytes.len() != 32 {
        return Err(VaultError::BadKey { var });
    }
    let distinct: std::collections::BTreeSet<u8> = bytes.iter().copied().collect();
    if distinct.len() < 8 {
        return Err(VaultError::BadKey { var });
    }
    Ok(())
}

/// A new random key, base64, for `rapport secrets generate-key`.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_context() {
        let vault = Vault::random();
        let sealed = vault.seal("access-token-123", "connections.access_token:7");
        assert!(sealed.starts_with(&format!("v1:{}:", vault.key_id())));
        assert!(!sealed.contains("access-token-123"));
        assert_eq!(
            vault
                .open(&sealed, "connections.access_token:7")
                .unwrap()
                .expose_secret(),
            "access-token-123"
        );
        assert!(matches!(
            vault.open(&sealed, "connections.access_token:8"),
            Err(VaultError::Corrupt)
        ));
        assert_ne!(vault.seal("x", "c"), vault.seal("x", "c"), "nonces differ");
    }

    #[test]
    fn tampering_and_unknown_keys_are_refused() {
        let vault = Vault::random();
        let sealed = vault.seal("secret", "ctx");
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(
            vault.open(&tampered, "ctx"),
            Err(VaultError::Corrupt)
        ));
        let other = Vault::random();
        assert!(matches!(
            other.open(&vault.seal("s", "ctx"), "ctx"),
            Err(VaultError::UnknownKey { .. })
        ));
    }

    #[test]
    fn previous_key_opens_old_values_during_rotation() {
        let old = Vault::random();
        let sealed = old.seal("token", "ctx");
        let rotated = Vault {
            current: Vault::random().current,
            previous: Some(old.current),
        };
        assert!(rotated.is_stale(&sealed));
        assert_eq!(
            rotated.open(&sealed, "ctx").unwrap().expose_secret(),
            "token"
        );
        let resealed = rotated.seal("token", "ctx");
        assert!(!rotated.is_stale(&resealed));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let a = key_from_file(&path).unwrap();
        let b = key_from_file(&path).unwrap();
        assert_eq!(a.id, b.id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
