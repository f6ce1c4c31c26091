//! One attachment → what it holds for us. Names and declared types are hints only: people
//! send `.cer` files as `text/plain`, PEM files named `.crt`, certificates with no
//! extension at all. S/MIME signatures are skipped: they carry a person's certificate,
//! not the system certificate.

use super::archive;
use super::{Finding, FoundCertificate};
use crate::certificate::decode;
use crate::problem::Problem;

/// Extensions of files that should hold a certificate.
const CERTIFICATE_EXTENSIONS: &[&str] = &["cer", "crt", "der", "pem", "p7b", "p7c", "cert", "ca"];
/// Extensions of files that hold a private key (PKCS#12 bundles carry one too).
const KEY_EXTENSIONS: &[&str] = &["pfx", "p12", "key"];
const REQUEST_EXTENSIONS: &[&str] = &["csr", "req", "p10"];
/// Content types of certificate files.
const CERTIFICATE_TYPES: &[&str] = &[
    "application/pkix-cert",
    "application/x-x509-ca-cert",
    "application/x-x509-user-cert",
    "application/x-x509-cert",
    "application/pkcs7-certificates",
    "application/x-pkcs7-certificates",
    "application/x-pem-file",
];
/// Files without a certificate name larger than this are not sniffed for certificates.
pub const SNIFF_LIMIT: usize = 256 * 1024;
/// A certificate file (even a long chain) larger than this is not a certificate.
const MAX_CERTIFICATE_FILE: usize = 1024 * 1024;

/// Problems kept per message: enough for any real mistake; a message with thousands of
/// broken attachments gets a readable reply, not thousands of lines.
const MAX_FINDINGS: usize = 50;
/// Certificates kept per message (before duplicates are removed), for the same reason.
const MAX_CERTIFICATES: usize = 100;

/// Where results of one message walk are gathered.
#[derive(Debug, Default)]
pub struct Collected {
    pub certificates: Vec<FoundCertificate>,
    pub findings: Vec<Finding>,
}

impl Collected {
    fn finding(&mut self, problem: Problem, source: &str) {
        // A private key is always reported, whatever came before it.
        if self.findings.len() < MAX_FINDINGS || problem == Problem::PrivateKeySent {
            self.findings.push(Finding {
                problem,
                source: source.to_string(),
            });
        }
    }

    /// Adds what a decode found, attributed to `source`.
    pub fn add_decoded(&mut self, decoded: decode::Decoded, source: &str) {
        if decoded.private_key {
            self.finding(Problem::PrivateKeySent, source);
        }
        if decoded.csr {
            self.finding(Problem::CsrNotCertificate, source);
        }
        for der in decoded.certificates {
            if self.certificates.len() >= MAX_CERTIFICATES {
                break;
            }
            self.certificates.push(FoundCertificate {
                der,
                source: source.to_string(),
            });
        }
    }
}

/// Lower-case extension of a file name, if it has one.
fn extension(name: &str) -> Option<String> {
    let name = name.trim().trim_matches(['"', '\'']);
    let (_, ext) = name.rsplit_once('.')?;
    Some(ext.trim().to_ascii_lowercase())
}

fn is_one_of(ext: Option<&str>, list: &[&str]) -> bool {
    ext.is_some_and(|e| list.contains(&e))
}

/// Whether [`examine`] sets aside an attachment of this name and type unread once it
/// holds more than [`SNIFF_LIMIT`] bytes: neither named nor typed as a certificate,
/// a request, a key or an archive. (The skim before parsing relies on it.)
pub fn ignored_when_large(name: &str, content_type: &str) -> bool {
    let ext = extension(name);
    let ext = ext.as_deref();
    let ctype = content_type.to_ascii_lowercase();
    !(is_tnef(name, &ctype)
        || is_one_of(ext, KEY_EXTENSIONS)
        || is_one_of(ext, CERTIFICATE_EXTENSIONS)
        || is_one_of(ext, REQUEST_EXTENSIONS)
        || ext == Some("zip")
        || ctype.contains("pkcs12")
        || ctype.contains("zip")
        || CERTIFICATE_TYPES.contains(&ctype.as_str()))
}

/// Examines one attachment (or archive entry) and records what it holds.
pub fn examine(name: &str, content_type: &str, bytes: &[u8], depth: usize, out: &mut Collected) {
    let ext = extension(name);
    let ext = ext.as_deref();
    let ctype = content_type.to_ascii_lowercase();
    if is_one_of(ext, KEY_EXTENSIONS) || ctype.contains("pkcs12") {
        out.finding(Problem::PrivateKeySent, name);
        return;
    }
    if is_one_of(ext, &["p7s", "p7m"]) || ctype.contains("pkcs7-signature") {
        return;
    }
    if ext == Some("zip") || ctype.contains("zip") {
        examine_archive(name, bytes, depth, out);
        return;
    }
    if is_tnef(name, &ctype) || super::tnef::is_tnef(bytes) {
        examine_tnef(name, bytes, depth, out);
        return;
    }
    let named_as_certificate = is_one_of(ext, CERTIFICATE_EXTENSIONS)
        || is_one_of(ext, REQUEST_EXTENSIONS)
        || CERTIFICATE_TYPES.contains(&ctype.as_str());
    let limit = if named_as_certificate {
        MAX_CERTIFICATE_FILE
    } else {
        SNIFF_LIMIT
    };
    if bytes.len() > limit {
        if named_as_certificate {
            out.finding(Problem::NotACertificate, name);
        }
        return;
    }
    let decoded = decode::decode(bytes);
    if decoded.is_empty() {
        if named_as_certificate {
            out.finding(Problem::NotACertificate, name);
        }
        return;
    }
    out.add_decoded(decoded, name);
}

