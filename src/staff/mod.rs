//! What staff ask of the store: case changes (`cases advance`, `note`, `reopen`,
//! `allow`), held mail, digests, status, registry imports, and the reads behind `cases
//! list/show/export` and `inspect`. [`execute`] applies one request in the store's
//! transactions, exactly once by its id; it runs in the daemon (behind the control
//! socket, see [`crate::control`]) or in the command itself when the daemon is stopped.

use time::OffsetDateTime;

pub use mnotify_core::staff::*;

mod answer;
pub use answer::{Answer, Done};

use crate::config::DigestConfig;
use crate::process::Settings;
use crate::record::MessageId;
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
    #[error(transparent)]
    NoRandomness(#[from] crate::record::NoRandomness),
}

/// Applies one request to the store and answers it: [`Answer::Done`] with what to
/// say, or [`Answer::Refused`] with why (no such case, a step before its prerequisites, a broken template).
/// A request already applied (the same id: a command that asked again after a lost
/// answer) is not applied twice.
pub fn execute(
    store: &Store,
    request: &Request,
    desk: &Desk<'_>,
    now: OffsetDateTime,
) -> Result<Answer, StaffError> {
    let settings = &desk.settings;
    let action = match &request.action {
        StaffAction::Store(_) if store.request_applied(&request.id)? => {
            return Ok(Answer::Done(Done::Said(
                words::word("queued", desk.language).into(),
            )))
        }
        StaffAction::Store(_) => return answer(store, request, desk, now),
        StaffAction::Case(action) => action,
    };
    let Some(case) = store.case(&request.case)? else {
        return Ok(Answer::Refused(words::say(
            "no_case",
            desk.language,
            &[("case", &request.case)],
        )));
    };
    let procedure = settings.procedures.procedure_of(&case.service);
    let agency = &settings.templates.agency().short_name;
    if store.request_applied(&request.id)? {
        return Ok(Answer::Done(Done::Said(words::say(
            "already_applied",
            desk.language,
            &[
                ("case", &request.case),
                (
                    "what",
                    &request.action.said(procedure, desk.language, agency),
                ),
            ],
        ))));
    }
    if let Some(into) = case.merged() {
        return Ok(Answer::Refused(words::say(
            "was_merged",
            desk.language,
            &[("case", &case.token), ("into", into)],
        )));
    }
    if matches!(action, CaseAction::Merge { .. } | CaseAction::Split { .. }) {
        return merging::execute(store, request, case, procedure, desk.language, now);
    }
    if let Some(reason) = refusal(&case, procedure, action, desk.language) {
        return Ok(Answer::Refused(reason));
    }
    if matches!(action, CaseAction::Reply { .. }) && !desk.can_send {
        return Ok(Answer::Refused(
            words::word("answer_cannot_send", desk.language).into(),
        ));
    } // A notice that cannot be composed (a broken template) refuses the request with
      // the reason rather than stopping the daemon.
    let plan = match plan(&case, request, action, settings, now) {
        Ok(plan) => plan,
        Err(e) => {
            let error = e.to_string();
            let why = words::say("no_notice_composed", desk.language, &[("error", &error)]);
            return Ok(Answer::Refused(why));
        }
    };
    store.commit_staff(
        &request.id,
        &plan.case,
        &plan.thread_ids,
        plan.outbox.as_ref(),
    )?;
    let staff_answer = matches!(action, CaseAction::Reply { .. });
    Ok(Answer::Done(Done::Applied {
        said: applied(request, procedure, &plan, desk.language, agency),
        notice_queued: plan.outbox.is_some() && !staff_answer,
    }))
}

