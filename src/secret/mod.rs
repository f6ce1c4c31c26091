//! Passwords and OAuth2 tokens: named in the config (an environment variable, a file or a
//! command), never written in it, never logged. [`Secret`] prints as `***`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub mod oauth2;

use serde::Deserialize;

/// A secret value; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a secret comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretSource {
    /// An environment variable's name.
    Env(String),
    /// A file whose content (trailing newline removed) is the secret.
    File(PathBuf),
    /// A shell command whose standard output is the secret (for OAuth2 token helpers).
    Command(String),
    /// Tokens the daemon fetches itself (`[oauth2]`); never written in a config.
    #[serde(skip)]
    App(std::sync::Arc<crate::secret::oauth2::AppToken>),
}

impl PartialEq for SecretSource {
    fn eq(&self, other: &SecretSource) -> bool {
        match (self, other) {
            (SecretSource::Env(a), SecretSource::Env(b)) => a == b,
            (SecretSource::File(a), SecretSource::File(b)) => a == b,
            (SecretSource::Command(a), SecretSource::Command(b)) => a == b,
            (SecretSource::App(a), SecretSource::App(b)) => std::sync::Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for SecretSource {}

impl SecretSource {
    /// A login with what this source gave was refused: a token the daemon fetched
    /// itself is fetched anew for the next connection.
    pub fn refused(&self) {
        if let SecretSource::App(app) = self {
            app.invalidate();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set; export it before starting (it holds the {1})")]
    MissingEnv(String, &'static str),
    #[error("cannot read {1} file {0}: {2}; check the path and its permissions")]
    File(PathBuf, &'static str, #[source] std::io::Error),
    #[error("the {1} command `{0}` failed: {2}; run it by hand to see why")]
    Command(String, &'static str, String),
    #[error("the {0} is empty; put the secret in its source")]
    Empty(&'static str),
    #[error("the {0} could not be had: {1}")]
    Token(&'static str, String),
    #[error("reading the {0} was cut short ({1}); the daemon is probably stopping")]
    Interrupted(&'static str, String),
}

/// A secret command (an OAuth2 token helper) that has not answered by then is stopped:
/// a hung helper must not hang the daemon's reconnection with it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

impl SecretSource {
    /// Reads the secret now. `what` names it in errors ("IMAP password").
    pub fn read(&self, what: &'static str) -> Result<Secret, SecretError> {
        self.read_within(what, COMMAND_TIMEOUT)
    }

    fn read_within(&self, what: &'static str, timeout: Duration) -> Result<Secret, SecretError> {
        let value = match self {
            SecretSource::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::MissingEnv(name.clone(), what))?
            }
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| SecretError::File(path.clone(), what, e))?,
            SecretSource::App(app) => {
                return app
                    .token()
                    .map_err(|e| SecretError::Token(what, e.to_string()));
            }
            SecretSource::Command(command) => {
                let failed = |why: String| SecretError::Command(command.clone(), what, why);
                let mut child = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| failed(e.to_string()))?;
                // The output is read once the helper exits: a token or password fits in
                // the pipe's buffer (64 KiB) many times over.
                let deadline = Instant::now() + timeout;
                while child
                    .try_wait()
                    .map_err(|e| failed(e.to_string()))?
                    .is_none()
                {
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(failed(format!(
                            "no answer within {} s, stopped",
                            timeout.as_secs_f32()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let out = child
                    .wait_with_output()
                    .map_err(|e| failed(e.to_string()))?;
                if !out.status.success() {
                    return Err(failed(
                        String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    ));
                }
                String::from_utf8_lossy(&out.stdout).into_owned()
            }
        };
        let value = value.trim_end_matches(['\r', '\n']).to_string();
        if value.is_empty() {
            return Err(SecretError::Empty(what));
        }
        Ok(Secret(value))
    }

    /// [`SecretSource::read`] off the async threads: a token helper command may take
    /// a second or two (a call to the identity provider), and the daemon's other work
    /// must not wait for it.
    pub async fn read_async(&self, what: &'static str) -> Result<Secret, SecretError> {
        let source = self.clone();
        tokio::task::spawn_blocking(move || source.read(what))
            .await
            .map_err(|e| SecretError::Interrupted(what, e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hung_helper_is_stopped_with_a_clear_error() {
        let hung = SecretSource::Command("sleep 5".into());
        let started = Instant::now();
        let err = hung
            .read_within("IMAP OAuth2 token", Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(
            err.contains("no answer within 0.3 s") && err.contains("sleep 5"),
            "{err}"
        );
        let failing = SecretSource::Command("echo nope >&2; exit 3".into());
        let err = failing.read("IMAP OAuth2 token").unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn debug_hides_the_value() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }

    #[test]
    fn file_and_command_sources() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").expect("write");
        assert_eq!(
            SecretSource::File(path)
                .read("password")
                .expect("read")
                .expose(),
            "s3cret"
        );
        let cmd = SecretSource::Command("printf token".into());
        assert_eq!(cmd.read("token").expect("run").expose(), "token");
        let failing = SecretSource::Command("exit 3".into())
            .read("token")
            .unwrap_err();
        assert!(failing.to_string().contains("exit 3"));
        let missing = SecretSource::Env("MNOTIFY_TEST_SURELY_UNSET".into()).read("password");
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("MNOTIFY_TEST_SURELY_UNSET"));
    }
}
