//! X.509 certificates: what one says about itself ([`Certificate`]), how to find them in
//! files ([`decode`](mod@decode)), and whether one can be trusted ([`validate`]).

pub mod decode;
pub mod validate;

use serde::Serialize;
use sha1::Digest;
use time::OffsetDateTime;
use x509_parser::public_key::PublicKey;

use crate::serials::canonical_serial_from_bytes;

pub use decode::{decode, decode_pem_text, Decoded};
pub use validate::{TrustAnchors, Validation};

/// The facts of one certificate, read once from its DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    /// Canonical serial (see [`crate::serials`]).
    pub serial: String,
    pub sha1: String,
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// basicConstraints cA = true.
    pub is_ca: bool,
    pub key: KeyInfo,
    /// E-mail addresses the certificate names (subject emailAddress, SAN rfc822Name),
    /// lower case: staff compare them with the institution that sent it.
    pub emails: Vec<String>,
    /// The URIs of its CRL distribution points (where its issuer publishes revocations),
    /// at most a few.
    pub crl_urls: Vec<String>,
}

/// Public key algorithm and strength.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub algorithm: &'static str,
    pub bits: usize,
}

impl KeyInfo {
    /// RSA under 2048 bits, EC under 256 bits, DSA always: none of these is acceptable
    /// for a system certificate today.
    pub fn is_weak(&self) -> bool {
        match self.algorithm {
            "RSA" => self.bits < 2048,
            "EC" => self.bits < 256,
            "DSA" => true,
            _ => false,
        }
    }
}

/// The DER could not be read as a certificate.
#[derive(Debug, thiserror::Error)]
#[error("not an X.509 certificate: {reason}")]
pub struct NotACertificate {
    reason: String,
}

impl Certificate {
    pub fn from_der(der: &[u8]) -> Result<Certificate, NotACertificate> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| NotACertificate {
            reason: e.to_string(),
        })?;
        let tbs = &cert.tbs_certificate;
        Ok(Certificate {
            serial: canonical_serial_from_bytes(tbs.raw_serial()),
            sha1: hex::encode_upper(sha1::Sha1::digest(der)),
            sha256: hex::encode_upper(sha2::Sha256::digest(der)),
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            subject_raw: tbs.subject.as_raw().to_vec(),
            issuer_raw: tbs.issuer.as_raw().to_vec(),
            not_before: tbs.validity.not_before.to_datetime(),
            not_after: tbs.validity.not_after.to_datetime(),
            is_ca: cert.is_ca(),
            key: key_info(tbs.subject_pki.parsed().ok()),
            emails: emails(&cert),
            crl_urls: crl_urls(&cert),
            der: der.to_vec(),
        })
    }

    /// Self-issued: subject and issuer are the same name.
    pub fn is_self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }
}

/// The URIs of the certificate's CRL distribution points, at most four (a
/// certificate built to list thousands gets the first ones).
fn crl_urls(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
    const MAX_URLS: usize = 4;
    let mut out = Vec::new();
    for ext in cert.extensions() {
        let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() else {
            continue;
        };
        for point in points.iter() {
            if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                out.extend(names.iter().filter_map(|n| match n {
                    GeneralName::URI(uri) => Some(uri.to_string()),
                    _ => None,
                }));
            }
        }
    }
    out.truncate(MAX_URLS);
    out
}

/// The e-mail addresses in the subject and the subject alternative names, at most a
/// handful (a certificate built to list thousands gets the first ones).
fn emails(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    const MAX_EMAILS: usize = 8;
    let mut out: Vec<String> = cert
        .subject()
        .iter_email()
        .filter_map(|a| a.as_str().ok())
        .map(str::to_ascii_lowercase)
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        out.extend(san.value.general_names.iter().filter_map(|n| match n {
            x509_parser::extensions::GeneralName::RFC822Name(e) => Some(e.to_ascii_lowercase()),
            _ => None,
        }));
    }
    out.sort();
    out.dedup();
    out.truncate(MAX_EMAILS);
    out
}

fn key_info(key: Option<PublicKey<'_>>) -> KeyInfo {
    match key {
        Some(PublicKey::RSA(rsa)) => KeyInfo {
            algorithm: "RSA",
            bits: significant_bits(rsa.modulus),
        },
        Some(PublicKey::EC(ec)) => KeyInfo {
            algorithm: "EC",
            bits: ec.key_size(),
        },
        Some(PublicKey::DSA(y)) => KeyInfo {
            algorithm: "DSA",
            bits: y.len() * 8,
        },
        Some(other) => KeyInfo {
            algorithm: "other",
            bits: other.key_size(),
        },
        None => KeyInfo {
            algorithm: "unknown",
            bits: 0,
        },
    }
}

/// Bits of a big-endian unsigned integer, leading zeros ignored.
fn significant_bits(bytes: &[u8]) -> usize {
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return 0;
    };
    (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_ignore_sign_byte() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(significant_bits(&[0x7f, 0x00]), 15);
        assert_eq!(significant_bits(&[]), 0);
    }

    #[test]
    fn weak_keys() {
        assert!(KeyInfo {
            algorithm: "RSA",
            bits: 1024
        }
        .is_weak());
        assert!(!KeyInfo {
            algorithm: "RSA",
            bits: 2048
        }
        .is_weak());
        assert!(KeyInfo {
            algorithm: "EC",
            bits: 192
        }
        .is_weak());
        assert!(!KeyInfo {
            algorithm: "EC",
            bits: 256
        }
        .is_weak());
    }
}
