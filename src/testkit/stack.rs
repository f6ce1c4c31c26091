//! The real mail stack for end-to-end tests, benches and the demo: Dovecot and Postfix started once per test
//! run by `scripts/mail-stack` in a short temporary directory on free loopback ports,
//! stopped when the test process ends. Tests share it and keep apart by using their
//! own addresses (every address is its own Dovecot user).
//!
//! A missing or broken stack fails the test that needs it, loudly: never a skip.
//!
//! Two IMAP servers: Dovecot (the default) and Cyrus IMAP in Debian's default namespace
//! ([`Stack::cyrus`]), where every folder but the inbox lives under `INBOX.`. The
//! helpers take folder names as the daemon's defaults ("Processed", "Sent") and read
//! them where the server keeps them ([`Stack::folder`]); [`on_each_server!`] runs a
//! test on both.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::config::{Auth, ImapConfig, SmtpConfig, TlsMode};
use crate::mailbox::Mailbox;
use crate::secret::SecretSource;
use crate::smtp::SmtpSender;

/// Which IMAP server a stack runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Dovecot,
    Cyrus,
}

pub struct Stack {
    pub dir: PathBuf,
    pub server: Server,
    pub imaps_port: u16,
    pub smtp_port: u16,
    pub submission_port: u16,
    /// The institutions' own outgoing server: signs mail from inst-a.test and
    /// inst-b.test (DKIM) and relays it to the MX on `smtp_port`, which stamps
    /// `Authentication-Results: mx.egov.test; …`.
    pub institution_port: u16,
    pub ca_file: PathBuf,
    /// The certificate authority's web server (lighttpd, plain HTTP) serving
    /// `web_dir`; its requests are logged in `dir/www.log`.
    pub web_port: u16,
    pub web_dir: PathBuf,
    /// The OAuth 2.0 server (oidc-provider) issuing app-only tokens, and its files
    /// (`secret`, `app.pem`, `app.key`; see scripts/mail-stack, start_oauth).
    pub oauth_port: u16,
    pub oauth_dir: PathBuf,
}

/// The authserv-id the stack's MX stamps (scripts/mail-stack).
pub const AUTHSERV_ID: &str = "mx.egov.test";

static STACK: OnceLock<Stack> = OnceLock::new();
static CYRUS: OnceLock<Stack> = OnceLock::new();
static EXCHANGE: OnceLock<Stack> = OnceLock::new();
/// The tenant the Exchange-shaped stack stamps.
pub const EXCHANGE_TENANT: &str = "72f988bf-0000-4000-8000-00000000a6e0";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mail-stack")
}

/// Nine consecutive free ports, found by binding them, below Linux's ephemeral range
/// (32768–60999): a port there may be taken a moment later as the local end of some
/// outgoing connection, and the server meant to listen on it fails to start.
fn free_base() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let seed = (std::process::id() as u16)
        .wrapping_add(NEXT.fetch_add(97, std::sync::atomic::Ordering::Relaxed));
    for i in 0..500u16 {
        let base = 20000 + (seed.wrapping_mul(7).wrapping_add(i * 13)) % 12700;
        if (base..base + 9).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no nine free consecutive ports on 127.0.0.1 for the mail stack");
}

