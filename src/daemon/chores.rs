//! Chores between passes: the daily digest and reminders.

use super::*;

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
            self.store.commit_digest(now, None, None)?;
            return Ok(());
        };
        let Ok(tz) = jiff::tz::TimeZone::get(&cfg.time_zone) else {
            // Checked when the config was read; the zone database is built in.
            return Ok(());
        };
        if !digest::due(now, last, cfg.at, &tz) {
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
                self.store.commit_digest(now, None, None)?;
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
