//! The whole pure pipeline for one message: bytes → [`Facts`] → certificates and numbers
//! checked against the trust anchors and the registry → [`Decision`].

use time::OffsetDateTime;

use crate::certificate::{validate, Certificate, TrustAnchors};
use crate::decision::{decide, Decision, Evidence, NumberOutcome};
use crate::intake::{self, Facts, Finding};
use crate::integration::Environment;
use crate::problem::Problem;
use crate::registry::{KnownCertificate, Registry};
use crate::revocation::{Revocation, Revocations};
use crate::serials::{Hint, NumberKind, QuotedNumber};

/// What the pipeline needs besides the message.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub anchors: &'a TrustAnchors,
    pub registry: &'a Registry,
    /// The mailbox's own addresses: mail from them is never answered.
    pub own_addresses: &'a [String],
    /// The CRLs at hand ([`Revocations::default`]: not checking).
    pub revocations: &'a Revocations,
    /// The services the mailbox serves: which ones a mail names.
    pub procedures: &'a crate::procedure::Catalogue,
    /// The certificates our own cases accepted, each for its service, environment,
    /// system and institution: a number the registry does not know is looked up here
    /// (a certificate accepted for one service counts for the same system and
    /// environment in another service's case).
    pub case_certificates: &'a Registry,
}

pub use crate::decision::{CheckedCertificate, CheckedNumber, Role};

#[derive(Debug, Clone)]
pub struct Analysis {
    pub facts: Facts,
    pub certificates: Vec<CheckedCertificate>,
    /// Every number found; those that refer to an attached certificate are marked.
    pub numbers: Vec<CheckedNumber>,
    pub findings: Vec<Finding>,
    pub decision: Decision,
    pub problems: Vec<Problem>,
    /// The services the mail asks to connect to, in order of first mention
    /// ([`crate::procedure::mention`]): the daemon opens a case for each.
    pub services: Vec<String>,
    /// Services it names without clearly asking for them: shown to staff on its case,
    /// no case opened.
    pub mentioned: Vec<String>,
}

impl Analysis {
    pub fn private_key_detected(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.problem == Problem::PrivateKeySent)
    }
}

/// Reads and decides one raw message at time `now`.
pub fn analyse(raw: &[u8], ctx: &Context<'_>, now: OffsetDateTime) -> Analysis {
    analyse_facts(intake::read(raw, ctx.own_addresses), ctx, now)
}

/// Decides from facts already read.
pub fn analyse_facts(facts: Facts, ctx: &Context<'_>, now: OffsetDateTime) -> Analysis {
    let mut findings = facts.findings.clone();
    let parsed: Vec<(Certificate, String)> = facts
        .certificates
        .iter()
        .filter_map(|found| match Certificate::from_der(&found.der) {
            Ok(cert) => Some((cert, found.source.clone())),
            Err(_) => {
                findings.push(Finding {
                    problem: Problem::NotACertificate,
                    source: found.source.clone(),
                });
                None
            }
        })
        .collect();
    let certificates = check_certificates(&parsed, &facts, ctx, now);
    let crate::procedure::mention::Reading {
        asked: services,
        mentioned,
    } = ctx.procedures.read_services(&facts.own_text);
    let relevant = about_onboarding(&facts, &services, ctx.procedures)
        || !certificates.is_empty()
        || !findings.is_empty();
    let numbers: Vec<CheckedNumber> = facts
        .quoted
        .iter()
        // In mail that is not about MNotify, only numbers announced by a keyword count: a
        // bare hex string there is more likely an order or tracking number.
        .filter(|q| relevant || q.hint != Hint::None)
        .filter_map(|q| check_number(q, &certificates, &facts, ctx, now))
        .collect();
    let counted: Vec<CheckedNumber> = numbers
        .iter()
        .filter(|n| !n.refers_to_attached)
        .cloned()
        .collect();
    let evidence = Evidence {
        automatic: facts.automatic.is_some(),
        relevant,
        certificates: &certificates,
        findings: &findings,
        numbers: &counted,
    };
    let (decision, problems) = decide(&evidence);
    Analysis {
        services,
        mentioned,
        facts,
        certificates,
        numbers,
        findings,
        decision,
        problems,
    }
}