/// What a case request applied says: what was done, by whom, the next step, whether
/// the applicant is told.
fn applied(
    request: &Request,
    procedure: &crate::procedure::Procedure,
    plan: &StaffPlan,
    language: crate::intake::Language,
    agency: &str,
) -> String {
    let next = plan.case.next_step_told(procedure);
    let answer = matches!(request.action, StaffAction::Case(CaseAction::Reply { .. }));
    let told = if plan.outbox.is_some() && !answer {
        words::word("told", language)
    } else {
        ""
    };
    words::say(
        "applied",
        language,
        &[
            ("case", &request.case),
            ("what", &request.action.said(procedure, language, agency)),
            ("by", &request.by),
            (
                "next",
                // Said as `cases list` and the console say it: its number and name.
                &next.map_or_else(
                    || words::word("completed", language).to_string(),
                    |s| {
                        format!(
                            "{}. {}",
                            procedure.number(s),
                            procedure.short_of(s, language, agency)
                        )
                    },
                ),
            ),
            ("told", told),
        ],
    )
}

/// What staff requests need of the configuration.
pub struct Desk<'a> {
    pub settings: Settings<'a>,
    pub digest: Option<&'a DigestConfig>,
    /// `[store] backups`: where `store backup` writes.
    pub backups: &'a std::path::Path,
    /// `[agency] staff_language`: what `held list` is written in.
    pub language: crate::intake::Language,
    /// A staff answer can go: an `[smtp]` server, and replies not off.
    pub can_send: bool,
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
            language: config.staff_language,
            can_send: config.smtp.is_some() && config.reply.mode != crate::reply::ReplyMode::Off,
        }
    }
}

/// The answer to a store-wide request, or why it cannot be given.
fn answer(
    store: &Store,
    request: &Request,
    desk: &Desk<'_>,
    now: OffsetDateTime,
) -> Result<Answer, StaffError> {
    let (settings, digest) = (&desk.settings, desk.digest);
    Ok(Answer::Done(match &request.action {
        StaffAction::Store(StoreRequest::Backup) => {
            let (path, summary) = store.write_backup_file(desk.backups, "manual", now)?;
            let (path, entries) = (path.display().to_string(), summary.entries.to_string());
            Done::Said(words::say(
                "backup_written",
                desk.language,
                &[
                    ("path", &path),
                    ("entries", &entries),
                    ("sha256", &summary.sha256),
                ],
            ))
        }
        StaffAction::Store(StoreRequest::Digest { send, html }) => {
            let Some(cfg) = digest else {
                return Ok(Answer::Refused(
                    words::word("no_digest", desk.language).into(),
                ));
            };
            if *send {
                routine::queue_digest(store, cfg, settings, now, Some(&request.id))?;
                Done::Said(words::word("queued", desk.language).into())
            } else {
                let d = routine::build_digest(
                    store,
                    cfg,
                    settings.procedures,
                    settings.needs_human_folder,
                    now,
                )?;
                Done::Said(if *html {
                    crate::digest::render_html(&d)
                } else {
                    crate::digest::render_text(&d)
                })
            }
        }
        StaffAction::Store(StoreRequest::Status) => Done::Status(Box::new(status::report(store)?)),
        StaffAction::Store(StoreRequest::RegistryImport { records }) => {
            Done::Said(import(store, records, desk.language)?)
        }
        StaffAction::Store(StoreRequest::HeldList) => Done::Said(held_list(store, desk.language)?),
        // One case, when the request names it (a command about one case reads only it).
        StaffAction::Store(StoreRequest::Cases) if !request.case.is_empty() => {
            let one: Vec<_> = store.case(&request.case)?.into_iter().collect();
            Done::Json(serde_json::to_string(&one).unwrap_or_else(|_| "[]".into()))
        }
        StaffAction::Store(StoreRequest::Cases) => {
            let mut out = Vec::from(b"[".as_slice());
            store
                .write_cases_json(&mut out)
                .map_err(StaffError::Store)?;
            out.push(b']');
            Done::Json(String::from_utf8_lossy(&out).into_owned())
        }
        StaffAction::Store(StoreRequest::Registry) => {
            Done::Registry(store.load_registry()?.entries().to_vec())
        }
        StaffAction::Store(StoreRequest::Ping) => Done::Pid(std::process::id()),
        StaffAction::Store(StoreRequest::Conversation) => {
            Done::Json(conversation_json(store, &request.case)?)
        }
        StaffAction::Store(StoreRequest::AcceptHeld { identity }) => {
            return accept_held(store, identity, &request.by, desk.language, now)
        }
        StaffAction::Store(StoreRequest::DismissHeld { identity }) => {
            return dismiss_held(store, identity, &request.by, desk.language, now)
        }
        _ => return Ok(Answer::Refused("not a store-wide request".into())),
    }))
}

