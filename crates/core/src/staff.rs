//! Staff requests, pure: what staff ask of one case ([`CaseAction`]) or of the store
//! as a whole ([`StoreRequest`]), the guardrails a case change must pass
//! ([`refusal`]), and the change planned ([`plan`]): the case after it and the notice
//! the applicant gets. The daemon crate's `staff` applies them to the store.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::case::{self, Action, Case, Event, Step};
use crate::language::Language;
use crate::process::{notice, Settings};
use crate::record::{MessageId, OutboxEntry};
use crate::reply::{ReplyError, ReplyMode};

/// What staff ask of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseAction {
    Advance {
        step: Step,
        note: Option<String>,
        /// Record it although its prerequisites are not done (the note says why).
        #[serde(default)]
        force: bool,
    },
    /// Mail from this address or domain counts as the case's institution's.
    Allow {
        member: String,
    },
    Note {
        text: String,
    },
    /// The applicant's open question was answered (by mail or phone): the case no
    /// longer waits on the agency for it.
    Answered {
        note: Option<String>,
    },
    Reopen {
        step: Step,
        note: Option<String>,
    },
    /// The case `from` is the same system as this one: merged into it.
    Merge {
        from: String,
        note: Option<String>,
    },
    /// This case muddles two systems: a new case split off it, for `system`.
    Split {
        system: Option<String>,
        note: Option<String>,
    },
    /// A staff member's answer to the applicant, written from the case: sent (signed
    /// by the agency, threaded, the case tag in the subject), and an open question
    /// answered.
    Reply {
        text: String,
        /// Addresses staff allowed on the case (`cases allow`) that get a copy.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cc: Vec<String>,
    },
}

/// The longest answer staff may send from a case, in bytes.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What staff ask of the store as a whole (no case): answered with a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreRequest {
    /// The staff digest now: queued for the staff (`send`), or rendered (text or HTML)
    /// for the command to print.
    Digest { send: bool, html: bool },
    /// `status`: the store's summary as JSON.
    Status,
    /// `registry import` while the daemon runs: records the command already read.
    RegistryImport {
        records: Vec<crate::registry::KnownCertificate>,
    },
    /// `held list`: mail held because its sender was not authenticated.
    HeldList,
    /// `held accept`: staff vouch for a held message's sender; the daemon handles it.
    AcceptHeld { identity: String },
    /// `held dismiss`: staff looked and will not act; the mail stays in Needs-Human,
    /// marked dismissed, out of the held list.
    DismissHeld { identity: String },
    /// Every case, as JSON (what `cases list/export` read); only the request's case
    /// when it names one (`cases show` and the commands that change one case).
    Cases,
    /// `store backup`: a backup written now into `[store] backups` (never a path the
    /// request names: the daemon writes only where its config says).
    Backup,
    /// The registry of known certificates, as JSON (what `inspect` and `registry list`
    /// read).
    Registry,
    /// Who answers: the daemon's process id (a second `run` says it is running).
    Ping,
    /// The conversation of the request's case (its letters, oldest first), as JSON.
    Conversation,
}

/// What staff asked for: of a case, or of the store. On the wire (the control socket,
/// the store's record of requests applied) one object whose `kind` says which, as it
/// always was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffAction {
    Case(CaseAction),
    Store(StoreRequest),
}

impl From<CaseAction> for StaffAction {
    fn from(a: CaseAction) -> StaffAction {
        StaffAction::Case(a)
    }
}

impl From<StoreRequest> for StaffAction {
    fn from(r: StoreRequest) -> StaffAction {
        StaffAction::Store(r)
    }
}

impl Serialize for StaffAction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StaffAction::Case(a) => a.serialize(serializer),
            StaffAction::Store(r) => r.serialize(serializer),
        }
    }
}

/// The `kind`s of [`CaseAction`].
const CASE_KINDS: [&str; 8] = [
    "advance", "allow", "note", "answered", "reopen", "merge", "split", "reply",
];

impl<'de> Deserialize<'de> for StaffAction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<StaffAction, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| D::Error::custom("a staff request names its `kind`"))?;
        if CASE_KINDS.contains(&kind) {
            CaseAction::deserialize(value)
                .map(StaffAction::Case)
                .map_err(D::Error::custom)
        } else {
            StoreRequest::deserialize(value)
                .map(StaffAction::Store)
                .map_err(D::Error::custom)
        }
    }
}

impl StaffAction {
    /// Store-wide requests (no case): they answer with a text in `results/<id>.out`.
    pub fn is_store_wide(&self) -> bool {
        matches!(self, StaffAction::Store(_))
    }

    /// In words, for the log (English, steps by their codes).
    pub fn describe(&self, procedure: &crate::procedure::Procedure) -> String {
        self.words(procedure, Language::En, None)
    }

