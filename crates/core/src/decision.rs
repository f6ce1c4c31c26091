//! The decision vocabulary and the rules that pick exactly one decision per message.
//! The names are a contract (DESIGN.md): tests and other tools depend on them.

use serde::{Deserialize, Serialize};

use crate::certificate::Certificate;
use crate::intake::Finding;
use crate::problem::Problem;
use crate::registry::KnownCertificate;
use crate::revocation::Revocation;
use crate::serials::{NumberKind, QuotedNumber};

/// The certificates and numbers of one message, checked against the trust anchors,
/// the CRLs and the registry: what the rules below decide on.
/// The part a certificate plays in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The system certificate itself.
    EndEntity,
    /// A CA certificate accompanying an end-entity certificate: fine, not judged.
    Chain,
    /// A CA certificate sent without any end-entity certificate.
    Ca,
}

#[derive(Debug, Clone)]
pub struct CheckedCertificate {
    pub certificate: Certificate,
    pub source: String,
    pub role: Role,
    pub problems: Vec<Problem>,
    pub known: Option<KnownCertificate>,
    /// What the CRLs say (`None`: revocation is not checked, or a chain certificate).
    pub revocation: Option<Revocation>,
}

#[derive(Debug, Clone)]
pub struct CheckedNumber {
    pub number: QuotedNumber,
    /// The reading that matched (or the likeliest one when none did).
    pub kind: NumberKind,
    /// Canonical value in that reading.
    pub value: String,
    pub matches: Vec<KnownCertificate>,
    /// The number is the serial or a fingerprint of a certificate in the same message.
    pub refers_to_attached: bool,
    pub outcome: NumberOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// At least one valid, trusted, end-entity certificate not yet known.
    NewCertificate,
    /// An attached certificate or a quoted number matches exactly one active known one.
    ReuseConfirmed,
    /// What was sent cannot be used; the problems say why.
    Rejected,
    /// A number was quoted but matches nothing known.
    SerialNotFound,
    /// A quoted serial matches several known certificates: ask for the `.cer` file.
    Ambiguous,
    /// About MNotify onboarding, but neither a certificate nor a number.
    NeedCertificate,
    /// Not about MNotify: left for people, no reply.
    NotApplicable,
    /// Auto-reply, bounce, list or our own mail: no reply.
    IgnoredAutomatic,
}

impl Decision {
    pub fn code(self) -> &'static str {
        match self {
            Decision::NewCertificate => "new_certificate",
            Decision::ReuseConfirmed => "reuse_confirmed",
            Decision::Rejected => "rejected",
            Decision::SerialNotFound => "serial_not_found",
            Decision::Ambiguous => "ambiguous",
            Decision::NeedCertificate => "need_certificate",
            Decision::NotApplicable => "not_applicable",
            Decision::IgnoredAutomatic => "ignored_automatic",
        }
    }

    /// The answer to it asks for the certificate (or its number): what was sent
    /// cannot be used, matched nothing or several, or there was none.
    pub fn asks_for_certificate(self) -> bool {
        matches!(
            self,
            Decision::Rejected
                | Decision::SerialNotFound
                | Decision::Ambiguous
                | Decision::NeedCertificate
        )
    }

    /// Plain words for staff (the digest is in Romanian).
    pub fn words_ro(self) -> &'static str {
        match self {
            Decision::NewCertificate => "certificat nou",
            Decision::ReuseConfirmed => "reutilizare confirmată",
            Decision::Rejected => "respins",
            Decision::SerialNotFound => "număr negăsit",
            Decision::Ambiguous => "număr ambiguu",
            Decision::NeedCertificate => "cere certificatul",
            Decision::NotApplicable => "nu privește MNotify",
            Decision::IgnoredAutomatic => "mesaj automat",
        }
    }

    /// Plain words for staff in `language`, where a certificate it accepted went to a
    /// staff check when `under_check`: said as under check, never as confirmed or new.
    pub fn words_checked(
        self,
        under_check: bool,
        language: crate::intake::Language,
    ) -> &'static str {
        use crate::intake::Language;
        let accepted = matches!(self, Decision::ReuseConfirmed | Decision::NewCertificate);
        match language {
            _ if !(accepted && under_check) => self.words(language),
            Language::Ro => "certificat în verificare",
            Language::En => "certificate under check",
            Language::Ru => "сертификат на проверке",
        }
    }

    /// Plain words for staff in `language`.
    pub fn words(self, language: crate::intake::Language) -> &'static str {
        use crate::intake::Language;
        match language {
            Language::Ro => self.words_ro(),
            Language::En => match self {
                Decision::NewCertificate => "new certificate",
                Decision::ReuseConfirmed => "reuse confirmed",
                Decision::Rejected => "rejected",
                Decision::SerialNotFound => "number not found",
                Decision::Ambiguous => "ambiguous number",
                Decision::NeedCertificate => "certificate asked for",
                Decision::NotApplicable => "not about onboarding",
                Decision::IgnoredAutomatic => "automatic mail",
            },
            Language::Ru => match self {
                Decision::NewCertificate => "новый сертификат",
                Decision::ReuseConfirmed => "повторное использование подтверждено",
                Decision::Rejected => "отклонён",
                Decision::SerialNotFound => "номер не найден",
                Decision::Ambiguous => "неоднозначный номер",
                Decision::NeedCertificate => "запрошен сертификат",
                Decision::NotApplicable => "не о подключении",
                Decision::IgnoredAutomatic => "автоматическое письмо",
            },
        }
    }

    pub const ALL: [Decision; 8] = [
        Decision::NewCertificate,
        Decision::ReuseConfirmed,
        Decision::Rejected,
        Decision::SerialNotFound,
        Decision::Ambiguous,
        Decision::NeedCertificate,
        Decision::NotApplicable,
        Decision::IgnoredAutomatic,
    ];
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Everything the rules look at, already checked against anchors and registry.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub automatic: bool,
    /// The message is about MNotify (named, or carries a case token).
    pub relevant: bool,
    pub certificates: &'a [CheckedCertificate],
    pub findings: &'a [Finding],
    /// Numbers that count (quoted by the sender, not the serial of an attached file).
    pub numbers: &'a [CheckedNumber],
}

