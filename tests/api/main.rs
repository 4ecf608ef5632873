//! Integration tests: the real app over HTTP, each test with its own
//! database. SQLite (a temp file) by default; set
//! `VIGIA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` to run
//! the same suite on PostgreSQL, one fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod actors;
mod admin_pages;
mod alerts;
mod analysis;
mod attachments;
mod audit;
mod backup;
mod cases;
mod changes;
mod cli;
mod consequences;
mod copy;
mod event_import;
mod events;
mod exports;
mod geometry;
mod helpers;
mod idempotency;
mod imports;
mod listing;
mod mailbox;
mod maps;
mod metrics;
mod operation;
mod pages;
mod places;
mod public;
mod search;
mod security_headers;
mod stats;
mod stored_values;
mod upgrade;
mod validation;
mod watch_mail;
mod watch_pages;
mod webhooks;