/// The conversation of case `token` as JSON (none for a case that is not there).
fn conversation_json(store: &Store, token: &str) -> Result<String, StoreError> {
    let letters = match store.case(token)? {
        Some(case) => store.conversation(&case)?,
        None => Vec::new(),
    };
    Ok(serde_json::to_string(&letters).expect("letters serialise"))
}

/// Certificates staff imported, merged into the registry; the counts in words.
fn import(
    store: &Store,
    records: &[crate::registry::KnownCertificate],
    language: crate::intake::Language,
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
    let counts = [added, updated, unchanged, registry.len()].map(|n| n.to_string());
    Ok(words::say(
        "imported",
        language,
        &[
            ("added", &counts[0]),
            ("updated", &counts[1]),
            ("unchanged", &counts[2]),
            ("known", &counts[3]),
        ],
    ))
}

/// `held accept`: the held mail `identity` is handled as its institution's own at the
/// daemon's next pass, recorded as vouched for by `by`.
fn accept_held(
    store: &Store,
    identity: &str,
    by: &str,
    language: crate::intake::Language,
    now: OffsetDateTime,
) -> Result<Answer, StaffError> {
    let identity = MessageId::parse(identity).map_or_else(String::new, |m| m.bare().to_string());
    let acceptance = crate::record::Acceptance {
        by: by.to_string(),
        at: now,
    };
    Ok(match store.accept_held(&identity, &acceptance)? {
        crate::store::AcceptHeld::Accepted => Answer::Done(Done::Said(words::say(
            "held_accepted",
            language,
            &[("identity", &identity), ("by", by)],
        ))),
        crate::store::AcceptHeld::NotHeld => Answer::Refused(words::say(
            "held_not_held",
            language,
            &[("identity", &identity)],
        )),
        crate::store::AcceptHeld::NotKept => Answer::Refused(words::say(
            "held_not_kept",
            language,
            &[("identity", &identity)],
        )),
    })
}

fn dismiss_held(
    store: &Store,
    identity: &str,
    by: &str,
    language: crate::intake::Language,
    now: OffsetDateTime,
) -> Result<Answer, StaffError> {
    let identity = MessageId::parse(identity).map_or_else(String::new, |m| m.bare().to_string());
    let dismissal = crate::record::Acceptance {
        by: by.to_string(),
        at: now,
    };
    Ok(if store.dismiss_held(&identity, &dismissal)? {
        Answer::Done(Done::Said(words::say(
            "held_dismissed",
            language,
            &[("identity", &identity), ("by", by)],
        )))
    } else {
        Answer::Refused(words::say(
            "held_not_now",
            language,
            &[("identity", &identity)],
        ))
    })
}

/// `held list`: one line per held message, newest first, in the staff language.
fn held_list(store: &Store, language: crate::intake::Language) -> Result<String, StoreError> {
    let held = store.held_records()?;
    if held.is_empty() {
        return Ok(format!("{}\n", words::word("held_none", language)));
    }
    let count = held.len().to_string();
    let mut out = format!("{}\n", words::say("held_some", language, &[("n", &count)]));
    for r in held {
        out += &format!(
            "  {}  ({} {})  {}  {}  „{}”\n      {}\n",
            r.identity,
            words::word("ref", language),
            crate::process::answer::reference(&r.identity),
            r.at.date(),
            r.from
                .as_deref()
                .unwrap_or(words::word("no_address", language)),
            r.subject.as_deref().unwrap_or(""),
            r.note_in(language).unwrap_or_default()
        );
    }
    Ok(out)
}

mod merging;
mod preview;
mod service;
pub mod status;
pub mod words;

pub use preview::{preview, Notice, Preview};
pub use service::Service;

#[cfg(test)]
mod tests;
