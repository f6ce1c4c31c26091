//! Staff actions on cases (`cases advance`, `cases note`, `cases reopen`). They must work
//! while the daemon runs, and the daemon holds the store (sled admits one process), so
//! a command drops a request file into a spool directory next to the store. Whoever
//! holds the store applies the pending requests: the daemon within seconds, or the
//! command itself when the daemon is stopped. Each request is applied in one store
//! transaction that also records its id, so a crash between that commit and deleting
//! the file never applies it twice.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

use crate::case::{self, Action, Case, Event, Step};
use crate::config::DigestConfig;
use crate::process::{outbox_entry, Settings};
use crate::registry::Registry;
use crate::reply::{compose, Original, ReplyContext, ReplyError};
use crate::routine::{self, RoutineError};
use crate::store::{OutboxEntry, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("cannot use the request spool {path}: {source}; check that the directory next to [store] path is writable")]
    Spool {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
    Reopen {
        step: Step,
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
        )
    }
}

impl StaffAction {
    /// In words, for the command's answer and the log.
    pub fn describe(&self) -> String {
        match self {
            StaffAction::Advance { step, .. } => {
                format!("step {} ({}) done", step.number(), step.code())
            }
            StaffAction::Note { .. } => "note added".into(),
            StaffAction::Allow { member } => format!("{member} added to the institution"),
            StaffAction::Reopen { step, .. } => {
                format!("step {} ({}) reopened", step.number(), step.code())
            }
            StaffAction::Digest { send: true, .. } => "digest queued for the staff".into(),
            StaffAction::Digest { send: false, .. } => "digest rendered".into(),
            StaffAction::Status => "status".into(),
            StaffAction::RegistryImport { records } => {
                format!("registry import of {} certificate(s)", records.len())
            }
            StaffAction::HeldList => "held mail listed".into(),
            StaffAction::AcceptHeld { identity } => format!("held mail {identity} accepted"),
        }
    }
}

/// One staff request, as stored in the spool.
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
        let seed = format!(
            "{}/{}/{}/{case}/{action:?}",
            now.unix_timestamp_nanos(),
            std::process::id(),
            by
        );
        Request {
            id: hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..8]),
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
            StaffAction::Reopen { step, note } => Event::Reopen {
                step: *step,
                by: &self.by,
                note: note.as_deref(),
            },
            StaffAction::Digest { .. }
            | StaffAction::Status
            | StaffAction::RegistryImport { .. }
            | StaffAction::HeldList
            | StaffAction::AcceptHeld { .. } => Event::Note {
                by: &self.by,
                text: "store-wide request",
            },
        }
    }
}

/// `<store path><suffix>`: files that belong with the store, on the same disk.
fn beside(store_path: &Path, suffix: &str) -> PathBuf {
    let mut name = store_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "store".into());
    name.push(suffix);
    store_path.with_file_name(name)
}

/// The spool of a store: `<store path>.requests`, beside the store so that it is on
/// the same disk and backed up with it.
pub fn spool_dir(store_path: &Path) -> PathBuf {
    beside(store_path, ".requests")
}

fn spool_err(path: &Path) -> impl FnOnce(std::io::Error) -> StaffError + '_ {
    move |source| StaffError::Spool {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a request into the spool, atomically (a reader never sees half a file).
pub fn submit(dir: &Path, request: &Request) -> Result<PathBuf, StaffError> {
    std::fs::create_dir_all(dir).map_err(spool_err(dir))?;
    let name = format!(
        "{:020}-{}.json",
        request.at.unix_timestamp_nanos(),
        request.id
    );
    let path = dir.join(&name);
    let json = serde_json::to_vec_pretty(request).expect("a request serialises");
    write_atomically(&path, |out| out.write_all(&json))?;
    Ok(path)
}

/// Writes `path` through a hidden temporary file beside it and a rename, so a reader
/// sees the old file or the whole new one, never half of it.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), StaffError> {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let file = std::fs::File::create(&tmp).map_err(spool_err(&tmp))?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(spool_err(&tmp))?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(spool_err(path))
}

/// A spooled request file: parsed, or why it could not be.
pub type Spooled = (PathBuf, Result<Request, String>);

/// The spooled requests, oldest first.
pub fn pending(dir: &Path) -> Result<Vec<Spooled>, StaffError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(spool_err(dir)(e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files
        .into_iter()
        .map(|p| {
            let parsed = std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
            (p, parsed)
        })
        .collect())
}

