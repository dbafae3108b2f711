//! Integration tests over real HTTP: one binary, modules by capability.

mod api;
mod common;
mod oauth;
