//! Is a certificate one MNotify can use? Chain and signature to the configured STISC
//! trust anchors, validity at a given time, key strength.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{decode, Certificate};
use crate::problem::Problem;

/// Certificate chains longer than this (leaf excluded) are not followed.
const MAX_CHAIN_DEPTH: usize = 4;

/// The trusted issuing and root CAs, from `[trust] anchors`.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    anchors: Vec<Certificate>,
}

/// A trust anchor file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("cannot read trust anchor file {path}: {source}; check the path in [trust] anchors")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "trust anchor file {path} holds no certificate; give PEM or DER certificate files \
         in [trust] anchors"
    )]
    NoCertificate { path: PathBuf },
}

impl TrustAnchors {
    pub fn new(anchors: Vec<Certificate>) -> TrustAnchors {
        TrustAnchors { anchors }
    }

    /// Reads every certificate of every file (PEM, DER or PKCS#7 bundles).
    pub fn load(paths: &[PathBuf]) -> Result<TrustAnchors, AnchorError> {
        let mut anchors = Vec::new();
        for path in paths {
            anchors.extend(load_file(path)?);
        }
        Ok(TrustAnchors { anchors })
    }

    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Certificate> {
        self.anchors.iter()
    }
}

fn load_file(path: &Path) -> Result<Vec<Certificate>, AnchorError> {
    let bytes = std::fs::read(path).map_err(|source| AnchorError::Read {
        path: path.into(),
        source,
    })?;
    let certs: Vec<Certificate> = decode(&bytes)
        .certificates
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .collect();
    if certs.is_empty() {
        return Err(AnchorError::NoCertificate { path: path.into() });
    }
    Ok(certs)
}

/// How a certificate relates to the trust anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    Trusted,
    /// An issuer with the right name exists but its signature does not verify.
    BadSignature,
    /// No anchor, directly or through the certificates sent alongside, issued it.
    Untrusted,
}

/// The problems of one certificate at `now`, apart from those that depend on the rest of
/// the message (a CA sent alone) or on the registry (revoked).
pub fn problems(
    cert: &Certificate,
    anchors: &TrustAnchors,
    accompanying: &[&Certificate],
    now: OffsetDateTime,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if now < cert.not_before {
        problems.push(Problem::NotYetValid);
    }
    if now > cert.not_after {
        problems.push(Problem::Expired);
    }
    match chain(cert, anchors, accompanying, 0) {
        Validation::Trusted => {}
        Validation::BadSignature => problems.push(Problem::BadSignature),
        Validation::Untrusted => problems.push(Problem::UntrustedIssuer),
    }
    if cert.key.is_weak() {
        problems.push(Problem::WeakKey);
    }
    problems
}

/// Follows issuer names up to an anchor, checking each signature on the way.
pub fn chain(
    cert: &Certificate,
    anchors: &TrustAnchors,
    accompanying: &[&Certificate],
    depth: usize,
) -> Validation {
    if anchors.iter().any(|a| a.der == cert.der) {
        return Validation::Trusted;
    }
    let mut named_anchors = anchors
        .iter()
        .filter(|a| a.subject_raw == cert.issuer_raw)
        .peekable();
    if named_anchors.peek().is_some() {
        return if named_anchors.any(|a| signed_by(cert, a)) {
            Validation::Trusted
        } else {
            Validation::BadSignature
        };
    }
    if depth >= MAX_CHAIN_DEPTH {
        return Validation::Untrusted;
    }
    let mut outcome = Validation::Untrusted;
    let intermediates = accompanying
        .iter()
        .filter(|i| i.is_ca && i.subject_raw == cert.issuer_raw && i.der != cert.der);
    for intermediate in intermediates {
        if !signed_by(cert, intermediate) {
            outcome = Validation::BadSignature;
            continue;
        }
        match chain(intermediate, anchors, accompanying, depth + 1) {
            Validation::Trusted => return Validation::Trusted,
            Validation::BadSignature => outcome = Validation::BadSignature,
            Validation::Untrusted => {}
        }
    }
    outcome
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let (Ok((_, cert)), Ok((_, issuer))) = (
        x509_parser::parse_x509_certificate(&cert.der),
        x509_parser::parse_x509_certificate(&issuer.der),
    ) else {
        return false;
    };
    cert.verify_signature(Some(issuer.public_key())).is_ok()
}