/// The cases as last written by the daemon, for read-only commands while it runs:
/// `<store path>.cases.json`.
pub fn snapshot_path(store_path: &Path) -> PathBuf {
    beside(store_path, ".cases.json")
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
    pub cases: Vec<Case>,
}

/// Writes the snapshot of the store's cases atomically, streamed from the store.
pub fn write_snapshot(path: &Path, store: &Store, now: OffsetDateTime) -> Result<(), StaffError> {
    let at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut store_error = None;
    write_atomically(path, |out| {
        out.write_all(format!("{{\"written_at\":\"{at}\",\"cases\":[").as_bytes())?;
        if let Err(e) = store.write_cases_json(out) {
            // Leave the old snapshot in place; the store error is reported below.
            store_error = Some(e);
            return Err(std::io::Error::other("store read failed"));
        }
        out.write_all(b"]}")
    })
    .map_err(|e| store_error.map_or(e, StaffError::Store))
}

/// The registry as the running daemon loaded it, for `inspect` while the daemon holds
/// the store: `<store path>.registry.json`.
pub fn registry_snapshot_path(store_path: &Path) -> PathBuf {
    beside(store_path, ".registry.json")
}

/// The running daemon's process id, for staff commands to wake it: `<store path>.pid`.
pub fn pid_path(store_path: &Path) -> PathBuf {
    beside(store_path, ".pid")
}

/// Writes the registry snapshot atomically.
pub fn write_registry_snapshot(path: &Path, registry: &Registry) -> Result<(), StaffError> {
    let json = serde_json::to_vec(registry.entries()).expect("the registry serialises");
    write_atomically(path, |out| out.write_all(&json))
}

/// Reads the registry snapshot; `None` when there is none.
pub fn read_registry_snapshot(path: &Path) -> Result<Option<Registry>, StaffError> {
    Ok(read_json::<Vec<crate::registry::KnownCertificate>>(path)?.map(Registry::from_entries))
}

/// Reads the snapshot; `None` when the daemon has not written one.
pub fn read_snapshot(path: &Path) -> Result<Option<Snapshot>, StaffError> {
    read_json(path)
}

/// A JSON file the daemon wrote; `None` when there is none.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StaffError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| spool_err(path)(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(spool_err(path)(e)),
    }
}

/// Everything a request changes; committed in one transaction.
#[derive(Debug, Clone)]
pub struct StaffPlan {
    pub case: Case,
    pub thread_ids: Vec<String>,
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
    let (mut next, actions) = case::apply(case, request.event(), now);
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

/// The notice an action calls for, threaded to the case's latest message, in the
/// case's language; the case learns its Message-ID (returned too) so that a reply to
/// it finds the case. `seed` makes the Message-ID stable for the same notice.
pub fn notice(
    case: &mut Case,
    action: Action,
    settings: &Settings<'_>,
    seed: &str,
    now: OffsetDateTime,
) -> Result<(OutboxEntry, String), ReplyError> {
    let context = ReplyContext::for_staff_action(action, case);
    let body = settings.templates.render(case.language, &context)?;
    let original = Original {
        message_id: case.message_ids.last().cloned(),
        references: case.message_ids.clone(),
        subject: Some(
            case.subject
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "MNotify".into()),
        ),
    };
    let outgoing = compose(
        &original,
        &settings.sender,
        &case.applicant,
        &case.token,
        &body,
        seed,
        now,
    );
    let id = outgoing
        .message_id
        .trim_matches(|c| c == '<' || c == '>')
        .to_string();
    case.message_ids.push(id.clone());
    Ok((
        outbox_entry(outgoing, settings.mode, Some(&case.token), now),
        id,
    ))
}