    /// In words, for the staff who asked, in their language, steps by their names as
    /// `cases list` says them (`agency`: the short name some steps carry); a store-wide
    /// request is named as the log names it.
    pub fn said(
        &self,
        procedure: &crate::procedure::Procedure,
        language: Language,
        agency: &str,
    ) -> String {
        self.words(procedure, language, Some(agency))
    }

    fn words(
        &self,
        procedure: &crate::procedure::Procedure,
        language: Language,
        agency: Option<&str>,
    ) -> String {
        match self {
            StaffAction::Case(a) => a.said(procedure, language, agency),
            StaffAction::Store(r) => r.describe(),
        }
    }
}

impl CaseAction {
    /// In words, in `language`; a step by its name (with `agency`) or its code.
    fn said(
        &self,
        procedure: &crate::procedure::Procedure,
        language: Language,
        agency: Option<&str>,
    ) -> String {
        let step = |step: &Step| {
            let name = match agency {
                Some(agency) => procedure.short_of(*step, language, agency),
                None => step.code().to_string(),
            };
            format!("{} ({name})", procedure.number(*step))
        };
        let (ro, en, ru) = match self {
            CaseAction::Advance { step: s, .. } => {
                let s = step(s);
                (
                    format!("pasul {s} făcut"),
                    format!("step {s} done"),
                    format!("шаг {s} выполнен"),
                )
            }
            CaseAction::Note { .. } => (
                "notă adăugată".into(),
                "note added".into(),
                "заметка добавлена".into(),
            ),
            CaseAction::Answered { .. } => (
                "întrebare marcată ca având răspuns".into(),
                "question marked answered".into(),
                "вопрос отмечен как отвеченный".into(),
            ),
            CaseAction::Allow { member } => (
                format!("{member} adăugat la instituție"),
                format!("{member} added to the institution"),
                format!("{member} добавлен(а) в учреждение"),
            ),
            CaseAction::Reopen { step: s, .. } => {
                let s = step(s);
                (
                    format!("pasul {s} redeschis"),
                    format!("step {s} reopened"),
                    format!("шаг {s} открыт снова"),
                )
            }
            CaseAction::Merge { from, .. } => (
                format!("cazul #{from} unit cu acesta"),
                format!("case #{from} merged into it"),
                format!("дело #{from} объединено с этим"),
            ),
            CaseAction::Split { .. } => (
                "un caz separat".into(),
                "a case split off".into(),
                "дело выделено".into(),
            ),
            CaseAction::Reply { .. } => (
                "răspuns trimis solicitantului".into(),
                "answer sent to the applicant".into(),
                "ответ отправлен заявителю".into(),
            ),
        };
        language.pick(ro, en, ru)
    }

    /// The case event it is (a merge and a split change two cases: `staff::merging`
    /// applies them, never through an event).
    pub fn event<'a>(&'a self, by: &'a str) -> Event<'a> {
        match self {
            CaseAction::Allow { member } => Event::Allow { by, member },
            CaseAction::Advance { step, note, .. } => Event::StepDone {
                step: *step,
                by,
                note: note.as_deref(),
            },
            CaseAction::Note { text } => Event::Note { by, text },
            CaseAction::Answered { note } => Event::Answered {
                by,
                note: note.as_deref(),
            },
            CaseAction::Reopen { step, note } => Event::Reopen {
                step: *step,
                by,
                note: note.as_deref(),
            },
            CaseAction::Reply { .. } => Event::AnswerSent {
                by,
                in_mailbox: false,
            },
            CaseAction::Merge { .. } | CaseAction::Split { .. } => Event::Note {
                by,
                text: "cases merged or split",
            },
        }
    }
}

impl StoreRequest {
    /// In words, for the command's answer and the log.
    pub fn describe(&self) -> String {
        match self {
            StoreRequest::Digest { send: true, .. } => "digest queued for the staff".into(),
            StoreRequest::Digest { send: false, .. } => "digest rendered".into(),
            StoreRequest::Status => "status".into(),
            StoreRequest::RegistryImport { records } => {
                format!("registry import of {} certificate(s)", records.len())
            }
            StoreRequest::HeldList => "held mail listed".into(),
            StoreRequest::AcceptHeld { identity } => format!("held mail {identity} accepted"),
            StoreRequest::DismissHeld { identity } => format!("held mail {identity} dismissed"),
            StoreRequest::Cases => "cases read".into(),
            StoreRequest::Backup => "backup written".into(),
            StoreRequest::Registry => "registry read".into(),
            StoreRequest::Ping => "ping".into(),
            StoreRequest::Conversation => "conversation read".into(),
        }
    }
}

/// One staff request, as applied: who asked (from the control socket's credentials),
/// about which case, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who asked (shown on the case timeline).
    pub by: String,
    /// The case token.
    pub case: String,
    pub action: StaffAction,
}

