//! What a mail got accepted, as the records and the case keep it, and what about it
//! staff should check.

use crate::analysis::Analysis;
use crate::case::certificates::CaseCertificate;
use crate::case::Case;
use crate::decision::Decision;
use crate::integration::Environment;
use crate::record::{AcceptedCertificate, CertificateCase};
use crate::registry::KnownCertificate;
use crate::remark::Remark;
use crate::trust::domain;

/// Whose a mail's certificates are, from evidence rather than arrival order, for the
/// case the mail is in and for the cases that hold the same certificates already.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Ownership {
    /// Why a certificate of the mail may be another institution's: the step waits on
    /// staff instead of completing.
    pub doubts: Vec<Remark>,
    /// Other cases holding a certificate of the mail, and why staff should check
    /// theirs: the evidence says it is this institution's, or nothing decides.
    pub flags: Vec<(String, Remark)>,
}

/// Decides, for each certificate the mail gets accepted or confirmed, whose it is.
/// The evidence, in this order (the first that speaks decides):
/// 1. the registry's `domain` for it: aligned with the case's institution or not;
/// 2. the mail addresses the certificate itself names (subject e-mail, SAN): one of
///    the institution's, or only others';
/// 3. nothing decides: when another institution's case holds it already, both that
///    case and this one are checked by staff; otherwise it is taken as the sender's.
///
/// Where the evidence says it is this institution's, another case that holds it is
/// the one flagged (its evidence does not match).
pub(super) fn ownership(
    a: &Analysis,
    owner: &str,
    members: &[String],
    token: &str,
    first_cases: &[CertificateCase],
) -> Ownership {
    let ours_domain = |d: &str| domain::aligned(d, owner) || members.iter().any(|m| m == d);
    let ours_address = |e: &str| {
        members.iter().any(|m| m == e) || domain::of_address(e).is_some_and(|d| ours_domain(&d))
    };
    let mut found = Ownership::default();
    for c in evidence_of(a) {
        let elsewhere: Vec<&CertificateCase> = first_cases
            .iter()
            .filter(|f| f.case != token && f.owner != owner)
            .filter(|f| c.is(f))
            .collect();
        let verdict = match (&c.registered_domain, c.addresses.is_empty()) {
            (Some(d), _) if ours_domain(d) => Some(true),
            (Some(d), _) => {
                found.doubts.push(Remark::RegisteredElsewhere {
                    serial: c.serial.clone(),
                    institution: c.institution.clone(),
                    domain: d.clone(),
                    owner: owner.into(),
                });
                Some(false)
            }
            (None, false) if c.addresses.iter().any(|e| ours_address(e)) => Some(true),
            (None, false) => {
                found.doubts.push(Remark::NamesOtherAddresses {
                    serial: c.serial.clone(),
                    addresses: c.addresses.clone(),
                    owner: owner.into(),
                });
                Some(false)
            }
            (None, true) => None,
        };
        for other in elsewhere {
            match verdict {
                Some(true) => found.flags.push((
                    other.case.clone(),
                    Remark::SentAgainByOwner {
                        serial: c.serial.clone(),
                        owner: owner.into(),
                        holder: other.owner.clone(),
                    },
                )),
                Some(false) => {}
                None => {
                    found.doubts.push(Remark::AlreadyInCase {
                        serial: c.serial.clone(),
                        case: other.case.clone(),
                        owner: other.owner.clone(),
                    });
                    found.flags.push((
                        other.case.clone(),
                        Remark::SentByAnotherToo {
                            serial: c.serial.clone(),
                            owner: owner.into(),
                        },
                    ));
                }
            }
        }
    }
    found.doubts.dedup();
    found
}

/// What a certificate of a mail shows of its owner.
struct Evidence {
    serial: String,
    issuer: String,
    registered_domain: Option<String>,
    institution: Option<String>,
    /// Mail addresses and host names the certificate itself names.
    addresses: Vec<String>,
}

impl Evidence {
    fn is(&self, first: &CertificateCase) -> bool {
        first.serial.as_deref().is_none_or(|s| s == self.serial)
            && first.issuer.as_deref().is_none_or(|i| {
                crate::registry::issuer_key(i) == crate::registry::issuer_key(&self.issuer)
            })
    }
}

/// The evidence of each certificate a mail gets accepted or confirmed: attached
/// files with what they name, quoted numbers with their registry entry.
fn evidence_of(a: &Analysis) -> Vec<Evidence> {
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
        .map(|c| Evidence {
            serial: c.certificate.serial.clone(),
            issuer: c.certificate.issuer.clone(),
            registered_domain: c.known.as_ref().and_then(|k| k.domain.clone()),
            institution: c.known.as_ref().and_then(|k| k.institution.clone()),
            addresses: c.certificate.emails.clone(),
        });
    let numbers = a
        .numbers
        .iter()
        .filter(|n| !n.refers_to_attached && n.matches.len() == 1)
        .map(|n| Evidence {
            serial: n.matches[0].serial.clone(),
            issuer: n.matches[0].issuer.clone(),
            registered_domain: n.matches[0].domain.clone(),
            institution: n.matches[0].institution.clone(),
            addresses: Vec::new(),
        });
    files.chain(numbers).collect()
}

/// What staff should check about the certificates a mail got accepted that does not
/// bear on whose they are: a revocation status no list could give.
pub(super) fn misfits(a: &Analysis) -> Vec<Remark> {
    // Revocation unknown is never taken for good: staff see why.
    a.certificates
        .iter()
        .filter_map(|c| match &c.revocation {
            Some(crate::revocation::Revocation::Unknown { why })
                if c.problems.is_empty() && c.role != crate::analysis::Role::Chain =>
            {
                Some(Remark::RevocationUnknown {
                    serial: c.certificate.serial.clone(),
                    why: why.clone(),
                })
            }
            _ => None,
        })
        .collect()
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
    // One certificate, and the subject says for which environment ("Conectare MPass –
    // certificat TEST"): that is what the applicant said it is for.
    if let [only] = out.as_mut_slice() {
        if only.environment.is_none() {
            only.environment = a.facts.subject.as_deref().and_then(Environment::of_name);
        }
    }
    out
}

/// The certificates a mail got accepted in `case`, as entries of the registry of our
/// cases' certificates ([`crate::analysis::Context::case_certificates`]): for its
/// service, its environment, the case's system and institution.
pub fn case_certificate_entries(
    accepted: &[AcceptedCertificate],
    case: &Case,
    procedures: &crate::procedure::Catalogue,
) -> Vec<KnownCertificate> {
    let tag = procedures.procedure_of(&case.service).tag.clone();
    accepted
        .iter()
        .map(|a| KnownCertificate {
            serial: a.serial.clone(),
            issuer: a.issuer.clone(),
            sha1: a.sha1.clone(),
            sha256: a.sha256.clone(),
            subject: a.subject.clone(),
            not_after: a.not_after,
            status: crate::registry::Status::Active,
            services: std::collections::BTreeSet::from([tag.clone()]),
            institution: None,
            environment: a.environment,
            system: case.system().map(str::to_string),
            domain: Some(case.owner()),
        })
        .collect()
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
