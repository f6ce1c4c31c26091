//! Where a mail lands: the case it names or continues, its sender's, a new one per
//! service a first mail asks for, or a case of its own for another system.

use crate::remark::Remark;
use time::OffsetDateTime;

use super::*;

/// The information system the mail names when it differs from `case`'s and the mail
/// reached the case only through its sender (not its token or thread): a case is one
/// institution's one system, so a second system gets a case of its own.
fn another_system(case: &Case, facts: &crate::intake::Facts) -> Option<String> {
    let named = facts.integration.system_name.as_deref()?;
    case.system()?;
    let in_thread = facts.case_token.as_deref() == Some(case.token.as_str())
        || facts
            .in_reply_to
            .iter()
            .chain(&facts.references)
            .filter_map(|id| crate::record::MessageId::parse(id))
            .any(|id| {
                case.message_ids
                    .iter()
                    .filter_map(|m| crate::record::MessageId::parse(m))
                    .any(|m| m == id)
            });
    (!in_thread && !case.is_for_system(named)).then(|| named.to_string())
}

/// Where a mail landed: its case (`None` when it moves none), whether it joined one
/// that existed, whose its certificates are, the cases it opened for further
/// services, and whether it named no service and is asked which one.
pub(super) struct Placed {
    pub(super) case: Option<Case>,
    pub(super) joined: bool,
    pub(super) ownership: certificates::Ownership,
    pub(super) opened: Vec<Case>,
    pub(super) ask_which: bool,
}

impl Placed {
    fn nowhere(joined: bool) -> Placed {
        Placed {
            case: None,
            joined,
            ownership: certificates::Ownership::default(),
            opened: Vec::new(),
            ask_which: false,
        }
    }
}

/// At most this many cases one mail opens (a mail listing every service).
const MAX_SERVICES_PER_MAIL: usize = 5;

/// The services a first mail opens cases for: those it names, in order; none named,
/// `[procedures] unnamed`'s (`None`: ask which).
fn services_for<'c>(
    analysis: &Analysis,
    procedures: &'c crate::procedure::Catalogue,
) -> Option<Vec<&'c crate::procedure::Procedure>> {
    let named: Vec<&crate::procedure::Procedure> = analysis
        .services
        .iter()
        .filter_map(|code| procedures.get(code))
        .take(MAX_SERVICES_PER_MAIL)
        .collect();
    if !named.is_empty() {
        return Some(named);
    }
    match &procedures.unnamed {
        crate::procedure::Unnamed::Ask => None,
        crate::procedure::Unnamed::Service(code) => procedures.get(code).map(|p| vec![p]),
    }
}

/// The case the mail belongs to: the one it names or continues, but only a case of
/// its own institution; new ones (one per service it asks for) for an applicant's
/// first mail.
pub(super) fn place_in_case(
    mail: Mail<'_>,
    judgement: &Judgement,
    (known, first_cases): (Option<Case>, &[CertificateCase]),
    procedures: &crate::procedure::Catalogue,
    notes: &mut Vec<Remark>,
    (now, fresh): (OffsetDateTime, &str),
) -> Placed {
    let facts = mail.content.facts();
    let mut case = known;
    if let Some(c) = &case {
        let address = judgement.sender.address.as_deref().unwrap_or("");
        let institution = judgement.institution.as_deref().unwrap_or("");
        if judgement.held || !c.admits(institution, address) {
            if !judgement.held {
                notes.push(Remark::OtherInstitutionsCase {
                    case: c.token.clone(),
                    owner: c.owner(),
                });
            }
            case = None;
        }
    }
    if let Some(c) = &case {
        if let Some(other) = another_system(c, facts) {
            notes.push(Remark::OtherSystem {
                system: other.to_string(),
                case: c.token.clone(),
                case_system: c.system().unwrap_or_default().to_string(),
            });
            case = None;
        }
    }
    let joined = case.is_some();
    let analysis = match mail.content {
        Content::Analysed(a) if judge::answers(a.decision) && !judgement.held => a,
        // Mail that does not move a case leaves it as it is.
        _ => return Placed::nowhere(joined),
    };
    let services = match (&case, services_for(analysis, procedures)) {
        (Some(_), _) => Vec::new(),
        (None, Some(services)) => services,
        (None, None) => {
            notes.push(Remark::NoServiceNamed);
            return Placed {
                ask_which: true,
                ..Placed::nowhere(false)
            };
        }
    };
    if case.is_none() {
        let also: Vec<String> = analysis
            .mentioned
            .iter()
            .filter_map(|code| procedures.get(code))
            .map(|p| p.tag.clone())
            .collect();
        if !also.is_empty() {
            notes.push(Remark::AlsoMentions { services: also });
        }
    }
    let open = |procedure: &crate::procedure::Procedure, seed: &str| {
        let applicant = judgement.recipient.clone().unwrap_or_default();
        let mut c = Case::open(token_for(seed), &applicant, facts.language, now);
        c.service = procedure.code.clone();
        c.subject = facts.subject.clone();
        c.identity = judgement.institution.clone();
        for n in notes.iter() {
            c.timeline.push(crate::case::TimelineEntry::new(
                now,
                Remark::MailNote {
                    message_id: mail.identity.to_string(),
                    note: Box::new(n.clone()),
                },
            ));
        }
        c
    };
    let mut c = match case {
        Some(c) => c,
        None => open(services[0], fresh),
    };
    let mut opened: Vec<Case> = services
        .iter()
        .skip(1)
        .map(|p| open(p, &format!("{fresh}/{}", p.code)))
        .collect();
    let evidence = certificates::evidence(analysis);
    let ownership =
        certificates::ownership(analysis, &c.owner(), &c.members, &c.token, first_cases);
    let doubt = (!ownership.doubts.is_empty()).then_some(ownership.doubts.as_slice());
    let received = certificates::for_case(analysis, now);
    let sender = judgement.who();
    let mail_event = crate::case::MailEvent {
        decision: analysis.decision,
        message_id: mail.identity,
        evidence: &evidence,
        sender: &sender,
        doubt,
        certificates: &received,
    };
    for case in std::iter::once(&mut c).chain(opened.iter_mut()) {
        let procedure = procedures.procedure_of(&case.service);
        *case = crate::case::apply(procedure, case, crate::case::Event::Mail(mail_event), now).0;
        if facts.integration.is_present() {
            let event = crate::case::Event::Integration(&facts.integration);
            *case = crate::case::apply(procedure, case, event, now).0;
        }
    }
    // In a case already under way, a question is for a person: the automatic answer
    // says so and the case waits on the agency until staff mark it answered. (A first
    // mail's "what do we send?" is what the first answer tells.)
    if let (true, Some(question)) = (joined, &facts.question) {
        let procedure = procedures.procedure_of(&c.service);
        c = crate::case::apply(procedure, &c, crate::case::Event::Asked { question }, now).0;
    }
    Placed {
        case: Some(c),
        joined,
        ownership,
        opened,
        ask_which: false,
    }
}