/// Whether the mail is about connecting to a platform service: it names MNotify (the
/// mailbox's first service, whose name alone always counted) or carries a service's
/// case token, or it names another service with a word of onboarding ("conectare",
/// "certificat", "подключение", "integration"): "MPass nu funcționează" is a support
/// request for people, not an application.
static ONBOARDING: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\b(?:conect|integr|certificat|serial|seri[ae]\b|pasul|onboard|connect|step|подключ|интеграц|сертификат|серийн|шаг)",
    )
    .expect("valid pattern")
});

/// Compiles the patterns the pipeline's first mail would otherwise compile while it
/// is read, by reading a small mail that touches them (the daemon calls it before its
/// first pass: a start killed soon after must not be killed inside that first read).
pub fn warm_up(procedures: &crate::procedure::Catalogue) {
    const SAMPLE: &[u8] = b"From: Ion <ion@primaria.md>\r\nSubject: Re: [MNotify #ABC123] Conectare\r\nMessage-ID: <w@primaria.md>\r\n\r\nBuna ziua, certificatul este deja inregistrat pentru MPass, seria 4A 3F 00 12 7B C9.\r\nDenumirea sistemului in MPass: SI Test\r\nIP testare: 176.123.4.10\r\nCe trebuie sa trimitem?\r\n";
    crate::procedure::mention::warm_up();
    let facts = intake::read(SAMPLE, &[]);
    let services = procedures.services_in(&facts.own_text);
    let _ = about_onboarding(&facts, &services, procedures);
}

fn about_onboarding(
    facts: &Facts,
    services: &[String],
    procedures: &crate::procedure::Catalogue,
) -> bool {
    let tagged = facts
        .case_tag
        .as_deref()
        .is_some_and(|t| procedures.by_tag(t).is_some());
    facts.mentions_mnotify
        || tagged
        || (!services.is_empty() && ONBOARDING.is_match(&facts.own_text))
}

fn check_certificates(
    parsed: &[(Certificate, String)],
    facts: &Facts,
    ctx: &Context<'_>,
    now: OffsetDateTime,
) -> Vec<CheckedCertificate> {
    let has_end_entity = parsed.iter().any(|(c, _)| !c.is_ca);
    let all: Vec<&Certificate> = parsed.iter().map(|(c, _)| c).collect();
    parsed
        .iter()
        .map(|(cert, source)| {
            let known = ctx.registry.find_certificate(cert).cloned();
            let role = match (cert.is_ca, has_end_entity) {
                (false, _) => Role::EndEntity,
                (true, true) => Role::Chain,
                (true, false) => Role::Ca,
            };
            let mut problems = match role {
                Role::Chain => Vec::new(),
                Role::EndEntity | Role::Ca => validate::problems(cert, ctx.anchors, &all, now),
            };
            if role == Role::Ca {
                problems.insert(0, Problem::CaCertificate);
            }
            let mut revocation = None;
            if role != Role::Chain {
                problems.extend(known.as_ref().and_then(|k| k.status.problem()));
                problems.extend(
                    known
                        .as_ref()
                        .and_then(|k| registered_elsewhere(k, facts, Environment::of_name(source))),
                );
                revocation =
                    ctx.revocations
                        .status(&cert.issuer_raw, &cert.serial, &cert.crl_urls, now);
                let listed = revocation.as_ref().and_then(Revocation::problem);
                problems.extend(listed.filter(|p| !problems.contains(p)));
            }
            CheckedCertificate {
                certificate: cert.clone(),
                source: source.clone(),
                role,
                problems,
                known,
                revocation,
            }
        })
        .collect()
}

