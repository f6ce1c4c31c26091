//! `inspect` output: one JSON object per file for tools (field names are a contract, see
//! DESIGN.md), and a few lines per file an AGE clerk can read at a glance.

use std::fmt::Write as _;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::analysis::{Analysis, CheckedCertificate, CheckedNumber, Role};
use crate::decision::Decision;
use crate::intake::{Automatic, Language};
use crate::problem::Problem;
use crate::registry::{KnownCertificate, Status};
use crate::serials::NumberKind;

#[derive(Debug, Serialize)]
pub struct FileReport<'a> {
    pub file: &'a str,
    pub decision: Decision,
    pub problems: &'a [Problem],
    /// The services the mail asks to connect to (codes, in order of first mention).
    pub services: &'a [String],
    /// Services it names without clearly asking for them (no case is opened).
    pub also_mentions: &'a [String],
    pub language: Language,
    pub certificates: Vec<CertificateReport<'a>>,
    pub quoted: Vec<NumberReport<'a>>,
    pub private_key_detected: bool,
    pub findings: Vec<FindingReport<'a>>,
    pub automatic: Option<Automatic>,
    /// The message could not be read (not an e-mail, or built to exhaust the reader):
    /// only its header was used, and the daemon leaves it for people.
    pub unparseable: bool,
    /// A delivery report: which message of ours could not be delivered, to whom, why.
    pub bounce: Option<&'a crate::intake::bounce::Bounce>,
    pub message_id: Option<&'a str>,
    pub from: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub case_token: Option<&'a str>,
    /// Who sent it, as our receiving server authenticated them (`[trust]`).
    pub sender: crate::trust::Sender,
}

#[derive(Debug, Serialize)]
pub struct CertificateReport<'a> {
    pub serial: &'a str,
    pub sha1: &'a str,
    pub sha256: &'a str,
    pub subject: &'a str,
    pub issuer: &'a str,
    pub not_before: String,
    pub not_after: String,
    pub problems: &'a [Problem],
    pub known_for: Vec<&'a str>,
    pub role: Role,
    pub source: &'a str,
    pub key_algorithm: &'static str,
    pub key_bits: usize,
    /// What the CRLs say (absent when revocation is not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<&'a crate::revocation::Revocation>,
}

#[derive(Debug, Serialize)]
pub struct NumberReport<'a> {
    pub kind: NumberKind,
    pub value: &'a str,
    pub as_written: &'a str,
    pub refers_to_attached: bool,
    pub matches: Vec<MatchReport<'a>>,
}

#[derive(Debug, Serialize)]
pub struct MatchReport<'a> {
    pub serial: &'a str,
    pub issuer: &'a str,
    pub sha1: Option<&'a str>,
    pub services: Vec<&'a str>,
    pub institution: Option<&'a str>,
    pub status: Status,
    pub not_after: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FindingReport<'a> {
    pub problem: Problem,
    pub source: &'a str,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

impl<'a> FileReport<'a> {
    pub fn new(file: &'a str, a: &'a Analysis, sender: crate::trust::Sender) -> FileReport<'a> {
        FileReport {
            sender,
            file,
            decision: a.decision,
            problems: &a.problems,
            services: &a.services,
            also_mentions: &a.mentioned,
            language: a.facts.language,
            certificates: a.certificates.iter().map(certificate_report).collect(),
            quoted: a.numbers.iter().map(number_report).collect(),
            private_key_detected: a.private_key_detected(),
            findings: a
                .findings
                .iter()
                .map(|f| FindingReport {
                    problem: f.problem,
                    source: &f.source,
                })
                .collect(),
            automatic: a.facts.automatic,
            unparseable: a.facts.unparseable,
            bounce: a.facts.bounce.as_ref(),
            message_id: a.facts.message_id.as_deref(),
            from: a.facts.from.as_deref(),
            subject: a.facts.subject.as_deref(),
            case_token: a.facts.case_token.as_deref(),
        }
    }

    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string(self).expect("report serialises")
    }
}

fn certificate_report(c: &CheckedCertificate) -> CertificateReport<'_> {
    let cert = &c.certificate;
    CertificateReport {
        serial: &cert.serial,
        sha1: &cert.sha1,
        sha256: &cert.sha256,
        subject: &cert.subject,
        issuer: &cert.issuer,
        not_before: rfc3339(cert.not_before),
        not_after: rfc3339(cert.not_after),
        problems: &c.problems,
        known_for: c
            .known
            .iter()
            .flat_map(|k| k.services.iter().map(String::as_str))
            .collect(),
        role: c.role,
        source: &c.source,
        key_algorithm: cert.key.algorithm,
        key_bits: cert.key.bits,
        revocation: c.revocation.as_ref(),
    }
}

fn number_report(n: &CheckedNumber) -> NumberReport<'_> {
    NumberReport {
        kind: n.kind,
        value: &n.value,
        as_written: &n.number.as_written,
        refers_to_attached: n.refers_to_attached,
        matches: n.matches.iter().map(match_report).collect(),
    }
}

fn match_report(k: &KnownCertificate) -> MatchReport<'_> {
    MatchReport {
        serial: &k.serial,
        issuer: &k.issuer,
        sha1: k.sha1.as_deref(),
        services: k.services.iter().map(String::as_str).collect(),
        institution: k.institution.as_deref(),
        status: k.status,
        not_after: k.not_after.map(rfc3339),
    }
}

