//! Chores between passes: the daily digest and reminders (the daemon's: they need its
//! templates and settings), and the daily backup and pruning (the [`Chores`] room's
//! own, with when each is next due).

use super::*;
use crate::config::Keeping;

impl Daemon {
    /// The staff digest and the applicants' reminders, once a day at the configured
    /// local time. The first start only sets the clock (in `run`): no digest of the past.
    pub(super) fn daily_routine(&mut self) -> Result<(), DaemonError> {
        let Some(cfg) = self.config.digest.clone() else {
            return Ok(());
        };
        let now = now();
        let Some(last) = self.store.last_digest()? else {
            // Set when the daemon starts (see `run`); absent only if [digest] was added
            // to a store made by `registry import` or a test.
            self.store.commit_digest(now, &[], None)?;
            return Ok(());
        };
        if !digest::due(now, last, cfg.at, &cfg.time_zone) {
            return Ok(());
        }
        let settings = self.settings();
        let result = routine::queue_digest(&self.store, &cfg, &settings, now, None).and_then(|d| {
            Ok((
                d,
                routine::queue_reminders(&self.store, &cfg, &settings, now)?,
            ))
        });
        let (d, reminders) = match result {
            Ok(done) => done,
            Err(RoutineError::Store(e)) => return Err(e.into()),
            Err(e) => {
                // Skip today's rather than stop the mail or retry every few seconds.
                error!("daily digest or reminders failed, skipped until tomorrow: {e}");
                self.store.commit_digest(now, &[], None)?;
                return Ok(());
            }
        };
        info!(
            new_cases = d.new_cases.len(),
            accepted = d.accepted.len(),
            waiting_on_age = d.waiting_on_age.len(),
            reminders,
            "daily staff digest queued"
        );
        Ok(())
    }
}

/// The daily backup and pruning, and when each is next due.
#[derive(Default)]
pub(super) struct Chores {
    /// No daily backup before this (after a failed one).
    next_backup_try: Option<Instant>,
    /// No pruning before this (daily).
    next_prune: Option<Instant>,
}

impl Chores {
    /// A backup of the store into `[store] backups` once a day (the newest `keep`
    /// kept). A backup that fails is logged and tried again an hour later: the mail
    /// goes on.
    pub(super) fn backup(&mut self, store: &Store, backups: &Keeping) {
        if backups.keep == 0 {
            return;
        }
        if self.next_backup_try.is_some_and(|t| Instant::now() < t) {
            return;
        }
        let now = now();
        // The directory is read once per day, not at every pass: until the newest
        // backup is a day old, the next look waits.
        let wait = crate::store::newest_backup(&backups.dir, "daily").map_or(
            time::Duration::ZERO,
            |last| {
                // A clock set back makes the newest look younger: never over a day.
                (time::Duration::days(1) - (now - last)).min(time::Duration::days(1))
            },
        );
        if wait.is_positive() {
            let wait = Duration::try_from(wait).unwrap_or(Duration::from_secs(3600));
            self.next_backup_try = Some(Instant::now() + wait);
            return;
        }
        let written = store
            .write_backup_file(&backups.dir, "daily", now)
            .and_then(|(path, summary)| {
                let pruned =
                    crate::store::prune_backups(&backups.dir, "daily", backups.keep as usize)?;
                Ok((path, summary, pruned))
            });
        match written {
            Ok((path, summary, pruned)) => info!(
                path = %path.display(),
                entries = summary.entries,
                pruned,
                "daily backup of the store written"
            ),
            Err(e) => {
                error!(
                    dir = %backups.dir.display(),
                    "daily backup failed, tried again in an hour: {e}"
                );
                self.next_backup_try = Some(Instant::now() + Duration::from_secs(3600));
            }
        }
    }

    /// What is older than `[store] retention_days` is reduced or removed, at the first
    /// pass and then daily (see [`crate::store::Pruned`]).
    pub(super) fn prune(&mut self, store: &Store, keeping: &Keeping) -> Result<(), DaemonError> {
        let days = keeping.retention_days;
        if days == 0 || self.next_prune.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        let now = now();
        let pruned = store.prune(now - time::Duration::days(days.into()), now)?;
        let held_days = keeping.held_retention_days;
        let held_bytes_removed = if held_days == 0 {
            0
        } else {
            store.prune_held(now - time::Duration::days(held_days.into()))?
        };
        self.next_prune = Some(Instant::now() + Duration::from_secs(24 * 3600));
        info!(
            retention_days = days,
            records_reduced = pruned.records_reduced,
            replies_removed = pruned.replies_removed,
            cases_removed = pruned.cases_removed,
            held_removed = pruned.held_removed + held_bytes_removed,
            held_retention_days = held_days,
            counters_removed = pruned.counters_removed,
            "store pruned"
        );
        Ok(())
    }
}