impl Stack {
    /// The stack shared by the tests that do not disturb it, started on first use.
    pub fn get() -> &'static Stack {
        STACK.get_or_init(|| Stack::start("shared", &[]))
    }

    /// The shared stack with Cyrus IMAP in place of Dovecot (see scripts/mail-stack).
    pub fn cyrus() -> &'static Stack {
        CYRUS.get_or_init(|| Stack::start("cyrus", &[("MAIL_STACK_IMAP", "cyrus")]))
    }

    /// The shared stack whose MX is shaped like Exchange Online (see scripts/mail-stack,
    /// MAIL_STACK_MX=exchange); its tenant is [`EXCHANGE_TENANT`].
    pub fn exchange() -> &'static Stack {
        EXCHANGE.get_or_init(|| {
            Stack::start(
                "exchange",
                &[
                    ("MAIL_STACK_MX", "exchange"),
                    ("MAIL_STACK_EXCHANGE_TENANT", EXCHANGE_TENANT),
                ],
            )
        })
    }

    /// Where this server keeps the folder the daemon's defaults call `name`: the inbox
    /// and Dovecot's folders as named, Cyrus's under `INBOX.`.
    pub fn folder(&self, name: &str) -> String {
        match self.server {
            Server::Cyrus if !name.eq_ignore_ascii_case("INBOX") && !name.starts_with("INBOX.") => {
                format!("INBOX.{name}")
            }
            _ => name.to_string(),
        }
    }

    /// A stack of its own, for tests that stop or restart servers. Stopped on drop.
    pub fn private(name: &str) -> Stack {
        Stack::start(name, &[])
    }

    /// A stack of its own started with `scripts/mail-stack` options in `env` (see the
    /// script's header), e.g. to play an older IMAP server.
    pub fn private_with(name: &str, env: &[(&str, &str)]) -> Stack {
        Stack::start(name, env)
    }

    fn start(name: &str, env: &[(&str, &str)]) -> Stack {
        {
            static INSTALL: OnceLock<()> = OnceLock::new();
            INSTALL.get_or_init(|| {
                let status = Command::new(script()).arg("install").status().expect("running scripts/mail-stack install");
                assert!(status.success(), "scripts/mail-stack install failed: the end-to-end tests need Dovecot, Postfix and lighttpd");
            });
            // Two stacks of one name would share (and wipe) one directory.
            static NAMES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
            {
                let mut names = NAMES.lock().unwrap();
                assert!(
                    !names.iter().any(|n| n == name),
                    "two mail stacks named {name:?} in one test run; give each test's private stack its own name"
                );
                names.push(name.to_string());
            }
            let dir = PathBuf::from(format!("/tmp/mnx-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let base = free_base();
            let status = Command::new(script())
                .args([
                    "start",
                    dir.to_str().unwrap(),
                    &base.to_string(),
                    "--watch",
                    &std::process::id().to_string(),
                ])
                .envs(env.iter().copied())
                .status()
                .expect("running scripts/mail-stack start");
            assert!(status.success(), "scripts/mail-stack start failed; see {}/dovecot/dovecot.log and postfix/log/maillog", dir.display());
            let env = std::fs::read_to_string(dir.join("env")).expect("mail stack env file");
            let get = |k: &str| {
                env.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .unwrap_or_else(|| panic!("{k} missing from the mail stack env"))
                    .to_string()
            };
            Stack {
                server: match get("IMAP_SERVER").as_str() {
                    "cyrus" => Server::Cyrus,
                    _ => Server::Dovecot,
                },
                imaps_port: get("IMAPS_PORT").parse().unwrap(),
                smtp_port: get("SMTP_PORT").parse().unwrap(),
                submission_port: get("SUBMISSION_PORT").parse().unwrap(),
                institution_port: get("INSTITUTION_PORT").parse().unwrap(),
                ca_file: PathBuf::from(get("CA_FILE")),
                web_port: get("WEB_PORT").parse().unwrap(),
                web_dir: PathBuf::from(get("WEB_DIR")),
                oauth_port: get("OAUTH_PORT").parse().unwrap(),
                oauth_dir: PathBuf::from(get("OAUTH_DIR")),
                dir,
            }
        }
    }

    /// The IMAP port with STARTTLS (the one below IMAPS, see scripts/mail-stack).
    pub fn imap_port(&self) -> u16 {
        self.imaps_port - 1
    }

    /// UIDVALIDITY of `user`'s `folder`.
    pub async fn uid_validity(&self, user: &str, folder: &str) -> u32 {
        let mut mb = Mailbox::connect(&self.imap(user))
            .await
            .expect("IMAP login to the test stack");
        let v = mb.select(&self.folder(folder)).await.expect("SELECT");
        mb.logout().await;
        v
    }

    /// Changes UIDVALIDITY of `user`'s `folder` with doveadm, as a server migration or
    /// a rebuilt index would.
    pub fn set_uid_validity(&self, user: &str, folder: &str, value: u32) {
        assert_eq!(
            self.server,
            Server::Dovecot,
            "doveadm changes Dovecot folders only"
        );
        let status = Command::new("doveadm")
            .arg("-c")
            .arg(self.dir.join("dovecot/dovecot.conf"))
            .args(["mailbox", "update", "-u", user, "--uid-validity"])
            .arg(value.to_string())
            .arg(folder)
            .status()
            .expect("running doveadm");
        assert!(status.success(), "doveadm mailbox update failed");
    }

    /// A shell command that prints a fresh OAuth2 bearer token for `user`, valid for
    /// `seconds` (negative: already expired), as a provider's token helper would.
    pub fn token_command(&self, user: &str, seconds: i64) -> String {
        format!(
            "{} token {} {user} {seconds}",
            script().display(),
            self.dir.display()
        )
    }

    /// A token printed by [`Stack::token_command`], for clients built in the test.
    pub fn token(&self, user: &str, seconds: i64) -> String {
        let out = Command::new("sh")
            .args(["-c", &self.token_command(user, seconds)])
            .output()
            .expect("scripts/mail-stack token");
        assert!(out.status.success(), "scripts/mail-stack token failed");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn password_file(&self) -> PathBuf {
        self.dir.join("password")
    }

    /// IMAP settings to log in as `user`.
    pub fn imap(&self, user: &str) -> ImapConfig {
        ImapConfig {
            host: "localhost".into(),
            port: self.imaps_port,
            tls: TlsMode::Implicit,
            ca_file: Some(self.ca_file.clone()),
            user: user.into(),
            auth: Auth::Password(SecretSource::File(self.password_file())),
            inbox: "INBOX".into(),
            processed_folder: self.folder("Processed"),
            needs_human_folder: Some(self.folder("Needs-Human")),
            sent_folder: Some(self.folder("Sent")),
            drafts_folder: self.folder("Drafts"),
            junk_folder: None,
            idle: true,
            poll_interval: Duration::from_secs(60),
            command_timeout: Duration::from_secs(120),
            backlog: crate::config::Backlog::Handle,
            // The tests' helpers name every folder: no adaptation.
            named: crate::config::FoldersNamed {
                processed: true,
                needs_human: true,
                sent: true,
                drafts: true,
                junk: true,
            },
        }
    }

    /// Config text for a daemon serving `mailbox` (tests add their own sections), with
    /// sender authentication off and caps out of reach: for the tests of everything
    /// else, which queue mail straight into the inbox. See [`Stack::secure_config_toml`].
    pub fn config_toml(&self, mailbox: &str, store: &Path, anchors: &Path) -> String {
        self.config_with_trust(
            mailbox,
            store,
            anchors,
            "senders = \"off\"\nmax_replies_per_case_per_day = 1000000\nmax_replies_per_domain_per_day = 1000000\nmax_replies_per_hour = 1000000\n",
        )
    }

    /// Config text as the example config has it: only mail our MX authenticated
    /// changes anything, default caps.
    pub fn secure_config_toml(&self, mailbox: &str, store: &Path, anchors: &Path) -> String {
        self.config_with_trust(mailbox, store, anchors, "senders = \"require\"\n")
    }

    fn config_with_trust(
        &self,
        mailbox: &str,
        store: &Path,
        anchors: &Path,
        trust: &str,
    ) -> String {
        format!(
            r#"[store]
path = "{store}"
[trust]
anchors = ["{anchors}"]
authserv_id = "{AUTHSERV_ID}"
{trust}
[mailbox]
address = "{mailbox}"
[imap]
host = "localhost"
port = {imaps}
tls = "implicit"
ca_file = "{ca}"
user = "{mailbox}"
password = {{ file = "{pw}" }}
# Tests queue mail before the daemon first starts.
backlog = "handle"
[smtp]
host = "localhost"
port = {subm}
tls = "starttls"
ca_file = "{ca}"
user = "{mailbox}"
password = {{ file = "{pw}" }}
retry_seconds = 1
# The lab's relay is no provider: no pace, no daily ceiling (the tests of them set theirs).
max_per_minute = 0
max_recipients_per_day = 0
"#,
            store = store.display(),
            anchors = anchors.display(),
            imaps = self.imaps_port,
            subm = self.submission_port,
            ca = self.ca_file.display(),
            pw = self.password_file().display(),
        )
    }

    /// Sends a message through the institutions' own server: signed for inst-a.test and
    /// inst-b.test senders, then delivered through the MX like any mail from outside.
    pub async fn send_from_institution(&self, from: &str, to: &str, raw: &[u8]) {
        self.deliver_on(self.institution_port, from, to, raw).await
    }

    /// Delivers a message the way an applicant's server would: plain SMTP on port 25
    /// semantics, no login.
    pub async fn deliver(&self, from: &str, to: &str, raw: &[u8]) {
        self.deliver_on(self.smtp_port, from, to, raw).await
    }

    async fn deliver_on(&self, port: u16, from: &str, to: &str, raw: &[u8]) {
        self.try_deliver_on(port, from, to, raw)
            .await
            .expect("Postfix accepts the applicant's mail");
    }

    /// [`Stack::deliver`] that says when Postfix does not take the mail (it is stopped).
    /// The soak bench (`benches/soak.rs`) uses it; the tests deliver with `deliver`.
    pub async fn try_deliver(&self, from: &str, to: &str, raw: &[u8]) -> Result<(), String> {
        self.try_deliver_on(self.smtp_port, from, to, raw).await
    }

    async fn try_deliver_on(
        &self,
        port: u16,
        from: &str,
        to: &str,
        raw: &[u8],
    ) -> Result<(), String> {
        let smtp = SmtpSender::new(&SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            ca_file: None,
            login: None,
            retry_base: Duration::from_secs(1),
            max_attempts: 1,
            connections: 1,
            pace: crate::pace::Limits::NONE,
        })
        .expect("SMTP client");
        smtp.send(from, to, raw).await.map_err(|e| e.to_string())
    }

    /// Waits until `folder` of `user` holds at least `count` messages; returns them all.
    pub async fn wait_for(
        &self,
        user: &str,
        folder: &str,
        count: usize,
        within: Duration,
    ) -> Vec<Vec<u8>> {
        let what = format!("{count} message(s) in {user}/{folder}");
        super::wait::eventually_async(within, &what, || async {
            let found = self.messages(user, folder).await;
            if found.len() >= count {
                Ok(found)
            } else {
                Err(format!(
                    "{} message(s)\n{}",
                    found.len(),
                    self.log_excerpt(user)
                ))
            }
        })
        .await
    }

    /// Waits until Postfix has nothing left to deliver (its queue is empty): after
    /// that, a message that has not arrived is not on its way. Use before asserting
    /// that something did not arrive.
    pub async fn wait_until_delivered(&self, within: Duration) {
        let conf = self.dir.join("postfix/conf");
        super::wait::eventually_async(within, "an empty Postfix queue", || async {
            let out = std::process::Command::new("postqueue")
                .arg("-c")
                .arg(&conf)
                .arg("-j")
                .output()
                .map_err(|e| format!("postqueue: {e}"))?;
            let queued = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() && queued.trim().is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}{}",
                    queued,
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        })
        .await
    }

    /// How many messages `folder` holds that are not flagged `\Deleted`, without reading
    /// them (0 if it does not exist).
    pub async fn count(&self, user: &str, folder: &str) -> usize {
        let mut mb = Mailbox::connect(&self.imap(user))
            .await
            .expect("IMAP login to the test stack");
        let n = match mb.select(&self.folder(folder)).await {
            Ok(_) => mb.uids().await.expect("UID SEARCH").len(),
            Err(_) => 0,
        };
        mb.logout().await;
        n
    }

    /// Every message of `folder` not flagged `\Deleted` (none if the folder does not
    /// exist).
    pub async fn messages(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        let mut mb = Mailbox::connect(&self.imap(user))
            .await
            .expect("IMAP login to the test stack");
        if mb.select(&self.folder(folder)).await.is_err() {
            mb.logout().await;
            return Vec::new();
        }
        let uids = mb.uids().await.expect("UID SEARCH");
        let out = if uids.is_empty() {
            Vec::new()
        } else {
            mb.fetch(&uids, crate::mailbox::Part::Whole)
                .await
                .expect("FETCH")
                .into_iter()
                .map(|(_, raw)| raw)
                .collect()
        };
        mb.logout().await;
        out
    }

    /// What the servers logged about `user`, and their errors: printed when a wait
    /// times out, since the stack's directory is gone by the time anyone reads a CI log
    /// (the watchdog removes it when the tests end, unless `keep` is in it).
    pub fn log_excerpt(&self, user: &str) -> String {
        let pick = |file: &str, keep: &dyn Fn(&str) -> bool| {
            let text = std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().filter(|l| keep(l)).collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            format!(
                "--- {file} ({} matching lines, last {}):\n{}",
                lines.len(),
                tail.len(),
                tail.join("\n")
            )
        };
        let trouble = |l: &str| {
            [
                "error",
                "warning",
                "fatal",
                "panic",
                "deferred",
                "suspended",
            ]
            .iter()
            .any(|w| l.to_ascii_lowercase().contains(w))
        };
        format!(
            "{}\n{}\n{}\n{}",
            pick("postfix/log/maillog", &|l| l.contains(user)),
            pick("postfix/log/maillog", &|l| trouble(l)),
            pick("dovecot/dovecot.log", &|l| trouble(l)),
            // Cyrus's syslog, written to a file by scripts/syslog-to-file.c.
            pick("cyrus/cyrus.log", &|l| trouble(l) || l.contains(user)),
        )
    }

    pub fn run_script(&self, verb: &str) {
        let status = Command::new(script())
            .args([verb, self.dir.to_str().unwrap()])
            .status()
            .expect("mail-stack");
        assert!(status.success(), "scripts/mail-stack {verb} failed");
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", self.dir.to_str().unwrap_or("")])
            .status();
        // Its passwords, keys and mail go too, unless a failure is being reported
        // (the logs then stay for whoever reads it).
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Stack {
    /// Puts messages straight into `user`'s `folder` over one IMAP connection (faster
    /// than SMTP for filling an inbox).
    pub async fn append_all(&self, user: &str, folder: &str, messages: &[Vec<u8>]) {
        let mut mb = Mailbox::connect(&self.imap(user))
            .await
            .expect("IMAP login to the test stack");
        let folder = self.folder(folder);
        mb.ensure_folder(&folder).await.expect("folder");
        for raw in messages {
            mb.append(&folder, "()", raw).await.expect("APPEND");
        }
        mb.logout().await;
    }
}