/// What a decision means, in a clerk's words.
pub fn decision_headline(d: Decision) -> &'static str {
    match d {
        Decision::NewCertificate => "NEW CERTIFICATE: valid, trusted, not yet known",
        Decision::ReuseConfirmed => "REUSE CONFIRMED: matches a certificate already registered",
        Decision::Rejected => "REJECTED: what was sent cannot be used",
        Decision::SerialNotFound => "SERIAL NOT FOUND: the number matches no known certificate",
        Decision::Ambiguous => {
            "AMBIGUOUS: the serial matches several certificates, ask for the .cer"
        }
        Decision::NeedCertificate => {
            "NEED CERTIFICATE: about MNotify, but no certificate or number"
        }
        Decision::NotApplicable => "NOT APPLICABLE: not about MNotify, left for people",
        Decision::IgnoredAutomatic => "IGNORED: automatic mail (no reply)",
    }
}

/// The lines of one certificate found: what it is, whose, valid when, its problems.
fn certificate_lines(out: &mut String, c: &crate::analysis::CheckedCertificate) {
    let cert = &c.certificate;
    let mark = if c.problems.is_empty() { "✔" } else { "✘" };
    let known = match &c.known {
        Some(k) => format!(
            "known for {}",
            k.services.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        None => "not yet known".to_string(),
    };
    let role = match c.role {
        Role::EndEntity => "certificate",
        Role::Chain => "CA in chain",
        Role::Ca => "CA certificate",
    };
    let _ = writeln!(
        out,
        "   {mark} {role} {}  serial {}  ({known})",
        c.source, cert.serial
    );
    let _ = writeln!(out, "       subject {}", cert.subject);
    let _ = writeln!(out, "       issuer  {}", cert.issuer);
    let _ = writeln!(
        out,
        "       valid {} → {}  ·  {} {} bits",
        cert.not_before.date(),
        cert.not_after.date(),
        cert.key.algorithm,
        cert.key.bits
    );
    let _ = writeln!(out, "       SHA-1 {}", cert.sha1);
    use crate::revocation::Revocation;
    match &c.revocation {
        None => {}
        Some(Revocation::Good { source }) => {
            let _ = writeln!(out, "       not revoked (CRL {source})");
        }
        Some(Revocation::Revoked { at, source }) | Some(Revocation::OnHold { at, source }) => {
            let _ = writeln!(out, "       listed on the CRL {source} since {}", at.date());
        }
        Some(Revocation::Unknown { why }) => {
            let _ = writeln!(out, "       {why}");
        }
    }
    for p in &c.problems {
        let _ = writeln!(out, "       problem: {} ({})", p.explain(), p);
    }
}

/// The line of one number quoted: what it is and what it matches.
fn number_line(out: &mut String, n: &crate::analysis::CheckedNumber) {
    let kind = match n.kind {
        NumberKind::Serial => "serial",
        NumberKind::Sha1 => "SHA-1 thumbprint",
        NumberKind::Sha256 => "SHA-256 fingerprint",
    };
    let what = if n.refers_to_attached {
        "the attached certificate".to_string()
    } else if n.matches.is_empty() {
        "matches nothing known".to_string()
    } else {
        n.matches
            .iter()
            .map(|k| {
                format!(
                    "{} ({}, {:?})",
                    k.services.iter().cloned().collect::<Vec<_>>().join("+"),
                    k.institution.as_deref().unwrap_or("?"),
                    k.status
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let _ = writeln!(
        out,
        "   # {kind} {} (written \"{}\"): {what}",
        n.value, n.number.as_written
    );
}

/// The human-readable block for one file.
pub fn human(file: &str, a: &Analysis, sender: &crate::trust::Sender) -> String {
    let mut out = String::new();
    let f = &a.facts;
    let _ = writeln!(out, "── {file}");
    let _ = writeln!(
        out,
        "   from {}  ·  subject {:?}  ·  language {}",
        f.from.as_deref().unwrap_or("(none)"),
        f.subject.as_deref().unwrap_or(""),
        f.language.code()
    );
    let _ = writeln!(out, "   sender {}", sender.describe());
    let _ = writeln!(
        out,
        "   {}  [{}]",
        decision_headline(a.decision),
        a.decision
    );
    if f.unparseable {
        let _ = writeln!(
            out,
            "   could not be read as an e-mail (or has too many parts): header only; left for people"
        );
    }
    if let Some(b) = &f.bounce {
        let _ = writeln!(
            out,
            "   delivery report: message <{}> {}",
            b.original_message_id.as_deref().unwrap_or("?"),
            b.describe()
        );
    }
    if let Some(reason) = f.automatic {
        let _ = writeln!(
            out,
            "   automatic: {}",
            serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        );
    }
    for c in &a.certificates {
        certificate_lines(&mut out, c);
    }
    for n in &a.numbers {
        number_line(&mut out, n);
    }
    for finding in &a.findings {
        let _ = writeln!(
            out,
            "   ✘ {}: {} ({})",
            finding.source,
            finding.problem.explain(),
            finding.problem
        );
    }
    out
}
