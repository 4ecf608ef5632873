//! The JSON API: one file per domain, each handler translating an HTTP
//! request into an operation call (`crate::ops`) or a read, and the result
//! into HTTP. Routes are registered once (`crate::routing`), which feeds the
//! router and the OpenAPI document alike.

pub mod actors;
pub mod alerts;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod changes;
pub mod events;
pub mod keys;
pub mod places;
pub mod public;
pub mod stats;
pub mod webhooks;
