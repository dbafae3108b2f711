//! Rapport: a self-hostable CRM for meeting your contacts over Zoom.
//!
//! Layout: one module per capability (`accounts`, `contacts`, `meetings`, `mail`, `jobs`), each
//! with its routes, storage and logic; `web` holds what every page shares; `db` the storage layer
//! for SQLite and PostgreSQL. Data flows one way: routes → capability services → storage.

pub mod accounts;
pub mod app;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod contacts;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod flags;
pub mod jobs;
pub mod mail;
pub mod marketplace;
pub mod meetings;
pub mod ops;
pub mod program;
pub mod telemetry;
pub mod vault;
pub mod web;
pub mod zoom;
