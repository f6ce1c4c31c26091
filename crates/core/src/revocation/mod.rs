//! Revocation: what the certificate authorities' revocation lists (CRLs) say of a
//! certificate. Pure: CRL bytes are read and checked against the trust anchors here,
//! and a certificate's status is looked up at a given time; where the bytes come from
//! (files, the certificates' distribution points over HTTP) is [`keeper`]'s business.
//!
//! A CRL counts only when an anchor with its issuer's name signed it. A certificate is
//! `revoked` when a CRL of its issuer lists it, `on_hold` when the entry's reason is
//! certificateHold (STISC's suspension: reversible), `good` when a current CRL of its
//! issuer does not list it, and `unknown` otherwise (no CRL, or only an out-of-date
//! one): never silently good.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::OffsetDateTime;

use crate::certificate::TrustAnchors;
use crate::serials::canonical_serial_from_bytes;

/// One revocation list, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    /// DER of the issuer's name, compared with certificates' issuer names.
    pub issuer_raw: Vec<u8>,
    pub issuer: String,
    pub this_update: OffsetDateTime,
    /// After this the list is out of date: it says nothing any more of what is good.
    pub next_update: Option<OffsetDateTime>,
    /// Canonical serial → the entry.
    pub entries: HashMap<String, Entry>,
    /// Where it came from (a file path or a URL), for messages.
    pub source: String,
    /// It covers every certificate of its issuer (a CRL file the operator names); a
    /// CRL fetched from a distribution point covers the certificates naming that point
    /// only (a CA may split its list).
    pub whole_issuer: bool,
}

/// A listed certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub at: OffsetDateTime,
    /// certificateHold: suspended, may be lifted.
    pub hold: bool,
}

/// Why CRL bytes were not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    #[error("not a certificate revocation list (DER or PEM): {0}")]
    Unreadable(String),
    #[error("issued by {0}, which is not one of the trust anchors")]
    UnknownIssuer(String),
    #[error("its signature does not verify with the key of {0} (altered or forged)")]
    BadSignature(String),
}

/// Why a CRL file is not used: not readable, or not a list we accept.
#[derive(Debug, thiserror::Error)]
pub enum CrlFileError {
    #[error("cannot read it: {0}")]
    Unreadable(std::io::Error),
    #[error(transparent)]
    Crl(#[from] CrlError),
}

/// certificateHold, RFC 5280 §5.3.1.
const REASON_CERTIFICATE_HOLD: u8 = 6;

impl Crl {
    /// Reads a CRL (DER, or PEM `X509 CRL`) from `source` and checks that an anchor
    /// named as its issuer signed it.
    pub fn read(bytes: &[u8], source: &str, anchors: &TrustAnchors) -> Result<Crl, CrlError> {
        let der = pem_body(bytes).unwrap_or_else(|| bytes.to_vec());
        let (_, crl) =
            x509_parser::parse_x509_crl(&der).map_err(|e| CrlError::Unreadable(e.to_string()))?;
        let issuer_raw = crl.issuer().as_raw().to_vec();
        let issuer = crl.issuer().to_string();
        let mut signers = anchors
            .iter()
            .filter(|a| a.subject_raw == issuer_raw)
            .peekable();
        if signers.peek().is_none() {
            return Err(CrlError::UnknownIssuer(issuer));
        }
        let verified = signers.any(|a| {
            x509_parser::parse_x509_certificate(&a.der)
                .is_ok_and(|(_, cert)| crl.verify_signature(cert.public_key()).is_ok())
        });
        if !verified {
            return Err(CrlError::BadSignature(issuer));
        }
        let entries = crl
            .iter_revoked_certificates()
            .map(|r| {
                let hold = r
                    .reason_code()
                    .is_some_and(|(_, code)| code.0 == REASON_CERTIFICATE_HOLD);
                let entry = Entry {
                    at: r.revocation_date.to_datetime(),
                    hold,
                };
                (canonical_serial_from_bytes(r.raw_serial()), entry)
            })
            .collect();
        Ok(Crl {
            issuer_raw,
            issuer,
            this_update: crl.last_update().to_datetime(),
            next_update: crl.next_update().map(|t| t.to_datetime()),
            entries,
            source: source.to_string(),
            whole_issuer: true,
        })
    }

    /// Reads the CRL file at `path` (see [`Crl::read`]).
    pub fn read_file(path: &std::path::Path, anchors: &TrustAnchors) -> Result<Crl, CrlFileError> {
        let source = path.display().to_string();
        let bytes = std::fs::read(path).map_err(CrlFileError::Unreadable)?;
        Ok(Crl::read(&bytes, &source, anchors)?)
    }

    /// What the list says of the certificate with this canonical serial, if it lists it.
    fn listed(&self, serial: &str) -> Option<Revocation> {
        let entry = self.entries.get(serial)?;
        let source = self.source.clone();
        Some(if entry.hold {
            Revocation::OnHold {
                at: entry.at,
                source,
            }
        } else {
            Revocation::Revoked {
                at: entry.at,
                source,
            }
        })
    }

    fn current(&self, now: OffsetDateTime) -> bool {
        self.next_update.is_none_or(|next| now <= next)
    }
}

/// The body of a PEM `X509 CRL` block, if `bytes` is PEM.
fn pem_body(bytes: &[u8]) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateRevocationListDer::from_pem_slice(bytes)
        .ok()
        .map(|crl| crl.as_ref().to_vec())
}

/// What the CRLs say of one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Revocation {
    /// A current CRL of its issuer does not list it.
    Good { source: String },
    Revoked {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        source: String,
    },
    /// Suspended (certificateHold): refused while it lasts.
    OnHold {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        source: String,
    },
    /// Nothing current to go by; `why` says what is missing, for staff.
    Unknown { why: String },
}

