//! Meetings with contacts: schedule (with the contact's invitation), list, start, reschedule,
//! cancel, and changes made in Zoom.

pub mod form;
pub mod invite;
pub mod routes;
pub mod service;
pub mod storage;

pub use routes::router;
