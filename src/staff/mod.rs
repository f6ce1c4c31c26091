//! What staff ask of the store: case changes (`cases advance`, `note`, `reopen`,
//! `allow`), held mail, digests, status, registry imports, and the reads behind `cases
//! list/show/export` and `inspect`. [`execute`] applies one request in the store's
//! transactions, exactly once by its id; it runs in the daemon (behind the control
//! socket, see [`crate::control`]) or in the command itself when the daemon is stopped.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::case::{self, Action, Case, Event, Step};
use crate::config::DigestConfig;
use crate::process::{notice, Settings};
use crate::record::{MessageId, OutboxEntry};
use crate::reply::ReplyError;
use crate::routine::{self, RoutineError};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error(transparent)]
    Routine(#[from] RoutineError),
}

/// What staff asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StaffAction {
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
    /// The staff digest now: queued for the staff (`send`), or rendered (text or HTML)
    /// for the command to print.
    Digest {
        send: bool,
        html: bool,
    },
    /// `status`: the store's summary as JSON.
    Status,
    /// `registry import` while the daemon runs: records the command already read.
    RegistryImport {
        records: Vec<crate::registry::KnownCertificate>,
    },
    /// `held list`: mail held because its sender was not authenticated.
    HeldList,
    /// `held accept`: staff vouch for a held message's sender; the daemon handles it.
    AcceptHeld {
        identity: String,
    },
    /// Every case, as JSON (what `cases list/show/export` read).
    Cases,
    /// `store backup`: a backup written now into `[store] backups` (never a path the
    /// request names: the daemon writes only where its config says).
    Backup,
    /// The registry of known certificates, as JSON (what `inspect` and `registry list`
    /// read).
    Registry,
    /// Who answers: the daemon's process id (a second `run` says it is running).
    Ping,
}

impl StaffAction {
    /// Store-wide requests (no case): they answer with a text in `results/<id>.out`.
    pub fn is_store_wide(&self) -> bool {
        matches!(
            self,
            StaffAction::Digest { .. }
                | StaffAction::Status
                | StaffAction::RegistryImport { .. }
                | StaffAction::HeldList
                | StaffAction::AcceptHeld { .. }
                | StaffAction::Cases
                | StaffAction::Registry
                | StaffAction::Ping
                | StaffAction::Backup
        )
    }
}

