//! A short-lived, per-process cache of authenticated keys.
//!
//! Looking the key up costs a database round trip on every request (about a
//! tenth of the cost of logging an incident in the benchmark). Entries live
//! `auth.key_cache_seconds` (default 1 s): a key revoked through this
//! process's API stops working at once, one revoked by another process (the
//! CLI, a second server) within that time. Unknown tokens are never cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ApiKey;

/// More live keys than any deployment has; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (ApiKey, Instant)>>,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, token_hash: &str) -> Option<ApiKey> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(token_hash) {
            Some((key, at)) if at.elapsed() < self.ttl => Some(key.clone()),
            _ => None,
        }
    }

    pub fn put(&self, token_hash: String, key: ApiKey) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_hash, (key, Instant::now()));
    }

    /// Drops every entry of the key `id` (after a revocation).
    pub fn forget(&self, id: uuid::Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (key, _)| key.id != id);
    }
}
