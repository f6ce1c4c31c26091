//! What a mail got accepted, as the records and the case keep it, and what about it
//! staff should check.

use crate::analysis::Analysis;
use crate::case::certificates::CaseCertificate;
use crate::case::Case;
use crate::decision::Decision;
use crate::integration::Environment;
use crate::record::{AcceptedCertificate, CertificateCase};
use crate::trust::domain;

/// What staff should check about the certificates a mail got accepted in `case`: one
/// that names e-mail addresses none of which belong to the case's institution, or one
/// already accepted in another institution's case.
pub(super) fn misfits(a: &Analysis, case: &Case, first_cases: &[CertificateCase]) -> Vec<String> {
    let owner = case.owner();
    let ours = |e: &str| {
        domain::of_address(e).is_some_and(|d| {
            domain::aligned(&d, &owner) || case.members.iter().any(|m| m == e || *m == d)
        })
    };
    let mut out: Vec<String> = a
        .certificates
        .iter()
        .filter(|c| c.problems.is_empty() && c.role != crate::analysis::Role::Chain)
        .filter(|c| !c.certificate.emails.is_empty())
        .filter(|c| !c.certificate.emails.iter().any(|e| ours(e)))
        .map(|c| {
            format!(
                "certificate {} names {}, not an address of {owner}",
                c.certificate.serial,
                c.certificate.emails.join(", ")
            )
        })
        .collect();
    // Revocation unknown is never taken for good: staff see why.
    out.extend(a.certificates.iter().filter_map(|c| match &c.revocation {
        Some(crate::revocation::Revocation::Unknown { why })
            if c.problems.is_empty() && c.role != crate::analysis::Role::Chain =>
        {
            Some(format!("certificate {}: {why}", c.certificate.serial))
        }
        _ => None,
    }));
    out.extend(
        first_cases
            .iter()
            .filter(|f| f.case != case.token && f.owner != owner)
            .map(|f| {
                format!(
                    "a certificate of this mail is already in case #{} of {}",
                    f.case, f.owner
                )
            }),
    );
    out
}

/// `(issuer, serial)` of what a mail would get accepted or confirmed: the daemon looks
/// up the cases they are already in before planning.
pub fn candidates(a: &Analysis) -> Vec<(String, String)> {
    accepted(a)
        .into_iter()
        .map(|c| (c.issuer, c.serial))
        .collect()
}

/// The certificates a message got accepted or confirmed, for the staff digest.
pub(super) fn accepted(a: &Analysis) -> Vec<AcceptedCertificate> {
    if !matches!(
        a.decision,
        Decision::NewCertificate | Decision::ReuseConfirmed
    ) {
        return Vec::new();
    }
    let files = a
        .certificates
        .iter()
        .filter(|c| c.problems.is_empty() && c.role != crate::analysis::Role::Chain)
        .map(|c| {
            let cert = &c.certificate;
            AcceptedCertificate {
                serial: cert.serial.clone(),
                sha1: Some(cert.sha1.clone()),
                sha256: Some(cert.sha256.clone()),
                subject: Some(cert.subject.clone()),
                issuer: cert.issuer.clone(),
                not_after: Some(cert.not_after),
                services: c
                    .known
                    .as_ref()
                    .map(|k| k.services.iter().cloned().collect())
                    .unwrap_or_default(),
                institution: c.known.as_ref().and_then(|k| k.institution.clone()),
                der: Some(cert.der.clone()),
                environment: a
                    .facts
                    .integration
                    .environment_of(&cert.serial)
                    .or_else(|| Environment::of_name(&c.source)),
            }
        });
    let numbers = a
        .numbers
        .iter()
        .filter(|n| !n.refers_to_attached && n.matches.len() == 1)
        .map(|n| {
            let k = &n.matches[0];
            AcceptedCertificate {
                serial: k.serial.clone(),
                sha1: k.sha1.clone(),
                sha256: k.sha256.clone(),
                subject: k.subject.clone(),
                issuer: k.issuer.clone(),
                not_after: k.not_after,
                services: k.services.iter().cloned().collect(),
                institution: k.institution.clone(),
                der: None,
                environment: a.facts.integration.environment_of(&k.serial),
            }
        });
    let mut out: Vec<AcceptedCertificate> = files.chain(numbers).collect();
    out.dedup_by(|a, b| a.serial == b.serial && a.issuer == b.issuer);
    out
}

/// What the case keeps of the certificates a mail got accepted: serial, fingerprint
/// and the environment the applicant gave each for.
pub(super) fn for_case(a: &Analysis, now: time::OffsetDateTime) -> Vec<CaseCertificate> {
    accepted(a)
        .into_iter()
        .map(|c| CaseCertificate {
            serial: c.serial,
            sha1: c.sha1,
            environment: c.environment,
            at: now,
        })
        .collect()
}

/// What a case step records as evidence: the serial and fingerprint of what was accepted.
pub(super) fn evidence(a: &Analysis) -> String {
    let mut parts: Vec<String> = a
        .certificates
        .iter()
        .filter(|c| c.problems.is_empty() && c.role != crate::analysis::Role::Chain)
        .map(|c| {
            format!(
                "certificate serial {} sha1 {}",
                c.certificate.serial, c.certificate.sha1
            )
        })
        .collect();
    parts.extend(
        a.numbers
            .iter()
            .filter(|n| n.matches.len() == 1)
            .map(|n| format!("number {} matched {}", n.value, n.matches[0].serial)),
    );
    parts.join("; ")
}
