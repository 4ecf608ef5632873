//! Vigía: records, links and watches social conflicts around mining in Peru.
//!
//! Each domain module (`events`, `keys`, `audit`) owns its types, storage
//! and routes; `startup` wires them into one actix-web app; `db` hides the
//! two databases behind one connection type. See docs/ARCHITECTURE.md.

/// A closed set of values carried as text in JSON and in the database.
///
/// The enum is a diesel `Text` value on every backend (SQLite, PostgreSQL and
/// the `MultiBackend` of [`db::DbConn`]): a row struct declares the column as
/// the enum (or `Option` of it) and diesel writes and reads the same text as
/// `as_str`. A text the enum does not know reads as a deserialization error
/// naming the column and the value.
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
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

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(
                        bytes,
                    )?;
                // diesel wraps this error with the column's name.
                $name::parse(&text).ok_or_else(|| {
                    format!(
                        "unknown {} value {:?} (expected one of: {})",
                        stringify!($name),
                        text,
                        $name::names()
                    )
                    .into()
                })
            }
        }
    };
}

pub mod accounts;
pub mod actors;
pub mod alerts;
pub mod api;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod changes;
pub mod cli;
pub mod config;
pub mod csv_safe;
pub mod db;
pub mod error;
pub mod events;
pub mod files;
pub mod headers;
pub mod http;
pub mod i18n;
pub mod idempotency;
pub mod keys;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod places;
pub mod routing;
pub mod rules;
pub mod schema;
pub mod staging;
pub mod startup;
pub mod telemetry;
pub mod text;
pub mod web;