impl Revocation {
    /// Why a certificate with this status cannot be used, if it cannot.
    pub fn problem(&self) -> Option<crate::problem::Problem> {
        match self {
            Revocation::Revoked { .. } => Some(crate::problem::Problem::Revoked),
            Revocation::OnHold { .. } => Some(crate::problem::Problem::Suspended),
            Revocation::Good { .. } | Revocation::Unknown { .. } => None,
        }
    }
}

/// The CRLs at hand, and the sources that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    /// Off (no CRL configured): nothing is said of revocation, the registry's status
    /// alone counts.
    pub checking: bool,
    crls: BTreeMap<String, Crl>,
    /// Source → why the last attempt to read it failed (while no CRL from it is held).
    failures: BTreeMap<String, String>,
}

impl Revocations {
    /// Checking on, nothing read yet.
    pub fn checking() -> Revocations {
        Revocations {
            checking: true,
            ..Revocations::default()
        }
    }

    /// Takes a newly read CRL from its source (replacing the one before).
    pub fn insert(&mut self, crl: Crl) {
        self.failures.remove(&crl.source);
        self.crls.insert(crl.source.clone(), crl);
    }

    /// Notes that `source` could not be read. A CRL read from it before stays (until its
    /// next update passes, when it stops counting as current).
    pub fn failed(&mut self, source: &str, why: String) {
        self.failures.insert(source.to_string(), why);
    }

    pub fn crl(&self, source: &str) -> Option<&Crl> {
        self.crls.get(source)
    }

    pub fn crls(&self) -> impl Iterator<Item = &Crl> {
        self.crls.values()
    }

    /// What the CRLs say of the certificate with this issuer name (DER) and canonical
    /// serial, whose distribution points are `urls`; `None` when not checking.
    pub fn status(
        &self,
        issuer_raw: &[u8],
        serial: &str,
        urls: &[String],
        now: OffsetDateTime,
    ) -> Option<Revocation> {
        if !self.checking {
            return None;
        }
        let of_issuer: Vec<&Crl> = self
            .crls
            .values()
            .filter(|c| c.issuer_raw == issuer_raw)
            .collect();
        if let Some(listed) = of_issuer.iter().find_map(|c| c.listed(serial)) {
            return Some(listed);
        }
        // A serial is listed in whichever list of its issuer; "not listed" counts only
        // from a list that covers the certificate.
        let covering: Vec<&Crl> = of_issuer
            .into_iter()
            .filter(|c| c.whole_issuer || urls.contains(&c.source))
            .collect();
        if let Some(crl) = covering.iter().find(|c| c.current(now)) {
            return Some(Revocation::Good {
                source: crl.source.clone(),
            });
        }
        Some(Revocation::Unknown {
            why: self.why_unknown(&covering, urls),
        })
    }

    /// Whether a CRL lists the certificate of this issuer (by name, as a registry
    /// entry has it) and canonical serial: for numbers quoted from the registry, whose
    /// certificate is not at hand. `None` when not checking or not listed.
    pub fn listed_by_name(&self, issuer: &str, serial: &str) -> Option<Revocation> {
        if !self.checking {
            return None;
        }
        let key = crate::registry::issuer_key(issuer);
        self.crls
            .values()
            .filter(|c| crate::registry::issuer_key(&c.issuer) == key)
            .find_map(|c| c.listed(serial))
    }

    fn why_unknown(&self, of_issuer: &[&Crl], urls: &[String]) -> String {
        if let Some(stale) = of_issuer.iter().max_by_key(|c| c.next_update) {
            let next = stale
                .next_update
                .map(|t| t.date().to_string())
                .unwrap_or_default();
            return format!(
                "revocation unknown: the CRL from {} is out of date (next update was due {next})",
                stale.source
            );
        }
        let failures: Vec<String> = urls
            .iter()
            .filter_map(|u| self.failures.get(u).map(|why| format!("{u}: {why}")))
            .collect();
        if !failures.is_empty() {
            return format!(
                "revocation unknown: its CRL could not be read ({})",
                failures.join("; ")
            );
        }
        if urls.is_empty() {
            "revocation unknown: no CRL of its issuer is at hand and it names no distribution point (list the CRL in [revocation] crl_files)".into()
        } else {
            format!(
                "revocation unknown: no CRL of its issuer is at hand (distribution point {}; is [revocation] fetch on?)",
                urls.join(", ")
            )
        }
    }
}

/// The CRLs of the tests here and in the daemon crate's keeper: a week's CRL of a test
/// PKI revoking one serial and holding another.
#[cfg(any(test, feature = "testkit"))]
pub mod for_tests {
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use crate::certificate::Certificate;
    use crate::testkit::pki::{LeafSpec, Pki};

    pub const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);
    pub const GOOD: &[u8] = &[0x11, 0x22];
    pub const REVOKED: &[u8] = &[0x33, 0x44];
    pub const HELD: &[u8] = &[0x55, 0x66];

    /// A system certificate of `pki` with `serial`, valid at [`NOW`].
    pub fn leaf(pki: &Pki, serial: &[u8]) -> Certificate {
        Certificate::from_der(&pki.leaf(&LeafSpec::valid_at(NOW, "SI", serial))).unwrap()
    }

    /// The issuing CA's CRL from yesterday to six days on: [`REVOKED`] revoked,
    /// [`HELD`] on hold.
    pub fn week_crl(pki: &Pki) -> Vec<u8> {
        pki.crl(
            &[(REVOKED, false), (HELD, true)],
            NOW - Duration::days(1),
            NOW + Duration::days(6),
        )
    }
}

#[cfg(test)]
mod tests;
