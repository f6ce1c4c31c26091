//! Bytes → certificates. Whatever the file is called and however it was encoded (DER,
//! PEM, PKCS#7 bundle, bare base64), find the certificates in it, and notice the things
//! people send instead: private keys (PKCS#12/PFX, PEM or DER keys) and certificate
//! requests. Private-key bytes are never copied out of the input.

use std::sync::LazyLock;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use der::{Decode, Encode};
use regex::Regex;
use x509_parser::der_parser::ber::BerObject;
use x509_parser::der_parser::der::parse_der;
use x509_parser::prelude::FromDer;

/// More certificates than this in one file is not a certificate chain.
const MAX_CERTIFICATES_PER_FILE: usize = 32;

/// What one blob turned out to hold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// DER of each certificate found.
    pub certificates: Vec<Vec<u8>>,
    pub private_key: bool,
    pub csr: bool,
}

impl Decoded {
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && !self.private_key && !self.csr
    }

    fn merge(&mut self, other: Decoded) {
        for der in other.certificates {
            if self.certificates.len() < MAX_CERTIFICATES_PER_FILE {
                self.certificates.push(der);
            }
        }
        self.private_key |= other.private_key;
        self.csr |= other.csr;
    }
}

/// Lenient base64: people and tools wrap, drop padding, or add it wrongly.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

static PEM_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN ([A-Z0-9 #]{1,40})-----([\s\S]*?)-----END [A-Z0-9 #]{1,40}-----")
        .expect("PEM pattern is valid")
});

/// Decodes a file of any of the accepted formats.
pub fn decode(bytes: &[u8]) -> Decoded {
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let body = bytes[text_start..]
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes[text_start..]);
    if let Some(found) = memchr_pem(body) {
        return decode_pem_text(&String::from_utf8_lossy(&body[found..]));
    }
    let der = decode_der(body);
    if !der.is_empty() {
        return der;
    }
    match bare_base64(body) {
        Some(inner) => decode_der(&inner),
        None => Decoded::default(),
    }
}

/// Where the first PEM block begins (a vectorised search: every attachment sniffed
/// is read through for one, and a byte-by-byte window was 3% of `inspect`).
fn memchr_pem(bytes: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes, b"-----BEGIN ")
}

/// Every PEM block in a piece of text (a file or an e-mail body).
pub fn decode_pem_text(text: &str) -> Decoded {
    let mut out = Decoded::default();
    for caps in PEM_BLOCK.captures_iter(text) {
        let label = &caps[1];
        if label.contains("PRIVATE KEY") {
            out.private_key = true;
            continue;
        }
        if label.contains("CERTIFICATE REQUEST") {
            out.csr = true;
            continue;
        }
        let Some(der) = base64_body(&caps[2]) else {
            continue;
        };
        match label {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                if let Some(cert) = single_certificate(&der) {
                    out.merge(Decoded {
                        certificates: vec![cert],
                        ..Decoded::default()
                    });
                }
            }
            "PKCS7" | "CMS" | "PKCS #7 SIGNED DATA" => out.merge(pkcs7_certificates(&der)),
            _ => out.merge(decode_der(&der)),
        }
    }
    out
}

fn base64_body(body: &str) -> Option<Vec<u8>> {
    // Encrypted PEM keys carry "Proc-Type:" headers; certificates never do.
    let cleaned: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    LENIENT.decode(cleaned.as_bytes()).ok()
}

fn bare_base64(bytes: &[u8]) -> Option<Vec<u8>> {
    let is_base64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    if bytes.len() < 64
        || !bytes
            .iter()
            .all(|b| is_base64(b) || b.is_ascii_whitespace())
    {
        return None;
    }
    let cleaned: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    LENIENT.decode(cleaned).ok()
}

/// DER: a certificate, a PKCS#7 bundle, a PKCS#12 file, a CSR, or a bare private key.
fn decode_der(bytes: &[u8]) -> Decoded {
    if bytes.first() != Some(&0x30) {
        return Decoded::default();
    }
    if let Some(cert) = single_certificate(bytes) {
        return Decoded {
            certificates: vec![cert],
            ..Decoded::default()
        };
    }
    let bundle = pkcs7_certificates(bytes);
    if !bundle.certificates.is_empty() {
        return bundle;
    }
    if is_pkcs12(bytes) || is_private_key(bytes) {
        return Decoded {
            private_key: true,
            ..Decoded::default()
        };
    }
    if x509_parser::certification_request::X509CertificationRequest::from_der(bytes).is_ok() {
        return Decoded {
            csr: true,
            ..Decoded::default()
        };
    }
    Decoded::default()
}

