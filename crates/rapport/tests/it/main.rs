//! Rapport's integration tests: one binary (it links once). Each test starts Rapport in-process
//! on a random port against a fresh database and drives it over real HTTP, as a browser would.
//! Storage-touching tests run on SQLite and on PostgreSQL (`TEST_DATABASE_URL`, set by
//! `cargo xtask test`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kit;
mod support;

mod accounts;
mod browser;
mod cli;
mod contacts;
mod jobs_and_mail;
mod logs;
mod marketplace;
mod meetings;
mod meetings_restart;
mod storage;
mod zoom;
