//! Keeps the CRLs at hand current, at the edge: `[revocation] crl_files` read again
//! when they change, and the distribution points of certificates that chain to a trust
//! anchor fetched over HTTP (with a timeout and a size limit) when first seen, then on a
//! schedule. Only a certificate the STISC CAs signed names a URL the daemon will fetch:
//! a stranger's certificate cannot make it request anything.
//!
//! Fetching blocks the caller for at most the timeout per URL; the daemon handles one
//! message at a time, and a certificate's URL is fetched once, not per message.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use time::OffsetDateTime;
use tracing::{info, warn};

use super::{Crl, Revocations};
use crate::certificate::{validate, Certificate, TrustAnchors, Validation};

pub use crate::config::CrlSources;

/// After a failed or out-of-date read, the next try waits at least this long.
const RETRY: Duration = Duration::from_secs(15 * 60);

/// Distinct distribution points followed; a CA has one or two.
const MAX_URLS: usize = 32;

/// The CRLs, and when each source was last read.
pub struct Keeper {
    sources: CrlSources,
    anchors: TrustAnchors,
    revocations: Revocations,
    /// Source (URL or file path) → when it was last tried.
    tried: HashMap<String, Instant>,
    /// File → its modification time and length when last read.
    read_files: HashMap<PathBuf, (SystemTime, u64)>,
}

impl Keeper {
    /// Reads the CRL files at once (a bad one is logged and counts as unread).
    pub fn new(sources: CrlSources, anchors: TrustAnchors, now: OffsetDateTime) -> Keeper {
        let revocations = if sources.checking() {
            Revocations::checking()
        } else {
            Revocations::default()
        };
        let mut keeper = Keeper {
            sources,
            anchors,
            revocations,
            tried: HashMap::new(),
            read_files: HashMap::new(),
        };
        keeper.refresh(now);
        keeper
    }

    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// Reads the files that changed and fetches the URLs that are due. Blocking.
    pub fn refresh(&mut self, now: OffsetDateTime) {
        for path in self.sources.files.clone() {
            let modified = std::fs::metadata(&path)
                .and_then(|m| Ok((m.modified()?, m.len())))
                .ok();
            if modified.is_some() && self.read_files.get(&path) == modified.as_ref() {
                continue;
            }
            let source = path.display().to_string();
            let read = Crl::read_file(&path, &self.anchors);
            if let Some(m) = modified {
                self.read_files.insert(path, m);
            }
            self.take(&source, read.map_err(|e| e.to_string()));
        }
        let due: Vec<String> = self
            .tried
            .keys()
            .filter(|url| self.due(url, now))
            .cloned()
            .collect();
        for url in due {
            self.fetch(&url);
        }
    }

    /// Fetches the distribution points of the trusted certificates in a mail (see
    /// [`trusted_urls`]) not tried yet, before the mail is decided. Blocking; nothing
    /// is parsed when fetching is off.
    pub fn learn_from(&mut self, facts: &crate::intake::Facts) {
        if !self.sources.fetch {
            return;
        }
        let parsed: Vec<Certificate> = facts
            .certificates
            .iter()
            .filter_map(|f| Certificate::from_der(&f.der).ok())
            .collect();
        let urls = trusted_urls(&parsed, &self.anchors);
        self.learn(&urls);
    }

    /// Fetches the distribution points among `urls` not tried yet (certificates seen
    /// for the first time). Blocking.
    pub fn learn(&mut self, urls: &[String]) {
        if !self.sources.fetch {
            return;
        }
        for url in urls {
            if !self.tried.contains_key(url) && self.tried.len() < MAX_URLS {
                self.fetch(url);
            }
        }
    }

    fn due(&self, url: &str, now: OffsetDateTime) -> bool {
        let Some(last) = self.tried.get(url) else {
            return true;
        };
        let since = last.elapsed();
        let current = self
            .revocations
            .crl(url)
            .is_some_and(|c| c.next_update.is_none_or(|n| now <= n));
        since >= self.sources.refresh || (!current && since >= RETRY)
    }

    fn fetch(&mut self, url: &str) {
        self.tried.insert(url.to_string(), Instant::now());
        let read = get(url, self.sources.timeout, self.sources.max_bytes).and_then(|bytes| {
            let crl = Crl::read(&bytes, url, &self.anchors).map_err(|e| e.to_string())?;
            Ok(Crl {
                whole_issuer: false,
                ..crl
            })
        });
        self.take(url, read);
    }

    fn take(&mut self, source: &str, read: Result<Crl, String>) {
        match read {
            Ok(crl) => {
                info!(%source, issuer = %crl.issuer, revoked = crl.entries.len(), "CRL read");
                self.revocations.insert(crl);
            }
            Err(why) => {
                warn!(%source, "CRL not read: {why}; certificates of its issuer are shown to staff as revocation unknown");
                self.revocations.failed(source, why);
            }
        }
    }
}

/// The distribution points worth fetching among `certificates`: those of end-entity
/// certificates that chain to an anchor (signatures checked), over plain HTTP (RFC
/// 5280's advice for CRLs; LDAP is not spoken).
pub fn trusted_urls(certificates: &[Certificate], anchors: &TrustAnchors) -> Vec<String> {
    let all: Vec<&Certificate> = certificates.iter().collect();
    let mut urls: Vec<String> = certificates
        .iter()
        .filter(|c| !c.is_ca && !c.crl_urls.is_empty())
        .filter(|c| validate::chain(c, anchors, &all, 0) == Validation::Trusted)
        .flat_map(|c| c.crl_urls.iter().cloned())
        .filter(|u| u.to_ascii_lowercase().starts_with("http://"))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// One HTTP GET, bounded in time and size.
fn get(url: &str, timeout: Duration, max_bytes: u64) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(2)
        .user_agent(concat!("mnotify-intake/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Timeout(_) => format!("no answer within {} s", timeout.as_secs()),
        other => other.to_string(),
    })?;
    response
        .body_mut()
        .with_config()
        .limit(max_bytes)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => {
                format!("larger than {max_bytes} bytes ([revocation] max_bytes)")
            }
            other => other.to_string(),
        })
}
