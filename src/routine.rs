//! The daily routine, at the edge: the staff digest and the reminders to applicants,
//! read from the store and queued in the outbox (the daemon sends them like replies).

use time::{Duration, OffsetDateTime};

use crate::case::{self, Event};
use crate::config::{DigestConfig, ReplyMode};
use crate::digest::{self, Digest, DigestSettings};
use crate::process::{outbox_entry, Settings};
use crate::reply::{Outgoing, ReplyError};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RoutineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

fn settings_of(
    cfg: &DigestConfig,
    procedures: &crate::procedure::Catalogue,
    needs_human_folder: Option<&str>,
) -> DigestSettings {
    DigestSettings {
        stalled_days: cfg.stalled_days,
        expiring_days: cfg.expiring_days,
        needs_human_folder: needs_human_folder.map(str::to_string),
        agency: cfg.agency_short.clone(),
        language: cfg.language,
        response: cfg.response.clone(),
        procedures: procedures.clone(),
        service: None,
    }
}

/// The digest of what happened since the last one (or the last day), from the store.
pub fn build_digest(
    store: &Store,
    cfg: &DigestConfig,
    procedures: &crate::procedure::Catalogue,
    needs_human_folder: Option<&str>,
    now: OffsetDateTime,
) -> Result<Digest, RoutineError> {
    build_digest_of(store, cfg, procedures, needs_human_folder, now, None)
}

/// The digest of one service's cases and their mail (`service`: its code), or of all.
fn build_digest_of(
    store: &Store,
    cfg: &DigestConfig,
    procedures: &crate::procedure::Catalogue,
    needs_human_folder: Option<&str>,
    now: OffsetDateTime,
    service: Option<&str>,
) -> Result<Digest, RoutineError> {
    let since = store
        .last_digest()?
        .unwrap_or(now - Duration::days(1))
        .min(now);
    let mut records = store.seen_records()?;
    let mut cases = store.cases()?;
    let mut settings = settings_of(cfg, procedures, needs_human_folder);
    let mut outbox = store.outbox()?;
    if let Some(code) = service {
        cases.retain(|c| c.service == code);
        let tokens: std::collections::HashSet<String> =
            cases.iter().map(|c| c.token.clone()).collect();
        let ours = |case: Option<&str>| case.is_some_and(|t| tokens.contains(t));
        // Mail of no case (held, unrelated) is the whole digest's, not a service's.
        records.retain(|r| ours(r.case.as_deref()));
        outbox.retain(|e| ours(e.case.as_deref()));
        settings.service = Some(procedures.procedure_of(code).tag.clone());
    }
    let d = digest::build(
        &records,
        &cases,
        &store.load_registry()?,
        since,
        now,
        settings,
    )
    .with_failed_replies(&outbox);
    Ok(match service {
        Some(_) => d,
        None => d
            .with_junk_left(store.junk_left_count(Some(since))?)
            .with_credential(cfg.credential),
    })
}

/// Builds the digest and queues it for the staff, recording that it was made.
pub fn queue_digest(
    store: &Store,
    cfg: &DigestConfig,
    settings: &Settings<'_>,
    now: OffsetDateTime,
    request_id: Option<&str>,
) -> Result<Digest, RoutineError> {
    let d = build_digest(
        store,
        cfg,
        settings.procedures,
        settings.needs_human_folder,
        now,
    )?;
    let sender = &settings.sender;
    let entry_for = |d: &Digest, to: &[String]| {
        let (message_id, raw) = digest::compose(d, sender.address, sender.name, to);
        let outgoing = Outgoing {
            message_id,
            from: sender.address.to_string(),
            to: to.join(","),
            subject: digest::subject(d),
            raw,
        };
        // Staff get the digest even when replies to applicants are drafts or off.
        outbox_entry(outgoing, ReplyMode::Send, None, now)
    };
    let mut entries = vec![entry_for(&d, &cfg.to)];
    // Each service's own staff, with that service's cases alone.
    for (code, to) in &cfg.services {
        let of_service = build_digest_of(
            store,
            cfg,
            settings.procedures,
            settings.needs_human_folder,
            now,
            Some(code),
        )?;
        entries.push(entry_for(&of_service, to));
    }
    store.commit_digest(now, &entries, request_id)?;
    Ok(d)
}

/// Queues a reminder for every case that has waited on its applicant `remind_days`
/// (at most once per that many days). Returns how many were queued.
pub fn queue_reminders(
    store: &Store,
    cfg: &DigestConfig,
    settings: &Settings<'_>,
    now: OffsetDateTime,
) -> Result<usize, RoutineError> {
    if settings.mode == crate::config::ReplyMode::Off {
        return Ok(0);
    }
    let mut queued = 0;
    for c in store.cases()? {
        let procedure = settings.procedures.procedure_of(&c.service);
        if !c.reminder_due(procedure, now, cfg.remind_days) {
            continue;
        }
        let (mut next, actions) = case::apply(procedure, &c, Event::Remind, now);
        let Some(action) = actions.first().copied() else {
            continue;
        };
        let seed = format!("reminder/{}/{}", next.token, now.date());
        let (entry, id) = crate::process::notice(&mut next, action, settings, &seed, now)?;
        store.commit_staff(&seed, &next, &[id], Some(&entry))?;
        queued += 1;
    }
    Ok(queued)
}