impl Request {
    /// A request with a fresh id; fails only when the system's random source does.
    pub fn new(
        case: &str,
        by: &str,
        action: StaffAction,
        now: OffsetDateTime,
    ) -> Result<Request, crate::record::NoRandomness> {
        Ok(Request {
            id: crate::record::fresh_id()?,
            at: now,
            by: by.to_string(),
            case: case.to_ascii_uppercase(),
            action,
        })
    }
}

/// A change to a case, planned: the case after it and the notice to the applicant.
#[derive(Debug, Clone)]
pub struct StaffPlan {
    pub case: Case,
    pub thread_ids: Vec<MessageId>,
    /// The notice to the applicant, if the event calls for one and replies are on.
    pub outbox: Option<OutboxEntry>,
}

/// Pure: the case after the request and the notice the applicant gets. The notice is
/// threaded to the case's latest message and written in the case's language.
pub fn plan(
    case: &Case,
    request: &Request,
    action: &CaseAction,
    settings: &Settings<'_>,
    now: OffsetDateTime,
) -> Result<StaffPlan, ReplyError> {
    let procedure = settings.procedures.procedure_of(&case.service);
    let event = action.event(&request.by);
    let (mut next, actions) = case::apply(procedure, case, event, now);
    let mut thread_ids = Vec::new();
    let mut outbox = None;
    if let CaseAction::Reply { text, cc } = action {
        let seed = format!("staff/{}", request.id);
        let answer = crate::process::StaffAnswer {
            text,
            cc,
            by: &request.by,
        };
        let (entry, id) = crate::process::staff_answer(&mut next, answer, settings, &seed, now);
        return Ok(StaffPlan {
            case: next,
            thread_ids: vec![id],
            outbox: Some(entry),
        });
    }
    // One notice per request: completion supersedes a step notice.
    let action = actions
        .iter()
        .copied()
        .find(|a| *a == Action::TellCompleted)
        .or(actions.first().copied());
    if let (Some(action), true) = (action, settings.mode != ReplyMode::Off) {
        let (entry, id) = notice(
            &mut next,
            action,
            settings,
            &format!("staff/{}", request.id),
            now,
        )?;
        thread_ids.push(id);
        outbox = Some(entry);
    }
    Ok(StaffPlan {
        case: next,
        thread_ids,
        outbox,
    })
}

/// Why a change must not be made to `case`, if it must not: a step whose
/// prerequisites are not done (unless forced), a member that is not an address or a
/// domain.
pub fn refusal(
    case: &Case,
    procedure: &crate::procedure::Procedure,
    action: &CaseAction,
    language: Language,
) -> Option<String> {
    let say = |ro, en, ru| language.pick(ro, en, ru);
    let token = &case.token;
    let step = match action {
        CaseAction::Advance { step, .. } | CaseAction::Reopen { step, .. } => Some(*step),
        _ => None,
    };
    if let Some(step) = step.filter(|s| procedure.position(*s).is_none()) {
        let codes: Vec<&str> = procedure.order().map(|s| s.code()).collect();
        let (tag, codes, step) = (&procedure.tag, codes.join(", "), step.code());
        return Some(say(
            format!("cazul #{token} este pentru {tag}, ai cărui pași sunt {codes}; `{step}` nu este unul dintre ei"),
            format!("case #{token} is for {tag}, whose steps are {codes}; `{step}` is not one of them"),
            format!("дело #{token} относится к {tag}, его шаги: {codes}; `{step}` не из их числа"),
        ));
    }
    match action {
        CaseAction::Advance {
            step, force: false, ..
        } => {
            let missing = case.missing_before(procedure, *step);
            let certificate_missing = case.certificate_missing_for(*step);
            let step = step.code();
            if let Some(env) = certificate_missing {
                let env = env.code();
                return Some(say(
                    format!("cazul #{token}: {step} are nevoie de certificatul solicitantului pentru {env}, iar cazul nu are niciunul (testarea și producția au nevoie fiecare de al lor); cereți-l, sau folosiți --force cu o --note care spune de ce"),
                    format!("case #{token}: {step} needs the applicant's certificate for {env}, and the case has none (test and production each need their own); ask for it, or use --force with a --note saying why"),
                    format!("дело #{token}: для {step} нужен сертификат заявителя для {env}, а в деле его нет (тестовой и производственной среде нужен свой); запросите его или используйте --force с --note, объясняющей причину"),
                ));
            }
            (!missing.is_empty()).then(|| {
                let names: Vec<&str> = missing.iter().map(|s| s.code()).collect();
                let names = names.join(", ");
                say(
                    format!("cazul #{token}: {step} are nevoie întâi de {names}; înregistrați-i, sau folosiți --force cu o --note care spune de ce"),
                    format!("case #{token}: {step} needs {names} done first; record those, or use --force with a --note saying why"),
                    format!("дело #{token}: для {step} сначала нужно выполнить {names}; отметьте их или используйте --force с --note, объясняющей причину"),
                )
            })
        }
        CaseAction::Reply { text, cc } => answer_refusal(text, cc, case, language),
        CaseAction::Allow { member } => {
            let m = member.trim();
            let valid = !m.is_empty()
                && !m.contains(char::is_whitespace)
                && (m.contains('@') || m.contains('.'))
                && m.matches('@').count() <= 1;
            (!valid).then(|| {
                say(
                    format!("`{m}` nu este o adresă de e-mail sau un domeniu (de ex. it@primaria.md sau primaria.md)"),
                    format!("`{m}` is not an e-mail address or a domain (e.g. it@primaria.md or primaria.md)"),
                    format!("`{m}` — не адрес электронной почты и не домен (например, it@primaria.md или primaria.md)"),
                )
            })
        }
        _ => None,
    }
}

