//! The mailbox application's credential in the digest: from a month before its
//! secret or certificate expires, the digest says the day and what to do, so that the
//! mail does not stop silently (as peers' users found when a secret ran out).

use time::{Duration, OffsetDateTime};

use super::Digest;

/// Days before a credential's expiry from which it is said.
pub const CREDENTIAL_WARNING_DAYS: i64 = 30;

/// The mailbox application's credential: when it expires, and whether it is a client
/// secret (else a certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub expires: OffsetDateTime,
    pub secret: bool,
}

impl Digest {
    /// Adds the `[oauth2]` credential's expiry when it is near or past.
    pub fn with_credential(mut self, credential: Option<Credential>) -> Digest {
        self.credential =
            credential.filter(|c| c.expires - self.now < Duration::days(CREDENTIAL_WARNING_DAYS));
        self
    }
}
