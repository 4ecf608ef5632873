//! Vigía: records, links and watches social conflicts around mining in Peru.
//!
//! Each domain module (`events`, `keys`, `audit`) owns its types, storage
//! and routes; `startup` wires them into one actix-web app; `db` hides the
//! two databases behind one connection type. See docs/ARCHITECTURE.md.

/// A closed set of values carried as text in JSON and in the database.
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted values, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }
    };
}

pub mod actors;
pub mod alerts;
pub mod audit;
pub mod cases;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod http;
pub mod keys;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod places;
pub mod rules;
pub mod schema;
pub mod startup;
pub mod telemetry;
pub mod text;
