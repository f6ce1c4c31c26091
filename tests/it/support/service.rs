//! The daemon as users run it: the real binary, with a config pointing at the test
//! mail stack, stopped by SIGTERM or killed by SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mnotify_intake::testkit::pki::{LeafSpec, Pki};
use mnotify_intake::testkit::wait::eventually;

use crate::stack::Stack;
use crate::util::NOW;

pub const BIN: &str = env!("CARGO_BIN_EXE_mnotify-intake");

/// A daemon's files: config, store, anchors, log.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub pki: Pki,
}

impl Setup {
    /// A config for `mailbox` on `stack`, with `extra` TOML appended (e.g. a [reply]
    /// section).
    pub fn new(stack: &Stack, mailbox: &str, extra: &str) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = Pki::new(NOW);
        let anchors = dir.path().join("anchors.pem");
        std::fs::write(&anchors, pki.anchors_pem()).unwrap();
        let config = dir.path().join("config.toml");
        let text = staff_language(extra)
            + &stack.config_toml(mailbox, &dir.path().join("store"), &anchors)
            + extra;
        std::fs::write(&config, text).unwrap();
        Setup { dir, config, pki }
    }

    /// A valid system certificate (DER).
    pub fn leaf(&self, serial: &[u8]) -> Vec<u8> {
        self.pki
            .leaf(&LeafSpec::valid_at(NOW, "SI Registrul Test", serial))
    }

    /// Runs a command of the binary to completion, whatever its exit status.
    pub fn run_cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run binary")
    }

    /// Runs a command of the binary, which must succeed; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.run_cli(args);
        assert!(
            out.status.success(),
            "mnotify-intake {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `status --json` (daemon stopped).
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.cli(&["status", "--json"])).expect("status JSON")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    pub fn start(&self) -> Running {
        self.start_with(&[])
    }

    /// [`Setup::start`] with more environment (e.g. systemd's `NOTIFY_SOCKET`).
    pub fn start_with(&self, env: &[(&str, &str)]) -> Running {
        self.spawn(Command::new(BIN), env)
    }

    /// [`Setup::start`] with at most `open_files` descriptors, as under a systemd unit's
    /// default `LimitNOFILE` (1024).
    pub fn start_with_open_files(&self, open_files: u32) -> Running {
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(format!("ulimit -n {open_files} && exec \"$0\" \"$@\""))
            .arg(BIN);
        self.spawn(shell, &[])
    }

    fn spawn(&self, mut command: Command, env: &[(&str, &str)]) -> Running {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = command
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the daemon");
        Running {
            child: Some(child),
            log: self.log_path(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The address of the monitoring endpoint, once the daemon has logged it.
    pub fn metrics_address(&self) -> String {
        eventually(
            Duration::from_secs(30),
            "the metrics endpoint's address in the log",
            || {
                let log = self.log();
                match log
                    .lines()
                    .find(|l| l.contains("metrics and health endpoint listening"))
                    .and_then(|line| line.split("addr=").nth(1))
                    .and_then(|at| at.split_whitespace().next())
                {
                    Some(at) => Ok(at.to_string()),
                    None => Err(format!("log:\n{log}")),
                }
            },
        )
    }

    /// Waits until the daemon's log says `needle` at least `times` times.
    pub fn wait_for_log(&self, needle: &str, times: usize, within: Duration) {
        let what = format!("{needle:?} {times} time(s) in the daemon's log");
        eventually(within, &what, || {
            let log = self.log();
            if log.matches(needle).count() >= times {
                Ok(())
            } else {
                Err(format!("log:\n{log}"))
            }
        })
    }

    /// Waits until the daemon has logged in to IMAP (it holds the store by then).
    pub fn wait_until_connected(&self) {
        self.wait_for_log("connected to IMAP", 1, Duration::from_secs(30));
    }
}

/// A daemon process; killed if the test forgets to stop it.
pub struct Running {
    child: Option<Child>,
    log: PathBuf,
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {sig} {pid}");
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then waits: it must stop cleanly, on its own, within 15 s.
    pub fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        signal(child.id(), "-TERM");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "daemon exited with {status} on SIGTERM; log:\n{}",
                    read(&self.log)
                );
                return;
            }
            if start.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                panic!(
                    "daemon did not stop within 15 s of SIGTERM; log:\n{}",
                    read(&self.log)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        signal(child.id(), "-KILL");
        let _ = child.wait();
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The tests read what staff read (the CLI's views, timelines, the digest) in
/// English, a language staff can choose, unless a test writes its own `[agency]`:
/// `staff_language.rs` checks the default (Romanian) and Russian that way. First in
/// the file, so what tests append still lands in the section they mean.
fn staff_language(extra: &str) -> String {
    if extra.contains("[agency]") {
        String::new()
    } else {
        "[agency]\nstaff_language = \"en\"\n".into()
    }
}

/// A daemon that believes only the MX's stamps, as in production, with a digest.
pub fn secure(stack: &Stack, mailbox: &str, extra: &str) -> Setup {
    let setup = Setup::new(stack, mailbox, extra);
    let text = stack.secure_config_toml(
        mailbox,
        &setup.dir.path().join("store"),
        &setup.dir.path().join("anchors.pem"),
    );
    let digest = "[digest]\nto = [\"staff@egov.test\"]\n";
    std::fs::write(
        &setup.config,
        staff_language(extra) + &text + digest + extra,
    )
    .unwrap();
    setup
}

/// `cases list --json`'s line for the case.
pub fn case_json(setup: &Setup, token: &str) -> serde_json::Value {
    let list = setup.cli(&["cases", "list", "--json"]);
    list.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("cases JSON"))
        .find(|c| c["id"] == token)
        .unwrap_or_else(|| panic!("case {token} in {list}"))
}
