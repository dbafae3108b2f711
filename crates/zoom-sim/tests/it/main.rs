//! Integration tests over real HTTP: one binary, modules by capability.

// Test helpers may panic: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod common;
mod faults;
mod oauth;
mod openapi;
mod persistence;
mod ratelimits;
mod webhooks;