/// What a quoted number amounts to on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberOutcome {
    Confirmed,
    /// Matches one known certificate that is expired or revoked.
    Unusable(Problem),
    Ambiguous,
    NotFound,
}

/// The decision and the message's problems (sorted, each once). Positive outcomes win:
/// one good certificate is enough even if something else in the mail was wrong.
pub fn decide(evidence: &Evidence<'_>) -> (Decision, Vec<Problem>) {
    if evidence.automatic {
        return (Decision::IgnoredAutomatic, Vec::new());
    }
    let mut problems: Vec<Problem> = evidence.findings.iter().map(|f| f.problem).collect();
    for cert in evidence.certificates {
        problems.extend(&cert.problems);
    }
    let outcomes: Vec<NumberOutcome> = evidence.numbers.iter().map(|n| n.outcome).collect();
    for outcome in &outcomes {
        if let NumberOutcome::Unusable(problem) = outcome {
            problems.push(*problem);
        }
    }
    problems.sort();
    problems.dedup();

    let decision = pick(evidence, &problems, &outcomes);
    (decision, problems)
}

fn pick(evidence: &Evidence<'_>, problems: &[Problem], outcomes: &[NumberOutcome]) -> Decision {
    if problems.contains(&Problem::PrivateKeySent) {
        // The key is compromised: nothing in this mail may be used.
        return Decision::Rejected;
    }
    let usable = |c: &&CheckedCertificate| c.role == Role::EndEntity && c.problems.is_empty();
    if evidence
        .certificates
        .iter()
        .filter(usable)
        .any(|c| c.known.is_none())
    {
        return Decision::NewCertificate;
    }
    if evidence
        .certificates
        .iter()
        .filter(usable)
        .any(|c| c.known.is_some())
    {
        return Decision::ReuseConfirmed;
    }
    if outcomes.contains(&NumberOutcome::Confirmed) {
        return Decision::ReuseConfirmed;
    }
    let sent_something_unusable = evidence.certificates.iter().any(|c| c.role != Role::Chain)
        || !evidence.findings.is_empty()
        || outcomes
            .iter()
            .any(|o| matches!(o, NumberOutcome::Unusable(_)));
    if sent_something_unusable {
        return Decision::Rejected;
    }
    if outcomes.contains(&NumberOutcome::Ambiguous) {
        return Decision::Ambiguous;
    }
    if outcomes.contains(&NumberOutcome::NotFound) {
        return Decision::SerialNotFound;
    }
    if evidence.relevant {
        return Decision::NeedCertificate;
    }
    Decision::NotApplicable
}
