//! Credentials as types whose `Debug` never shows the value, so a stray `{:?}` in a log
//! line or an error cannot leak them.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

macro_rules! secret_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The raw value, for sending it to Zoom or encrypting it at rest.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<SecretString> for $name {
            fn from(value: SecretString) -> Self {
                Self(value)
            }
        }
    };
}

secret_newtype!(
    /// A Zoom OAuth access token (one hour lifetime). Sent only in `Authorization: Bearer`.
    AccessToken
);
secret_newtype!(
    /// A Zoom OAuth refresh token. Zoom rotates it on every refresh: only the latest works.
    RefreshToken
);