impl StaffAction {
    /// In words, for the command's answer and the log.
    pub fn describe(&self, procedure: &crate::procedure::Procedure) -> String {
        match self {
            StaffAction::Advance { step, .. } => {
                format!("step {} ({}) done", procedure.number(*step), step.code())
            }
            StaffAction::Note { .. } => "note added".into(),
            StaffAction::Answered { .. } => "question marked answered".into(),
            StaffAction::Allow { member } => format!("{member} added to the institution"),
            StaffAction::Reopen { step, .. } => {
                format!(
                    "step {} ({}) reopened",
                    procedure.number(*step),
                    step.code()
                )
            }
            StaffAction::Merge { from, .. } => format!("case #{from} merged into it"),
            StaffAction::Split { .. } => "a case split off".into(),
            StaffAction::Digest { send: true, .. } => "digest queued for the staff".into(),
            StaffAction::Digest { send: false, .. } => "digest rendered".into(),
            StaffAction::Status => "status".into(),
            StaffAction::RegistryImport { records } => {
                format!("registry import of {} certificate(s)", records.len())
            }
            StaffAction::HeldList => "held mail listed".into(),
            StaffAction::AcceptHeld { identity } => format!("held mail {identity} accepted"),
            StaffAction::Cases => "cases read".into(),
            StaffAction::Backup => "backup written".into(),
            StaffAction::Registry => "registry read".into(),
            StaffAction::Ping => "ping".into(),
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
    pub fn new(case: &str, by: &str, action: StaffAction, now: OffsetDateTime) -> Request {
        Request {
            id: crate::record::fresh_id(),
            at: now,
            by: by.to_string(),
            case: case.to_ascii_uppercase(),
            action,
        }
    }

    fn event(&self) -> Event<'_> {
        match &self.action {
            StaffAction::Allow { member } => Event::Allow {
                by: &self.by,
                member,
            },
            StaffAction::Advance { step, note, .. } => Event::StepDone {
                step: *step,
                by: &self.by,
                note: note.as_deref(),
            },
            StaffAction::Note { text } => Event::Note { by: &self.by, text },
            StaffAction::Answered { note } => Event::Answered {
                by: &self.by,
                note: note.as_deref(),
            },
            StaffAction::Reopen { step, note } => Event::Reopen {
                step: *step,
                by: &self.by,
                note: note.as_deref(),
            },
            StaffAction::Digest { .. }
            | StaffAction::Status
            | StaffAction::RegistryImport { .. }
            | StaffAction::HeldList
            | StaffAction::AcceptHeld { .. }
            | StaffAction::Cases
            | StaffAction::Registry
            | StaffAction::Backup
            | StaffAction::Ping => Event::Note {
                by: &self.by,
                text: "store-wide request",
            },
            // Applied by `merging`, which changes two cases; never through this event.
            StaffAction::Merge { .. } | StaffAction::Split { .. } => Event::Note {
                by: &self.by,
                text: "cases merged or split",
            },
        }
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
    settings: &Settings<'_>,
    now: OffsetDateTime,
) -> Result<StaffPlan, ReplyError> {
    let procedure = settings.procedures.procedure_of(&case.service);
    let (mut next, actions) = case::apply(procedure, case, request.event(), now);
    let mut thread_ids = Vec::new();
    let mut outbox = None;
    // One notice per request: completion supersedes a step notice.
    let action = actions
        .iter()
        .copied()
        .find(|a| *a == Action::TellCompleted)
        .or(actions.first().copied());
    if let (Some(action), true) = (action, settings.mode != crate::config::ReplyMode::Off) {
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
    action: &StaffAction,
) -> Option<String> {
    let step = match action {
        StaffAction::Advance { step, .. } | StaffAction::Reopen { step, .. } => Some(*step),
        _ => None,
    };
    if let Some(step) = step.filter(|s| procedure.position(*s).is_none()) {
        let codes: Vec<&str> = procedure.order().map(|s| s.code()).collect();
        return Some(format!(
            "case #{} is for {}, whose steps are {}; `{}` is not one of them",
            case.token,
            procedure.tag,
            codes.join(", "),
            step.code()
        ));
    }
    match action {
        StaffAction::Advance {
            step, force: false, ..
        } => {
            let missing = case.missing_before(procedure, *step);
            if let Some(env) = case.certificate_missing_for(*step) {
                return Some(format!(
                    "case #{}: {} needs the applicant's certificate for {}, and the case has none (test and production each need their own); ask for it, or use --force with a --note saying why",
                    case.token,
                    step.code(),
                    env.code()
                ));
            }
            (!missing.is_empty()).then(|| {
                let names: Vec<&str> = missing.iter().map(|s| s.code()).collect();
                format!(
                    "case #{}: {} needs {} done first; record those, or use --force with a --note saying why",
                    case.token,
                    step.code(),
                    names.join(", ")
                )
            })
        }
        StaffAction::Allow { member } => {
            let m = member.trim();
            let valid = !m.is_empty()
                && !m.contains(char::is_whitespace)
                && (m.contains('@') || m.contains('.'))
                && m.matches('@').count() <= 1;
            (!valid).then(|| {
                format!("`{m}` is not an e-mail address or a domain (e.g. it@primaria.md or primaria.md)")
            })
        }
        _ => None,
    }
}

/// Applies one request to the store and answers it: `Ok(text)` when done, `Err(why)`
/// when refused (no such case, a step before its prerequisites, a broken template).
/// A request already applied (the same id: a command that asked again after a lost
/// answer) is not applied twice.
pub fn execute(
    store: &Store,
    request: &Request,
    desk: &Desk<'_>,
    now: OffsetDateTime,
) -> Result<Result<String, String>, StaffError> {
    let settings = &desk.settings;
    if request.action.is_store_wide() {
        if store.request_applied(&request.id)? {
            return Ok(Ok("queued".into()));
        }
        return answer(store, request, desk, now);
    }
    let Some(case) = store.case(&request.case)? else {
        return Ok(Err(format!(
            "no case #{}; `mnotify-intake cases list` shows the cases",
            request.case
        )));
    };
    let procedure = settings.procedures.procedure_of(&case.service);
    if store.request_applied(&request.id)? {
        return Ok(Ok(format!(
            "case #{}: {} (already applied)",
            request.case,
            request.action.describe(procedure)
        )));
    }
    if let Some(into) = case.merged() {
        return Ok(Err(format!(
            "case #{} was merged into #{into}; act on #{into}",
            case.token
        )));
    }
    if matches!(
        request.action,
        StaffAction::Merge { .. } | StaffAction::Split { .. }
    ) {
        return merging::execute(store, request, case, procedure, now);
    }
    if let Some(reason) = refusal(&case, procedure, &request.action) {
        return Ok(Err(reason));
    }
    // A notice that cannot be composed (a broken template) refuses the request with
    // the reason rather than stopping the daemon.
    let plan = match plan(&case, request, settings, now) {
        Ok(plan) => plan,
        Err(e) => return Ok(Err(format!("cannot compose the notice: {e}"))),
    };
    store.commit_staff(
        &request.id,
        &plan.case,
        &plan.thread_ids,
        plan.outbox.as_ref(),
    )?;
    Ok(Ok(format!(
        "case #{}: {} (recorded by {}); next: {}{}",
        request.case,
        request.action.describe(procedure),
        request.by,
        plan.case
            .next_step_told(procedure)
            .map_or("completed", Step::code),
        if plan.outbox.is_some() {
            "; the applicant is told"
        } else {
            ""
        }
    )))
}

/// What staff requests need of the configuration.
pub struct Desk<'a> {
    pub settings: Settings<'a>,
    pub digest: Option<&'a DigestConfig>,
    /// `[store] backups`: where `store backup` writes.
    pub backups: &'a std::path::Path,
}

impl<'a> Desk<'a> {
    pub fn new(
        config: &'a crate::config::Config,
        templates: &'a crate::reply::Templates,
    ) -> Desk<'a> {
        Desk {
            settings: config.plan_settings(templates),
            digest: config.digest.as_ref(),
            backups: &config.keeping.dir,
        }
    }
}

/// The answer to a store-wide request, or why it cannot be given.
fn answer(
    store: &Store,
    request: &Request,
    desk: &Desk<'_>,
    now: OffsetDateTime,
) -> Result<Result<String, String>, StaffError> {
    let (settings, digest) = (&desk.settings, desk.digest);
    Ok(Ok(match &request.action {
        StaffAction::Backup => {
            let (path, summary) = store.write_backup_file(desk.backups, "manual", now)?;
            format!(
                "backup written: {} ({} entries, sha256 {})",
                path.display(),
                summary.entries,
                summary.sha256
            )
        }
        StaffAction::Digest { send, html } => {
            let Some(cfg) = digest else {
                return Ok(Err(
                    "no [digest] section in the config: add one (staff addresses) to use digests"
                        .into(),
                ));
            };
            if *send {
                routine::queue_digest(store, cfg, settings, now, Some(&request.id))?;
                "queued".into()
            } else {
                let d = routine::build_digest(
                    store,
                    cfg,
                    settings.procedures,
                    settings.needs_human_folder,
                    now,
                )?;
                if *html {
                    crate::digest::render_html(&d)
                } else {
                    crate::digest::render_text(&d)
                }
            }
        }
        StaffAction::Status => status_report(store)?.to_string(),
        StaffAction::RegistryImport { records } => import(store, records)?,
        StaffAction::HeldList => held_list(store)?,
        StaffAction::Cases => {
            let mut out = Vec::from(b"[".as_slice());
            store
                .write_cases_json(&mut out)
                .map_err(StaffError::Store)?;
            out.push(b']');
            String::from_utf8_lossy(&out).into_owned()
        }
        StaffAction::Registry => serde_json::to_string(store.load_registry()?.entries())
            .expect("the registry serialises"),
        StaffAction::Ping => std::process::id().to_string(),
        StaffAction::AcceptHeld { identity } => {
            return accept_held(store, identity, &request.by, now)
        }
        _ => return Ok(Err("not a store-wide request".into())),
    }))
}

/// Certificates staff imported, merged into the registry; the counts in words.
fn import(
    store: &Store,
    records: &[crate::registry::KnownCertificate],
) -> Result<String, StoreError> {
    let mut registry = store.load_registry()?;
    let (mut added, mut updated, mut unchanged) = (0, 0, 0);
    for record in records {
        match registry.merge(record.clone()).0 {
            crate::registry::Change::Added => added += 1,
            crate::registry::Change::Updated => updated += 1,
            crate::registry::Change::Unchanged => unchanged += 1,
        }
    }
    store.save_registry(&registry)?;
    Ok(format!(
        "registry: {added} added, {updated} updated, {unchanged} unchanged; {} known certificates",
        registry.len()
    ))
}

/// `held accept`: the held mail `identity` is handled as its institution's own at the
/// daemon's next pass, recorded as vouched for by `by`.
fn accept_held(
    store: &Store,
    identity: &str,
    by: &str,
    now: OffsetDateTime,
) -> Result<Result<String, String>, StaffError> {
    let identity = MessageId::parse(identity).map_or_else(String::new, |m| m.bare().to_string());
    let acceptance = crate::record::Acceptance {
        by: by.to_string(),
        at: now,
    };
    Ok(match store.accept_held(&identity, &acceptance)? {
        crate::store::AcceptHeld::Accepted => Ok(format!(
            "held mail {identity} accepted by {by}: the daemon handles it as the institution's own at its next pass"
        )),
        crate::store::AcceptHeld::NotHeld => Err(format!(
            "no mail {identity} is held; `mnotify-intake held list` shows the held mail"
        )),
        crate::store::AcceptHeld::NotKept => Err(format!(
            "held mail {identity} was not kept and has no Message-ID to find it by again: ask the institution to send it again from its own mail system"
        )),
    })
}

/// `held list`: one line per held message, newest first.
fn held_list(store: &Store) -> Result<String, StoreError> {
    let held = store.held_records()?;
    if held.is_empty() {
        return Ok("no mail held now (held mail staff accepted is handled as its institution's; the digest lists what was held)\n".into());
    }
    let mut out = format!(
        "{} message(s) held because the sender was not authenticated (in the Needs-Human folder); `held accept ID` handles one as the institution's own:\n",
        held.len()
    );
    for r in held {
        out += &format!(
            "  {}  (ref. {})  {}  {}  „{}”\n      {}\n",
            r.identity,
            crate::process::answer::reference(&r.identity),
            r.at.date(),
            r.from.as_deref().unwrap_or("(no address)"),
            r.subject.as_deref().unwrap_or(""),
            r.note.as_deref().unwrap_or("")
        );
    }
    Ok(out)
}

/// The store's summary (`status --json`): messages by outcome, cases, replies.
pub fn status_report(store: &Store) -> Result<serde_json::Value, StoreError> {
    use crate::record::OutboxState;
    let mut outcomes: std::collections::BTreeMap<String, u64> = Default::default();
    for record in store.seen_records()? {
        *outcomes
            .entry(record.outcome.code().to_string())
            .or_default() += 1;
    }
    let outbox = store.outbox()?;
    let count = |state: OutboxState| outbox.iter().filter(|e| e.state == state).count();
    let first_start = store.first_started()?.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    let cases = store.cases()?;
    let mut by_service: std::collections::BTreeMap<String, u64> = Default::default();
    for c in &cases {
        *by_service.entry(c.service.clone()).or_default() += 1;
    }
    // A question mail's decision stays need_certificate: the questions are counted
    // beside the decisions, from the cases that wait on a person for an answer.
    let questions = cases
        .iter()
        .filter(|c| c.question.is_some() && c.merged().is_none())
        .count();
    Ok(serde_json::json!({
        "first_start": first_start,
        "messages": outcomes,
        "questions_open": questions,
        "cases": cases.len(),
        "cases_by_service": by_service,
        "outbox": {
            "pending": count(OutboxState::Pending),
            "sent": count(OutboxState::Sent),
            "failed": count(OutboxState::Failed),
        },
        "failed": outbox.iter().filter(|e| e.state == OutboxState::Failed).map(|e| serde_json::json!({
            "message_id": e.message_id, "to": e.to, "attempts": e.attempts, "error": e.last_error,
        })).collect::<Vec<_>>(),
    }))
}

mod merging;

#[cfg(test)]
mod tests;
