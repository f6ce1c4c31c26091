//! The daily routine, at the edge: the staff digest and the reminders to applicants,
//! read from the store and queued in the outbox (the daemon sends them like replies).

use time::{Duration, OffsetDateTime};

use crate::case::{self, Event};
use crate::config::DigestConfig;
use crate::digest::{self, Digest, DigestSettings};
use crate::process::{outbox_entry, Settings};
use crate::reply::{compose, Original, ReplyContext, ReplyError, Sender};
use crate::store::{OutboxEntry, OutboxKind, OutboxState, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RoutineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

fn settings_of(cfg: &DigestConfig) -> DigestSettings {
    DigestSettings {
        stalled_days: cfg.stalled_days,
        expiring_days: cfg.expiring_days,
    }
}

/// The digest of what happened since the last one (or the last day), from the store.
pub fn build_digest(
    store: &Store,
    cfg: &DigestConfig,
    now: OffsetDateTime,
) -> Result<Digest, RoutineError> {
    let since = store
        .last_digest()?
        .unwrap_or(now - Duration::days(1))
        .min(now);
    Ok(digest::build(
        &store.seen_records()?,
        &store.cases()?,
        &store.load_registry()?,
        since,
        now,
        settings_of(cfg),
    ))
}

/// Builds the digest and queues it for the staff, recording that it was made.
pub fn queue_digest(
    store: &Store,
    cfg: &DigestConfig,
    sender: &Sender<'_>,
    now: OffsetDateTime,
) -> Result<Digest, RoutineError> {
    let d = build_digest(store, cfg, now)?;
    let (message_id, raw) = digest::compose(&d, sender.address, sender.name, &cfg.to);
    let entry = OutboxEntry {
        message_id,
        kind: OutboxKind::Send,
        from: sender.address.to_string(),
        to: cfg.to.join(","),
        case: None,
        raw_base64: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw),
        attempts: 0,
        next_attempt: now.unix_timestamp(),
        state: OutboxState::Pending,
        last_error: None,
        created_at: now,
        copied: false,
    };
    store.commit_digest(now, Some(&entry))?;
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
        if !c.reminder_due(now, cfg.remind_days) {
            continue;
        }
        let (mut next, actions) = case::apply(&c, Event::Remind, now);
        let Some(action) = actions.first().copied() else {
            continue;
        };
        let body = settings.templates.render(
            next.language,
            &ReplyContext::for_staff_action(action, &next),
        )?;
        let original = Original {
            message_id: next.message_ids.last().cloned(),
            references: next.message_ids.clone(),
            subject: Some("MNotify".into()),
        };
        let seed = format!("reminder/{}/{}", next.token, now.date());
        let outgoing = compose(
            &original,
            &settings.sender,
            &next.applicant,
            &next.token,
            &body,
            &seed,
            now,
        );
        let id = outgoing
            .message_id
            .trim_matches(|c| c == '<' || c == '>')
            .to_string();
        next.message_ids.push(id.clone());
        let entry = outbox_entry(outgoing, settings.mode, Some(&next.token), now);
        store.commit_staff(&seed, &next, &[id], Some(&entry))?;
        queued += 1;
    }
    Ok(queued)
}