/// The DER of one X.509 certificate at the start of `bytes`, trailing data dropped.
fn single_certificate(bytes: &[u8]) -> Option<Vec<u8>> {
    let (rest, _) = x509_parser::parse_x509_certificate(bytes).ok()?;
    Some(bytes[..bytes.len() - rest.len()].to_vec())
}

/// Certificates of a PKCS#7/CMS SignedData (`.p7b`/`.p7c`).
fn pkcs7_certificates(bytes: &[u8]) -> Decoded {
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;

    const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
    let Ok(info) = ContentInfo::from_der(bytes) else {
        return Decoded::default();
    };
    if info.content_type.to_string() != SIGNED_DATA {
        return Decoded::default();
    }
    let Ok(signed) = info.content.decode_as::<SignedData>() else {
        return Decoded::default();
    };
    let mut out = Decoded::default();
    for choice in signed.certificates.iter().flat_map(|set| set.0.iter()) {
        if let CertificateChoices::Certificate(cert) = choice {
            if let Ok(der) = cert.to_der() {
                out.merge(Decoded {
                    certificates: vec![der],
                    ..Decoded::default()
                });
            }
        }
    }
    out
}

/// PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo (pkcs7 data), macData }
fn is_pkcs12(bytes: &[u8]) -> bool {
    let Ok((_, obj)) = parse_der(bytes) else {
        return false;
    };
    let Ok(items) = obj.as_sequence() else {
        return false;
    };
    let version_is_3 = items.first().and_then(|v| v.as_u32().ok()) == Some(3);
    let auth_safe_is_pkcs7 = items
        .get(1)
        .and_then(first_oid)
        .is_some_and(|oid| oid.starts_with("1.2.840.113549.1.7."));
    version_is_3 && auth_safe_is_pkcs7
}

/// PKCS#8 (`SEQUENCE { 0, AlgorithmIdentifier, OCTET STRING }`), encrypted PKCS#8, or
/// PKCS#1 RSA (`SEQUENCE { 0, n, e, d, … }`) private keys in DER.
fn is_private_key(bytes: &[u8]) -> bool {
    let Ok((_, obj)) = parse_der(bytes) else {
        return false;
    };
    let Ok(items) = obj.as_sequence() else {
        return false;
    };
    let starts_with_zero = items.first().and_then(|v| v.as_u32().ok()) == Some(0);
    let pkcs8 = starts_with_zero
        && items.get(1).is_some_and(|a| a.as_sequence().is_ok())
        && items
            .get(2)
            .is_some_and(|k| k.as_slice().is_ok() && k.as_sequence().is_err());
    let pkcs1 = starts_with_zero && items.len() == 9 && items.iter().all(|i| i.as_bigint().is_ok());
    let encrypted_pkcs8 = items.len() == 2
        && items[0].as_sequence().is_ok()
        && first_oid(&items[0]).is_some_and(|oid| oid.starts_with("1.2.840.113549.1.5."))
        && items[1].as_slice().is_ok();
    pkcs8 || pkcs1 || encrypted_pkcs8
}

fn first_oid(obj: &BerObject) -> Option<String> {
    obj.as_sequence()
        .ok()?
        .first()?
        .as_oid()
        .ok()
        .map(|oid| oid.to_id_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_decodes_to_nothing() {
        assert!(decode(b"").is_empty());
        assert!(decode(b"\x30\x03\x02\x01\x01").is_empty());
        assert!(decode(&[0x30; 1000]).is_empty());
        assert!(
            decode("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----".as_bytes())
                .is_empty()
        );
    }

    #[test]
    fn pem_private_key_and_csr_are_noticed() {
        let text =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n\
                    -----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----";
        let d = decode(text.as_bytes());
        assert!(d.private_key && d.csr && d.certificates.is_empty());
    }
}