/// Why a change must not be made to `case`, if it must not: a step whose
/// prerequisites are not done (unless forced), a member that is not an address or a
/// domain.
pub fn refusal(case: &Case, action: &StaffAction) -> Option<String> {
    match action {
        StaffAction::Advance {
            step, force: false, ..
        } => {
            let missing = case.missing_before(*step);
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

/// What became of one spooled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied {
        request: Request,
        /// A notice to the applicant was queued.
        notified: bool,
    },
    /// Already applied before a crash; the file was left behind.
    AlreadyApplied,
    /// A store-wide request answered; the answer is in the file `result`.
    Done { request: Request, result: PathBuf },
    /// Bad file or unknown case: moved to `rejected/` with the reason beside it.
    Rejected { file: PathBuf, reason: String },
}

/// Applies every pending request to the store (the edge: files and store).
pub fn apply_pending(
    store: &Store,
    dir: &Path,
    settings: &Settings<'_>,
    digest: Option<&DigestConfig>,
    now: OffsetDateTime,
) -> Result<Vec<Outcome>, StaffError> {
    let mut outcomes = Vec::new();
    for (path, parsed) in pending(dir)? {
        let request = match parsed {
            Ok(r) => r,
            Err(reason) => {
                outcomes.push(reject(dir, &path, format!("unreadable request: {reason}"))?);
                continue;
            }
        };
        if store.request_applied(&request.id)? {
            if request.action.is_store_wide() {
                // A digest queued just before a restart: its command still waits for
                // an answer.
                let result = write_result(dir, &request.id, "queued")?;
                std::fs::remove_file(&path).map_err(spool_err(&path))?;
                outcomes.push(Outcome::Done { request, result });
                continue;
            }
            std::fs::remove_file(&path).map_err(spool_err(&path))?;
            outcomes.push(Outcome::AlreadyApplied);
            continue;
        }
        if request.action.is_store_wide() {
            let answered = match answer(store, &request, settings, digest, now) {
                Ok(answered) => answered,
                Err(StaffError::Store(e)) => return Err(StaffError::Store(e)),
                Err(e) => Err(e.to_string()),
            };
            match answered {
                Ok(text) => {
                    let result = write_result(dir, &request.id, &text)?;
                    std::fs::remove_file(&path).map_err(spool_err(&path))?;
                    outcomes.push(Outcome::Done { request, result });
                }
                Err(reason) => outcomes.push(reject(dir, &path, reason)?),
            }
            continue;
        }
        let Some(case) = store.case(&request.case)? else {
            let reason = format!(
                "no case #{}; `mnotify-intake cases list` shows the cases",
                request.case
            );
            outcomes.push(reject(dir, &path, reason)?);
            continue;
        };
        if let Some(reason) = refusal(&case, &request.action) {
            outcomes.push(reject(dir, &path, reason)?);
            continue;
        }
        // A notice that cannot be composed (a broken template) refuses the request
        // with the reason rather than stopping the daemon or retrying forever.
        let plan = match plan(&case, &request, settings, now) {
            Ok(plan) => plan,
            Err(e) => {
                outcomes.push(reject(
                    dir,
                    &path,
                    format!("cannot compose the notice: {e}"),
                )?);
                continue;
            }
        };
        store.commit_staff(
            &request.id,
            &plan.case,
            &plan.thread_ids,
            plan.outbox.as_ref(),
        )?;
        std::fs::remove_file(&path).map_err(spool_err(&path))?;
        outcomes.push(Outcome::Applied {
            notified: plan.outbox.is_some(),
            request,
        });
    }
    Ok(outcomes)
}

/// The answer to a store-wide request, or why it cannot be given.
fn answer(
    store: &Store,
    request: &Request,
    settings: &Settings<'_>,
    digest: Option<&DigestConfig>,
    now: OffsetDateTime,
) -> Result<Result<String, String>, StaffError> {
    Ok(Ok(match &request.action {
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
                let d = routine::build_digest(store, cfg, settings.needs_human_folder, now)?;
                if *html {
                    crate::digest::render_html(&d)
                } else {
                    crate::digest::render_text(&d)
                }
            }
        }
        StaffAction::Status => status_report(store)?.to_string(),
        StaffAction::RegistryImport { records } => {
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
            format!(
                "registry: {added} added, {updated} updated, {unchanged} unchanged; {} known certificates",
                registry.len()
            )
        }
        StaffAction::HeldList => held_list(store)?,
        StaffAction::AcceptHeld { identity } => {
            let identity = identity.trim().trim_matches(|c| c == '<' || c == '>');
            let acceptance = crate::store::Acceptance {
                by: request.by.clone(),
                at: now,
            };
            match store.accept_held(identity, &acceptance)? {
                crate::store::AcceptHeld::Accepted => format!(
                    "held mail {identity} accepted by {}: the daemon handles it as the institution's own at its next pass",
                    request.by
                ),
                crate::store::AcceptHeld::NotHeld => {
                    return Ok(Err(format!(
                        "no mail {identity} is held; `mnotify-intake held list` shows the held mail"
                    )))
                }
                crate::store::AcceptHeld::NotKept => {
                    return Ok(Err(format!(
                        "held mail {identity} was too large to keep: ask the institution to send it again from its own mail system"
                    )))
                }
            }
        }
        _ => return Ok(Err("not a store-wide request".into())),
    }))
}

