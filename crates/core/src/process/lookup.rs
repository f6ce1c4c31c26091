//! What the store is asked about one mail, twice: before it is analysed, [`recall`]
//! (was it handled before, which case does it name or continue), answered in one call
//! ([`Recalled`]); once it is read and judged, [`lookup`] (the sender's and system's
//! cases, counters, certificates), answered in one call ([`Found`]), and [`known`]
//! picks the case the mail belongs to and its reply counts. The store only looks
//! things up; every rule is here.

use time::OffsetDateTime;

use super::certificates::candidates;
use super::{Content, Judgement, Known, RateKeys, ReplyCounts, Reported};
use crate::case::Case;
use crate::record::{CertificateCase, MessageId};

/// The questions for the store before a mail is analysed: whether it was handled
/// before (under its identity, or beside it when another mail took its Message-ID
/// first), and the case it names or continues (its keys, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recall {
    pub identity: String,
    pub beside: String,
    pub case_keys: Vec<super::CaseKey>,
}

/// What the store answered to a [`Recall`].
#[derive(Debug, Clone, Default)]
pub struct Recalled {
    pub first: Option<crate::record::SeenRecord>,
    pub beside: Option<crate::record::SeenRecord>,
    /// The case the mail names or continues (after any merge).
    pub in_thread: Option<Case>,
}

/// What to recall of a mail whose content digest is `digest`.
pub fn recall(facts: &crate::intake::Facts, digest: &str) -> Recall {
    let identity = super::identity(facts.message_id.as_deref(), digest);
    Recall {
        beside: super::identity_beside(&identity, digest),
        identity,
        case_keys: super::case_keys(facts),
    }
}

/// Whose mail this is to the store: a new one (its identity, and the Message-ID it
/// shares with a different mail that came first, both handled each on its own), or the
/// same message handled before (a redelivery: filed, not answered).
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    New {
        identity: String,
        reuses: Option<String>,
    },
    Seen(Box<crate::record::SeenRecord>),
}

/// The mail's [`Identity`] from what the store recalled.
pub fn identity_of(recall: &Recall, recalled: &Recalled, digest: &str) -> Identity {
    match (&recalled.first, &recalled.beside) {
        (None, _) => Identity::New {
            identity: recall.identity.clone(),
            reuses: None,
        },
        (Some(first), _) if super::same_message(first, digest) => {
            Identity::Seen(Box::new(first.clone()))
        }
        (Some(_), Some(again)) => Identity::Seen(Box::new(again.clone())),
        (Some(_), None) => Identity::New {
            identity: recall.beside.clone(),
            reuses: Some(recall.identity.clone()),
        },
    }
}

/// The questions for the store about one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The believed sender's own case: their address, and the service the mail names
    /// first (`None`: their case changed last, whatever its service). Asked only when
    /// the mail names or continues no case.
    pub sender: Option<(String, Option<String>)>,
    /// The services a sender's latest case may be of.
    pub services: Vec<String>,
    /// The information system the mail names: the case of the same owner and service
    /// for that system is looked up too.
    pub system: Option<String>,
    /// Reply counters for answers to this address (held mail counts apart), at `now`.
    pub counters: Option<(String, bool, OffsetDateTime)>,
    /// The certificates of the mail (issuer, serial): the cases they were accepted in.
    pub certificates: Vec<(String, String)>,
    /// The reply of ours a delivery report names.
    pub report: Option<MessageId>,
}

/// What the store found for a [`Lookup`].
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The sender's own case (after any merge), when asked.
    pub sender_case: Option<Case>,
    /// The case for [`Lookup::system`] of the same owner and service as the mail's
    /// case (the one it names or continues, else the sender's).
    pub system_case: Option<Case>,
    /// The reply counts for the mail's recipient, with each candidate case's own
    /// count (`None`: no case).
    pub counts: Vec<(Option<String>, ReplyCounts)>,
    pub certificate_cases: Vec<CertificateCase>,
    /// Those cases themselves (after any merge).
    pub certificate_case_records: Vec<Case>,
    pub reported: Option<Reported>,
}

/// What to ask the store about a mail, `in_case` telling whether it names or continues
/// a case already.
pub fn lookup(
    content: Content<'_>,
    judgement: &Judgement,
    in_case: bool,
    procedures: &crate::procedure::Catalogue,
    now: OffsetDateTime,
) -> Lookup {
    let facts = content.facts();
    let sender = match &judgement.recipient {
        Some(to) if !in_case && judgement.may_use_sender_case() => {
            let named = match content {
                Content::Analysed(a) => a.services.first().cloned(),
                Content::Oversized { .. } => None,
            };
            Some((to.clone(), named))
        }
        _ => None,
    };
    Lookup {
        sender,
        services: procedures.iter().map(|p| p.code.clone()).collect(),
        system: facts.integration.system_name.clone(),
        counters: judgement
            .recipient
            .clone()
            .map(|to| (to, judgement.held, now)),
        certificates: match content {
            Content::Analysed(a) => candidates(a),
            Content::Oversized { .. } => Vec::new(),
        },
        report: super::reported_reply(facts),
    }
}

/// The counters a [`Lookup`] asks for, for a candidate case `token`.
pub fn rate_keys(lookup: &Lookup, token: Option<&str>) -> Option<RateKeys> {
    let (to, held, now) = lookup.counters.as_ref()?;
    Some(RateKeys::new(to, token, *held, *now))
}