/// Why a certificate the registry knows does not count for what this mail is about:
/// registered for another information system, or the other environment, than the
/// mail names (its system name, the environment it lists the serial under, or the
/// file's name). Nothing is said when either side is silent.
fn registered_elsewhere(
    known: &KnownCertificate,
    facts: &Facts,
    file_environment: Option<Environment>,
) -> Option<Problem> {
    let named = facts.integration.system_name.as_deref();
    if let (Some(theirs), Some(ours)) = (known.system.as_deref(), named) {
        if !crate::integration::same_system(theirs, ours) {
            return Some(Problem::RegisteredForOtherSystem);
        }
    }
    let ours = facts
        .integration
        .environment_of(&known.serial)
        .or(file_environment);
    match (known.environment, ours) {
        (Some(theirs), Some(ours)) if theirs != ours => {
            Some(Problem::RegisteredForOtherEnvironment)
        }
        _ => None,
    }
}

fn check_number(
    number: &QuotedNumber,
    attached: &[CheckedCertificate],
    facts: &Facts,
    ctx: &Context<'_>,
    now: OffsetDateTime,
) -> Option<CheckedNumber> {
    let readings = number.readings();
    let likeliest = match (number.hint, readings.as_slice()) {
        (_, []) => return None,
        (Hint::Serial, r) => r
            .iter()
            .find(|(k, _)| *k == NumberKind::Serial)
            .unwrap_or(&r[0]),
        (_, r) => &r[0],
    };
    let refers = |kind: NumberKind, value: &str| {
        attached.iter().any(|c| {
            let cert = &c.certificate;
            match kind {
                NumberKind::Serial => cert.serial == value,
                NumberKind::Sha1 => cert.sha1 == value,
                NumberKind::Sha256 => cert.sha256 == value,
            }
        })
    };
    if let Some((kind, value)) = readings.iter().find(|(k, v)| refers(*k, v)) {
        return Some(CheckedNumber {
            number: number.clone(),
            kind: *kind,
            value: value.clone(),
            matches: Vec::new(),
            refers_to_attached: true,
            outcome: NumberOutcome::NotFound,
        });
    }
    // The registry first; a number it does not know, among our cases' certificates.
    let (chosen, matches) = look_up(&readings, likeliest, [ctx.registry, ctx.case_certificates]);
    let outcome = number_outcome(&matches, facts, ctx, now);
    Some(CheckedNumber {
        number: number.clone(),
        kind: chosen.0,
        value: chosen.1,
        matches,
        refers_to_attached: false,
        outcome,
    })
}

/// The matches of a number's readings in the first of `registries` that knows any, and
/// the reading that matched (`likeliest` when none did).
fn look_up(
    readings: &[(NumberKind, String)],
    likeliest: &(NumberKind, String),
    registries: [&Registry; 2],
) -> ((NumberKind, String), Vec<KnownCertificate>) {
    let mut chosen = likeliest.clone();
    let mut matches: Vec<KnownCertificate> = Vec::new();
    for registry in registries {
        if !matches.is_empty() {
            break;
        }
        for (kind, value) in readings {
            let found: Vec<&KnownCertificate> = match kind {
                NumberKind::Serial => registry.by_serial(value),
                NumberKind::Sha1 => registry.by_sha1(value).into_iter().collect(),
                NumberKind::Sha256 => registry.by_sha256(value).into_iter().collect(),
            };
            if !found.is_empty() && matches.is_empty() {
                chosen = (*kind, value.clone());
            }
            for known in found {
                if !matches.iter().any(|m| m.key() == known.key()) {
                    matches.push(known.clone());
                }
            }
        }
    }
    (chosen, matches)
}

/// What a number's matches mean: one usable certificate confirms it.
fn number_outcome(
    matches: &[KnownCertificate],
    facts: &Facts,
    ctx: &Context<'_>,
    now: OffsetDateTime,
) -> NumberOutcome {
    match matches {
        [] => NumberOutcome::NotFound,
        [one] => match one.status.problem().or_else(|| {
            // The registry may not know yet what the CA's list says.
            ctx.revocations
                .listed_by_name(&one.issuer, &one.serial)
                .and_then(|r| r.problem())
                .or_else(|| registered_elsewhere(one, facts, None))
        }) {
            Some(problem) => NumberOutcome::Unusable(problem),
            None if one.is_expired(now) => NumberOutcome::Unusable(Problem::Expired),
            None => NumberOutcome::Confirmed,
        },
        _ => NumberOutcome::Ambiguous,
    }
}
