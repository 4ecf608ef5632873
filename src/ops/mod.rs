//! Operations: every use case that changes Vigía's state, one function each,
//! called alike by the JSON API, the command line and (later) the web pages.
//!
//! An operation takes who is calling ([`Who`]) and an input already read
//! from the request (parsed, not yet judged), and does, in this order:
//! the permission check, the input rules, one write transaction
//! (`db::write_tx`), the change itself through its module's store, its audit
//! record, and its consequences for the other modules, which
//! [`consequences::follow`] decides in one place. Handlers only translate
//! HTTP into a call and the result into HTTP.
//!
//! Stores (`<module>::store`) read and write their own module's tables
//! only; they never call another module's store. Everything that spans
//! modules is composed here.

pub mod accounts;
pub mod actors;
pub mod alerts;
pub mod attachments;
pub mod backup;
pub mod cases;
pub mod changes;
pub mod consequences;
pub mod copy;
pub mod deliveries;
pub mod event_import;
pub mod events;
pub mod keys;
pub mod places;
pub mod public;

use crate::audit;
use crate::error::AppError;
use crate::keys::{Caller, Role};

/// Who is calling an operation: a role and the name the audit trail keeps.
#[derive(Debug, Clone)]
pub struct Who {
    pub role: Role,
    /// What the audit trail and `created_by` record.
    pub actor: audit::Actor,
}

impl Who {
    /// An operator at the command line: trusted like an admin (whoever runs
    /// the binary already holds the database).
    pub fn cli() -> Self {
        Who {
            role: Role::Admin,
            actor: audit::Actor::cli(),
        }
    }

    /// 403 unless the role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role; {:?} is {}",
                needed.as_str(),
                self.actor.name,
                self.role.as_str()
            )))
        }
    }

    pub fn is(&self, role: Role) -> bool {
        self.role >= role
    }

    /// Whose idempotency keys these are: the key's id, or `user:<id>`.
    pub fn owner(&self) -> String {
        self.actor
            .key_id
            .clone()
            .unwrap_or_else(|| format!("name:{}", self.actor.name))
    }
}

impl From<&Caller> for Who {
    fn from(caller: &Caller) -> Self {
        Who {
            role: caller.role,
            actor: caller.actor(),
        }
    }
}