/// Why a staff answer cannot go: empty, over [`MAX_ANSWER_BYTES`], or copied to an
/// address staff did not allow on the case (an answer has no free `To:`).
fn answer_refusal(text: &str, cc: &[String], case: &Case, language: Language) -> Option<String> {
    let allowed =
        |a: &String| a.contains('@') && case.members.contains(&a.trim().to_ascii_lowercase());
    if let Some(other) = cc.iter().find(|a| !allowed(a)) {
        let token = &case.token;
        return Some(language.pick(
            format!("{other} nu este o adresă adăugată la cazul #{token}: o copie merge doar la adresele adăugate cu `cases allow`"),
            format!("{other} is not an address allowed on case #{token}: a copy goes only to addresses added with `cases allow`"),
            format!("{other} — не адрес, добавленный к делу #{token}: копия уходит только на адреса, добавленные через `cases allow`"),
        ));
    }
    let n = text.len();
    if text.trim().is_empty() {
        return Some(language.pick(
            "răspunsul este gol: scrieți ce primește solicitantul".into(),
            "the answer is empty: write what the applicant is to read".into(),
            "ответ пуст: напишите, что получит заявитель".into(),
        ));
    }
    (n > MAX_ANSWER_BYTES).then(|| {
        language.pick(
            format!("răspunsul are {n} octeți, peste limita de {MAX_ANSWER_BYTES}: scurtați-l"),
            format!("the answer is {n} bytes, over the limit of {MAX_ANSWER_BYTES}: shorten it"),
            format!("ответ занимает {n} байт, больше предела {MAX_ANSWER_BYTES}: сократите его"),
        )
    })
}

/// A forced step keeps, with its note, which prerequisites were missing.
pub fn forced_note(
    case: &Case,
    procedure: &crate::procedure::Procedure,
    action: CaseAction,
) -> CaseAction {
    match action {
        CaseAction::Advance {
            step,
            note,
            force: true,
        } => {
            let missing: Vec<&str> = case
                .missing_before(procedure, step)
                .iter()
                .map(|s| s.code())
                .collect();
            let note = if missing.is_empty() {
                note
            } else {
                Some(format!(
                    "forced before {}: {}",
                    missing.join(", "),
                    note.unwrap_or_default()
                ))
            };
            CaseAction::Advance {
                step,
                note,
                force: true,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_format_is_one_object_whose_kind_says_which() {
        let advance: StaffAction = CaseAction::Advance {
            step: Step::CONTRACT,
            note: Some("semnat".into()),
            force: false,
        }
        .into();
        let json = serde_json::to_value(&advance).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "advance", "step": "contract", "note": "semnat", "force": false})
        );
        assert_eq!(
            serde_json::from_value::<StaffAction>(json).unwrap(),
            advance
        );
        let ping: StaffAction = StoreRequest::Ping.into();
        assert_eq!(serde_json::to_string(&ping).unwrap(), r#"{"kind":"ping"}"#);
        assert_eq!(
            serde_json::from_str::<StaffAction>(r#"{"kind":"digest","send":true,"html":false}"#)
                .unwrap(),
            StaffAction::Store(StoreRequest::Digest {
                send: true,
                html: false
            })
        );
        assert!(ping.is_store_wide() && !advance.is_store_wide());
    }

    #[test]
    fn a_request_of_no_known_kind_is_refused_with_the_reason() {
        for bad in [r#"{"kind":"erase_everything"}"#, r#"{"step":"form"}"#, "[]"] {
            let err = serde_json::from_str::<StaffAction>(bad).unwrap_err();
            assert!(
                err.to_string().contains("kind") || err.to_string().contains("variant"),
                "{bad}: {err}"
            );
        }
    }
}
