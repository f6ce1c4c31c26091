//! Waiting on a condition, the one way tests wait: poll until it holds or a generous
//! deadline passes, then fail saying what was awaited (and what was last seen).

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is looked at.
const EVERY: Duration = Duration::from_millis(100);

/// Polls `look` until it returns `Some`, for at most `deadline`; panics with `what`
/// and the last thing `look` said otherwise (`Err` keeps looking and is shown).
pub fn eventually<T>(
    deadline: Duration,
    what: &str,
    mut look: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        let last = match look() {
            Ok(found) => return found,
            Err(seen) => seen,
        };
        assert!(
            start.elapsed() < deadline,
            "waited {deadline:?} for {what}; last seen: {last}"
        );
        std::thread::sleep(EVERY);
    }
}

/// [`eventually`] for a condition that has to be looked at asynchronously (IMAP).
pub async fn eventually_async<T, F: Future<Output = Result<T, String>>>(
    deadline: Duration,
    what: &str,
    mut look: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        let last = match look().await {
            Ok(found) => return found,
            Err(seen) => seen,
        };
        assert!(
            start.elapsed() < deadline,
            "waited {deadline:?} for {what}; last seen: {last}"
        );
        tokio::time::sleep(EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_returns_what_the_condition_found_once_it_holds() {
        let mut tries = 0;
        let found = eventually(Duration::from_secs(5), "the third try", || {
            tries += 1;
            if tries == 3 {
                Ok(tries)
            } else {
                Err(format!("try {tries}"))
            }
        });
        assert_eq!(found, 3);
    }

    #[test]
    #[should_panic(expected = "waited 300ms for never; last seen: not yet")]
    fn it_fails_saying_what_it_waited_for() {
        eventually(Duration::from_millis(300), "never", || {
            Err::<(), _>("not yet".to_string())
        });
    }
}
