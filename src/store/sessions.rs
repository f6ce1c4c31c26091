//! The console's sessions and sign-ins under way, kept in the store so that a restart
//! keeps staff signed in and every session can be ended from one place. A session is
//! found by the SHA-256 of its cookie, never by the cookie itself: a backup or a copy
//! of the store holds nothing a browser could present. Not in backups.

use sha2::Digest;

use super::*;
use serde::Deserialize;

/// Staff signed in through the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSession {
    /// The token's `iss` and `sub`: who it is, for good.
    pub issuer: String,
    pub subject: String,
    /// For people: the token's `name` and `email` (or `preferred_username`).
    pub name: String,
    pub email: String,
    /// `viewer` or `staff`.
    pub role: String,
    /// The form token every change must carry.
    pub csrf: String,
    /// For the provider's logout (`id_token_hint`).
    pub id_token: String,
    /// Unix seconds.
    pub signed_in: i64,
    pub last_seen: i64,
}

/// A sign-in sent to the provider and not yet back: what the callback must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub nonce: String,
    /// PKCE's code verifier.
    pub verifier: String,
    /// The console page to go back to (a path of ours).
    pub return_to: String,
    pub started: i64,
}

fn hashed(prefix: &str, secret: &str) -> Vec<u8> {
    let mut key = prefix.as_bytes().to_vec();
    key.extend_from_slice(hex::encode(sha2::Sha256::digest(secret.as_bytes())).as_bytes());
    key
}

impl Store {
    pub fn save_session(&self, cookie: &str, session: &WebSession) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.web.insert(hashed("s/", cookie), to_json(session))?;
        Ok(())
    }

    pub fn session(&self, cookie: &str) -> Result<Option<WebSession>, StoreError> {
        Ok(self
            .web
            .get(hashed("s/", cookie))?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    pub fn end_session(&self, cookie: &str) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.web.remove(hashed("s/", cookie))?;
        Ok(())
    }

    pub fn start_sign_in(&self, state: &str, pending: &PendingSignIn) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.web.insert(hashed("l/", state), to_json(pending))?;
        Ok(())
    }

    /// The sign-in `state` names, taken (a callback replayed finds nothing).
    pub fn take_sign_in(&self, state: &str) -> Result<Option<PendingSignIn>, StoreError> {
        let _writing = self.writing();
        Ok(self
            .web
            .remove(hashed("l/", state))?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Removes sessions and sign-ins `expired` says are over (and unreadable ones);
    /// returns how many went.
    pub fn prune_sessions(
        &self,
        session_over: impl Fn(&WebSession) -> bool,
        sign_in_over: impl Fn(&PendingSignIn) -> bool,
    ) -> Result<usize, StoreError> {
        let _writing = self.writing();
        let mut removed = 0;
        for item in self.web.iter() {
            let (key, value) = item?;
            let over = match key.first() {
                Some(b's') => serde_json::from_slice(&value).map_or(true, |s| session_over(&s)),
                _ => serde_json::from_slice(&value).map_or(true, |l| sign_in_over(&l)),
            };
            if over {
                self.web.remove(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Sessions kept now (signed in and not pruned).
    pub fn session_count(&self) -> usize {
        self.web.scan_prefix(b"s/").count()
    }
}