/// Outlook's rich-text attachments: `winmail.dat`, `application/ms-tnef`.
fn is_tnef(name: &str, ctype: &str) -> bool {
    name.trim()
        .trim_matches(['"', '\''])
        .eq_ignore_ascii_case("winmail.dat")
        || ctype.contains("ms-tnef")
}

/// The files inside a `winmail.dat`, each examined as an attachment of its own.
fn examine_tnef(name: &str, bytes: &[u8], depth: usize, out: &mut Collected) {
    if depth >= archive::MAX_NESTING {
        out.finding(Problem::ArchiveTooLarge, name);
        return;
    }
    let Some(files) = super::tnef::attachments(bytes) else {
        out.finding(Problem::ArchiveUnreadable, name);
        return;
    };
    for file in files {
        let source = format!("{name}/{}", file.name);
        examine(&source, "", &file.data, depth + 1, out);
    }
}

fn examine_archive(name: &str, bytes: &[u8], depth: usize, out: &mut Collected) {
    if depth >= archive::MAX_NESTING {
        out.finding(Problem::ArchiveTooLarge, name);
        return;
    }
    let wanted = |entry: &str, _size: u64| {
        let ext = extension(entry);
        let ext = ext.as_deref();
        !entry.starts_with("__MACOSX/")
            && (ext.is_none()
                || is_one_of(ext, CERTIFICATE_EXTENSIONS)
                || is_one_of(ext, KEY_EXTENSIONS)
                || is_one_of(ext, REQUEST_EXTENSIONS)
                || is_one_of(ext, &["zip", "txt"]))
    };
    let entries = archive::read(bytes, wanted);
    if let Some(problem) = entries.problem {
        out.finding(problem, name);
    }
    for (entry, data) in entries.files {
        let source = format!("{name}/{entry}");
        examine(&source, "", &data, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_read_from_odd_names() {
        assert_eq!(extension("Certificat sistem.CER").as_deref(), Some("cer"));
        assert_eq!(extension("\"cert.pem\" ").as_deref(), Some("pem"));
        assert_eq!(extension("noext"), None);
    }

    #[test]
    fn pfx_is_reported_by_name_without_reading_it() {
        let mut out = Collected::default();
        examine(
            "sistem.pfx",
            "application/octet-stream",
            b"anything",
            0,
            &mut out,
        );
        assert_eq!(out.findings[0].problem, Problem::PrivateKeySent);
        assert!(out.certificates.is_empty());
    }

    #[test]
    fn a_certificate_inside_winmail_dat_is_found_under_its_name() {
        let der = crate::testkit::pki::pem("CERTIFICATE", b"not really DER");
        let pem_cert = {
            let now = time::macros::datetime!(2026-11-24 12:00 UTC);
            let pki = crate::testkit::pki::Pki::new(now);
            pki.leaf(&crate::testkit::pki::LeafSpec::valid_at(
                now,
                "SI",
                &[1, 2, 3],
            ))
        };
        let tnef = crate::testkit::mail::winmail_dat(&[
            ("scrisoare.rtf", der.as_bytes()),
            ("sistem.cer", pem_cert.as_slice()),
        ]);
        let mut out = Collected::default();
        examine("winmail.dat", "application/ms-tnef", &tnef, 0, &mut out);
        assert_eq!(out.certificates.len(), 1, "{:?}", out.findings);
        assert_eq!(out.certificates[0].source, "winmail.dat/sistem.cer");
        assert_eq!(out.certificates[0].der, pem_cert);
        // A key inside is reported like one attached directly.
        let with_key = crate::testkit::mail::winmail_dat(&[("sistem.pfx", b"x".as_slice())]);
        let mut out = Collected::default();
        examine("winmail.dat", "application/ms-tnef", &with_key, 0, &mut out);
        assert_eq!(out.findings[0].problem, Problem::PrivateKeySent);
        // Not TNEF at all: said, not a panic.
        let mut out = Collected::default();
        examine(
            "winmail.dat",
            "application/ms-tnef",
            b"garbage",
            0,
            &mut out,
        );
        assert_eq!(out.findings[0].problem, Problem::ArchiveUnreadable);
    }

    #[test]
    fn an_unreadable_cer_is_not_a_certificate_and_a_pdf_is_nothing() {
        let mut out = Collected::default();
        examine("a.cer", "application/octet-stream", b"hello", 0, &mut out);
        examine("letter.pdf", "application/pdf", b"%PDF-1.4", 0, &mut out);
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].problem, Problem::NotACertificate);
    }
}
