//! Whether the daemon is doing its work, from what it last managed: a plain function
//! of the times of the last good IMAP exchange and of SMTP failing, and now. The
//! `/health` endpoint and the systemd watchdog both follow it.

/// How old the last good exchange may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The last successful IMAP exchange (a pass over the inbox, an IDLE that ended
    /// well) may be this old.
    pub imap_stale_seconds: u64,
    /// SMTP may have failed this long (with replies waiting) before it counts.
    pub smtp_stale_seconds: u64,
}

impl Limits {
    /// The defaults for a poll interval: three intervals (at least 10 minutes) for
    /// IMAP, 15 minutes for SMTP.
    pub fn for_poll(poll_seconds: u64) -> Limits {
        Limits {
            imap_stale_seconds: (poll_seconds * 3).max(600),
            smtp_stale_seconds: 900,
        }
    }
}

/// What the daemon last managed, as Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    /// The daemon started (the IMAP clock starts here until the first exchange).
    pub started: i64,
    /// The last successful IMAP exchange.
    pub imap_ok: Option<i64>,
    /// SMTP has failed since then, with no success after (cleared by a success).
    pub smtp_failing_since: Option<i64>,
}

/// A daemon that has not reached its IMAP server this long after start is not
/// healthy: a wrong host, port or password shows on the monitoring at once, not only
/// after `imap_stale_seconds`. (Login counts as reaching it.)
pub const FIRST_CONTACT_SECONDS: i64 = 60;

/// Why the daemon is not healthy; each says where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unhealthy {
    #[error("the daemon has not reached its IMAP server in the {0} s since start: check [imap] host, port and login; see the log")]
    NeverReached(i64),
    #[error("no successful IMAP exchange for {since} s (limit {limit} s): the server is unreachable or the connection stalled; see the log")]
    ImapStale { since: i64, limit: u64 },
    #[error("no successful IMAP exchange in the {since} s since start (limit {limit} s): check the IMAP server and login; see the log")]
    ImapNeverSince { since: i64, limit: u64 },
    #[error("SMTP has failed for {since} s (limit {limit} s): replies are waiting; see the log")]
    SmtpFailing { since: i64, limit: u64 },
}

/// `Ok` when healthy, else why not.
pub fn verdict(seen: Seen, limits: Limits, now: i64) -> Result<(), Unhealthy> {
    let since_imap = now - seen.imap_ok.unwrap_or(seen.started);
    if seen.imap_ok.is_none() && since_imap > FIRST_CONTACT_SECONDS {
        return Err(Unhealthy::NeverReached(since_imap));
    }
    if since_imap > limits.imap_stale_seconds as i64 {
        let (since, limit) = (since_imap, limits.imap_stale_seconds);
        return Err(match seen.imap_ok {
            Some(_) => Unhealthy::ImapStale { since, limit },
            None => Unhealthy::ImapNeverSince { since, limit },
        });
    }
    if let Some(since) = seen.smtp_failing_since {
        let failing = now - since;
        if failing > limits.smtp_stale_seconds as i64 {
            return Err(Unhealthy::SmtpFailing {
                since: failing,
                limit: limits.smtp_stale_seconds,
            });
        }
    }
    Ok(())
}

/// A warning when the store's disk has less than `min_free` bytes free: the daemon
/// still works, but a full disk stops it (the store cannot commit a decision).
pub fn disk_warning(free: Option<u64>, min_free: u64) -> Option<String> {
    let free = free?;
    (free < min_free).then(|| {
        format!(
            "only {} MB free on the store's disk (below [store] min_free_mb = {}): free space before it fills, or the daemon stops",
            free / (1024 * 1024),
            min_free / (1024 * 1024)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        imap_stale_seconds: 600,
        smtp_stale_seconds: 900,
    };

    #[test]
    fn a_daemon_that_never_reached_imap_is_unhealthy_after_a_minute() {
        let seen = Seen {
            started: 1000,
            imap_ok: None,
            smtp_failing_since: None,
        };
        assert_eq!(verdict(seen, LIMITS, 1000 + FIRST_CONTACT_SECONDS), Ok(()));
        let why = verdict(seen, LIMITS, 1000 + FIRST_CONTACT_SECONDS + 1).unwrap_err();
        assert_eq!(why, Unhealthy::NeverReached(FIRST_CONTACT_SECONDS + 1));
        assert!(
            why.to_string().contains("has not reached its IMAP server"),
            "{why}"
        );
        let reached = Seen {
            imap_ok: Some(1001),
            ..seen
        };
        assert_eq!(verdict(reached, LIMITS, 1000 + 300), Ok(()));
    }

    #[test]
    fn healthy_while_imap_answers_and_smtp_recovers_in_time() {
        let seen = Seen {
            started: 0,
            imap_ok: Some(1000),
            smtp_failing_since: Some(1000),
        };
        assert_eq!(verdict(seen, LIMITS, 1500), Ok(()));
        let answering = Seen {
            imap_ok: Some(1850),
            ..seen
        };
        let smtp = verdict(answering, LIMITS, 1901).unwrap_err();
        assert_eq!(
            smtp,
            Unhealthy::SmtpFailing {
                since: 901,
                limit: LIMITS.smtp_stale_seconds
            }
        );
        assert!(
            smtp.to_string().contains("SMTP has failed for 901 s"),
            "{smtp}"
        );
        let fresh = Seen {
            smtp_failing_since: None,
            ..seen
        };
        let imap = verdict(fresh, LIMITS, 1601).unwrap_err();
        assert!(
            imap.to_string()
                .contains("no successful IMAP exchange for 601 s"),
            "{imap}"
        );
    }

    #[test]
    fn low_disk_is_a_warning_with_both_figures() {
        let mb = 1024 * 1024;
        assert_eq!(disk_warning(Some(600 * mb), 512 * mb), None);
        assert_eq!(disk_warning(None, 512 * mb), None);
        let w = disk_warning(Some(100 * mb), 512 * mb).unwrap();
        assert!(
            w.contains("only 100 MB free") && w.contains("min_free_mb = 512"),
            "{w}"
        );
    }
}