/// `held list`: one line per held message, newest first.
fn held_list(store: &Store) -> Result<String, StoreError> {
    let held = store.held_records()?;
    if held.is_empty() {
        return Ok("no mail held: every sender was authenticated\n".into());
    }
    let mut out = format!(
        "{} message(s) held because the sender was not authenticated (in the Needs-Human folder); `held accept ID` handles one as the institution's own:\n",
        held.len()
    );
    for r in held {
        out += &format!(
            "  {}  {}  {}  „{}”\n      {}\n",
            r.identity,
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
    use crate::store::OutboxState;
    let mut outcomes: std::collections::BTreeMap<String, u64> = Default::default();
    for record in store.seen_records()? {
        *outcomes.entry(record.outcome).or_default() += 1;
    }
    let outbox = store.outbox()?;
    let count = |state: OutboxState| outbox.iter().filter(|e| e.state == state).count();
    let first_start = store.first_started()?.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    Ok(serde_json::json!({
        "first_start": first_start,
        "messages": outcomes,
        "cases": store.cases()?.len(),
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

/// Where the answer to request `id` is written: `results/<id>.out`.
pub fn result_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("results").join(format!("{id}.out"))
}

fn write_result(dir: &Path, id: &str, text: &str) -> Result<PathBuf, StaffError> {
    let file = result_path(dir, id);
    let results = dir.join("results");
    std::fs::create_dir_all(&results).map_err(spool_err(&results))?;
    write_atomically(&file, |out| out.write_all(text.as_bytes()))?;
    Ok(file)
}

/// Where a rejected request's reason is written.
pub fn rejection_path(dir: &Path, request_file: &Path) -> PathBuf {
    let mut name = request_file.file_name().unwrap_or_default().to_os_string();
    name.push(".error");
    dir.join("rejected").join(name)
}

fn reject(dir: &Path, path: &Path, reason: String) -> Result<Outcome, StaffError> {
    let rejected = dir.join("rejected");
    std::fs::create_dir_all(&rejected).map_err(spool_err(&rejected))?;
    let file = rejected.join(path.file_name().unwrap_or_default());
    // The reason first: a command waiting on the request sees it before the request
    // file disappears (which it would take for success).
    let why = rejection_path(dir, path);
    std::fs::write(&why, &reason).map_err(spool_err(&why))?;
    std::fs::rename(path, &file).map_err(spool_err(path))?;
    Ok(Outcome::Rejected { file, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReplyMode;
    use crate::intake::Language;
    use crate::reply::Templates;
    use time::macros::datetime;

    fn settings(templates: &Templates, mode: ReplyMode) -> Settings<'_> {
        let policy = Box::leak(Box::new(crate::trust::Policy {
            authserv_ids: Vec::new(),
            senders: crate::trust::SenderRule::Off,
        }));
        Settings::for_tests(templates, mode, policy)
    }

    #[test]
    fn advancing_a_step_queues_one_threaded_notice_in_the_case_language() {
        let now = datetime!(2026-11-24 12:00 UTC);
        let mut case = Case::open("ABC123".into(), "ion@x.md", Language::Ru, now);
        case.message_ids.push("first@x.md".into());
        let templates = Templates::embedded();
        let request = Request::new(
            "abc123",
            "ana",
            StaffAction::Advance {
                step: Step::Form,
                note: Some("form received by post".into()),
                force: false,
            },
            now,
        );
        assert_eq!(request.case, "ABC123");
        let plan = plan(&case, &request, &settings(&templates, ReplyMode::Send), now).unwrap();
        assert_eq!(
            plan.case.done[&Step::Form].evidence,
            "form received by post"
        );
        let entry = plan.outbox.expect("a notice");
        assert_eq!(entry.to, "ion@x.md");
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &entry.raw_base64,
        )
        .unwrap();
        let facts = crate::intake::read(&raw, &[]);
        assert_eq!(facts.in_reply_to, vec!["first@x.md".to_string()]);
        assert_eq!(facts.case_token.as_deref(), Some("ABC123"));
        assert_eq!(plan.thread_ids.len(), 1);
        assert!(plan.case.message_ids.contains(&plan.thread_ids[0]));

        let note = Request::new("ABC123", "ana", StaffAction::Note { text: "x".into() }, now);
        let plan = plan_of(&case, &note, &templates);
        assert!(plan.outbox.is_none(), "a note tells the applicant nothing");
        let off = plan_with_mode(&case, &request, &templates, ReplyMode::Off);
        assert!(off.outbox.is_none() && off.case.done.contains_key(&Step::Form));
    }

    fn plan_of(case: &Case, r: &Request, t: &Templates) -> StaffPlan {
        plan_with_mode(case, r, t, ReplyMode::Send)
    }

    fn plan_with_mode(case: &Case, r: &Request, t: &Templates, mode: ReplyMode) -> StaffPlan {
        plan(case, r, &settings(t, mode), datetime!(2026-11-24 12:00 UTC)).unwrap()
    }

    /// The daemon may die after the digest is queued and before the request file is
    /// removed: the request comes round again and must not queue a second digest.
    #[test]
    fn a_step_before_its_prerequisites_is_refused_unless_forced() {
        let now = datetime!(2026-11-24 12:00 UTC);
        let mut case = Case::open("ABC123".into(), "ion@x.md", Language::Ro, now);
        let advance = |step, force| StaffAction::Advance {
            step,
            note: None,
            force,
        };
        let why = refusal(&case, &advance(Step::Production, false)).expect("refused");
        assert!(why.contains("operational_tests"), "{why}");
        assert!(refusal(&case, &advance(Step::Production, true)).is_none());
        assert!(refusal(&case, &advance(Step::Contract, false)).is_none());
        for step in [Step::Form, Step::Contract, Step::Certificate] {
            case = crate::case::apply(
                &case,
                Event::StepDone {
                    step,
                    by: "ana",
                    note: None,
                },
                now,
            )
            .0;
        }
        let why = refusal(&case, &advance(Step::TestAccess, false)).unwrap();
        assert!(why.contains("needs integration_data done first"), "{why}");
        let bad = StaffAction::Allow {
            member: "not an address".into(),
        };
        assert!(refusal(&case, &bad).is_some());
        let good = StaffAction::Allow {
            member: "it@primaria.md".into(),
        };
        assert!(refusal(&case, &good).is_none());
    }

    #[test]
    fn a_digest_request_left_behind_by_a_crash_is_not_sent_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let spool = spool_dir(&dir.path().join("store"));
        let now = datetime!(2026-11-24 12:00 UTC);
        let templates = Templates::embedded();
        let settings = settings(&templates, ReplyMode::Send);
        let digest = DigestConfig {
            to: vec!["staff@egov.md".into()],
            at: (8, 0),
            time_zone: "Europe/Chisinau".into(),
            stalled_days: 7,
            expiring_days: 60,
            remind_days: 7,
        };
        let r = Request::new(
            "",
            "ana",
            StaffAction::Digest {
                send: true,
                html: false,
            },
            now,
        );
        let file = submit(&spool, &r).unwrap();
        let left_behind = std::fs::read(&file).unwrap();
        let first = apply_pending(&store, &spool, &settings, Some(&digest), now).unwrap();
        assert!(matches!(&first[..], [Outcome::Done { .. }]), "{first:?}");
        assert_eq!(store.outbox().unwrap().len(), 1, "one digest queued");

        std::fs::write(&file, left_behind).unwrap();
        let again = apply_pending(&store, &spool, &settings, Some(&digest), now).unwrap();
        match &again[..] {
            [Outcome::Done { request, result }] => {
                assert_eq!(request.id, r.id);
                assert_eq!(std::fs::read_to_string(result).unwrap(), "queued");
            }
            other => panic!("the waiting command gets its answer: {other:?}"),
        }
        assert_eq!(store.outbox().unwrap().len(), 1, "still one digest");
        assert!(!file.exists());
    }

    #[test]
    fn spool_round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_dir(&dir.path().join("store"));
        assert_eq!(spool, dir.path().join("store.requests"));
        let now = datetime!(2026-11-24 12:00 UTC);
        let r = Request::new("ABC123", "ana", StaffAction::Note { text: "n".into() }, now);
        submit(&spool, &r).unwrap();
        std::fs::write(spool.join("0-broken.json"), "{").unwrap();
        let found = pending(&spool).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].1.is_err(), "the broken file sorts first");
        assert_eq!(found[1].1.as_ref().unwrap(), &r);
    }
}