/// The case a mail belongs to among the store's answers, and its counts: the case it
/// names or continues, else its sender's; when that case is for another of the
/// institution's systems than the one the mail names, the case for that system if
/// there is one (a case is one institution's one system).
pub fn known(in_case: Option<Case>, found: Found, lookup: &Lookup) -> Known {
    let case = in_case.or(found.sender_case);
    let case = match (&case, lookup.system.as_deref()) {
        (Some(c), Some(named)) if c.system().is_some() && !c.is_for_system(named) => {
            found.system_case.or(case)
        }
        _ => case,
    };
    let token = case.as_ref().map(|c| c.token.clone());
    let counts = found
        .counts
        .iter()
        .find(|(t, _)| *t == token)
        .map(|(_, counts)| *counts)
        .unwrap_or_default();
    let certificate_case_records = found
        .certificate_case_records
        .into_iter()
        .filter(|c| Some(&c.token) != token.as_ref())
        .collect();
    Known {
        case,
        counts,
        certificate_cases: found.certificate_cases,
        certificate_case_records,
        reported: found.reported,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::intake::Language;
    use crate::procedure::for_tests::mn;

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    fn case_for(token: &str, system: &str) -> Case {
        let mut c = Case::open(token.into(), "ion@inst.md", Language::Ro, NOW);
        let data = crate::integration::extract(&format!(
            "Denumirea sistemului în MPass: {system}\nIP: 10.0.0.1\n"
        ));
        c = crate::case::apply(mn(), &c, crate::case::Event::Integration(&data), NOW).0;
        assert_eq!(c.system(), Some(system), "the case is for {system}");
        c
    }

    fn asking(system: Option<&str>) -> Lookup {
        Lookup {
            sender: None,
            services: vec!["mnotify".into()],
            system: system.map(str::to_string),
            counters: Some(("ion@inst.md".into(), false, NOW)),
            certificates: Vec::new(),
            report: None,
        }
    }

    fn counts(case_today: u32) -> ReplyCounts {
        ReplyCounts {
            case_today,
            ..ReplyCounts::default()
        }
    }

    #[test]
    fn a_mail_naming_another_system_joins_that_systems_case_with_its_counts() {
        let a = case_for("AAAAAA", "SI Registru");
        let b = case_for("BBBBBB", "SI Cantine");
        let found = Found {
            system_case: Some(b.clone()),
            counts: vec![
                (None, counts(0)),
                (Some(a.token.clone()), counts(7)),
                (Some(b.token.clone()), counts(2)),
            ],
            certificate_case_records: vec![a.clone(), b.clone()],
            ..Found::default()
        };
        let k = known(Some(a.clone()), found, &asking(Some("si  cantine")));
        assert_eq!(k.case.as_ref().map(|c| c.token.as_str()), Some("BBBBBB"));
        assert_eq!(k.counts.case_today, 2, "the chosen case's counter");
        let others: Vec<&str> = k
            .certificate_case_records
            .iter()
            .map(|c| c.token.as_str())
            .collect();
        assert_eq!(others, ["AAAAAA"], "the mail's own case is not another's");
    }

    #[test]
    fn the_same_system_or_none_named_keeps_the_case() {
        let a = case_for("AAAAAA", "SI Registru");
        for named in [Some("si registru"), None] {
            let found = Found {
                system_case: Some(case_for("BBBBBB", "SI Cantine")),
                ..Found::default()
            };
            let k = known(Some(a.clone()), found, &asking(named));
            assert_eq!(k.case.as_ref().map(|c| c.token.as_str()), Some("AAAAAA"));
        }
        // No case of that system yet: the mail stays with the one it reached (the plan
        // then opens a case for the new system).
        let k = known(Some(a.clone()), Found::default(), &asking(Some("SI Nou")));
        assert_eq!(k.case.as_ref().map(|c| c.token.as_str()), Some("AAAAAA"));
        // With no case named, the sender's own.
        let found = Found {
            sender_case: Some(a),
            ..Found::default()
        };
        let k = known(None, found, &asking(None));
        assert_eq!(k.case.as_ref().map(|c| c.token.as_str()), Some("AAAAAA"));
    }

    #[test]
    fn the_sender_case_is_asked_for_only_when_the_mail_reaches_no_case() {
        let raw = b"From: ion@inst.md\r\nSubject: MNotify\r\n\r\nConectare MNotify.\r\n";
        let facts = crate::intake::read(raw, &[]);
        let analysis = crate::analysis::analyse_facts(
            facts,
            &crate::analysis::Context {
                anchors: &crate::certificate::TrustAnchors::default(),
                registry: &crate::registry::Registry::default(),
                own_addresses: &[],
                revocations: &crate::revocation::Revocations::default(),
                procedures: crate::procedure::for_tests::cat(),
                case_certificates: &crate::registry::Registry::default(),
            },
            NOW,
        );
        let content = Content::Analysed(&analysis);
        let policy = crate::trust::Policy {
            authserv_ids: Vec::new(),
            exchange_tenant: None,
            senders: crate::trust::SenderRule::Off,
        };
        let cat = crate::procedure::for_tests::cat();
        // Not authenticated: its own case is not looked up by its address.
        let stranger = super::super::judge(content, None, &policy);
        assert_eq!(lookup(content, &stranger, false, cat, NOW).sender, None);
        // Staff vouched for it.
        let judgement = super::super::judge(content, Some("Ana".into()), &policy);
        let free = lookup(content, &judgement, false, cat, NOW);
        assert_eq!(
            free.sender,
            Some(("ion@inst.md".into(), Some("mnotify".into())))
        );
        assert_eq!(lookup(content, &judgement, true, cat, NOW).sender, None);
    }
}
