//! Integration tests over real HTTP: wiremock stands in for Zoom (and, where noted, a raw
//! TCP listener for faults wiremock cannot produce).

// Test helpers outside #[test] functions are test code too (clippy.toml allows these in tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod endpoint_coverage;
mod errors;
mod meetings;
mod oauth;
mod retries;
mod sim;
