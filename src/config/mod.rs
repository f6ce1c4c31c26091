//! The TOML configuration (`--config FILE`): read into raw structs that reject unknown
//! keys, then validated into [`Config`]. Relative paths are relative to the config file,
//! so a config works wherever the daemon is started from.
//!
//! The field doc comments of the raw structs are the user documentation; the example
//! in `config/mnotify-intake.example.toml` repeats them.

use std::path::{Path, PathBuf};

use std::time::Duration;

use serde::Deserialize;

use crate::secret::SecretSource;

mod raw;
mod read;
mod read_mail;
mod read_web;

pub use read_web::{OidcConfig, WebConfig};

use raw::RawConfig;
use read::{caps, Reading};

use crate::process::Settings;
pub use crate::reply::{ReplyConfig, ReplyMode};
use crate::reply::{Sender, Templates};
pub use crate::trust::Caps;

/// The mailbox address used when the config names none.
pub const DEFAULT_MAILBOX_ADDRESS: &str = "servicii@egov.md";

/// The local control socket (see [`crate::control`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    pub socket: PathBuf,
    pub group: Option<String>,
}

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS (IMAP 143, submission 587).
    Starttls,
    /// No TLS at all: only for an SMTP relay on the same host.
    None,
}

/// What to do with the mail already in the inbox when the daemon first starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backlog {
    /// Leave it where it is, unread by the daemon: a shared mailbox's history is not
    /// answered on the first day. Mail arriving from the first start on is handled.
    #[default]
    Leave,
    /// Handle it like new mail (a mailbox kept only for MNotify, or tests).
    Handle,
}

/// The monitoring endpoint (see [`crate::metrics`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: std::net::SocketAddr,
    pub limits: crate::health::Limits,
}

/// What the store keeps: where backups go, how many daily ones, and how long
/// personal data stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keeping {
    /// Created 0700 by the daemon when it first writes one.
    pub dir: PathBuf,
    /// Daily backups kept; 0: the daemon writes none (`store backup` still works).
    pub keep: u32,
    /// Days personal data is kept in the store (see [`crate::store::Pruned`]); 0:
    /// forever.
    pub retention_days: u32,
    /// Held mail kept whole at most (`[store] held_max_messages`, `held_max_mb`).
    pub held: HeldCeiling,
    /// Days a held mail's bytes are kept; 0: as long as its record.
    pub held_retention_days: u32,
    /// Free bytes on the store's disk below which health and `check` warn.
    pub min_free_bytes: u64,
}

/// Held mail kept whole when `[store] held_max_messages` is not set.
pub const DEFAULT_HELD_MESSAGES: u64 = 200;
/// Megabytes of held mail kept whole when `[store] held_max_mb` is not set.
pub const DEFAULT_HELD_MB: u64 = 100;
/// Days held mail's bytes are kept when `[store] held_retention_days` is not set.
pub const DEFAULT_HELD_RETENTION_DAYS: u32 = 30;
/// Free megabytes on the store's disk below which health warns, by default.
pub const DEFAULT_MIN_FREE_MB: u64 = 512;

/// Days personal data is kept when `[store] retention_days` is not set: a year.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

/// Daily backups kept when `[store] keep_backups` is not set: a week.
pub const DEFAULT_KEEP_BACKUPS: u32 = 7;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// What staff read (the digest, the console, the CLI's words from the store):
    /// `[agency] staff_language`, Romanian by default.
    pub staff_language: crate::intake::Language,
    /// The file it was read from.
    pub source: PathBuf,
    pub store_path: PathBuf,
    pub keeping: Keeping,
    /// `None`: no monitoring endpoint.
    pub metrics: Option<MetricsConfig>,
    /// `None`: no staff console.
    pub web: Option<WebConfig>,
    pub control: ControlConfig,
    pub anchors: Vec<PathBuf>,
    /// Whose `Authentication-Results` are believed and what unauthenticated mail may do.
    pub trust: crate::trust::Policy,
    pub caps: Caps,
    pub mailbox_address: String,
    /// The mailbox address and its aliases, lower case.
    pub own_addresses: Vec<String>,
    pub imap: Option<ImapConfig>,
    pub smtp: Option<SmtpConfig>,
    pub reply: ReplyConfig,
    pub digest: Option<DigestConfig>,
    /// `[response_time]`: what AGE promises, in working days of which calendar.
    pub response_time: crate::case::clock::Promise,
    /// `[revocation]`: where the CAs' revocation lists come from (default: nowhere,
    /// not checked).
    pub revocation: CrlSources,
    /// `[procedures]`: the services the mailbox serves and their steps.
    pub procedures: crate::procedure::Catalogue,
    /// Old keys the file still uses, each with the key that replaced it (still read;
    /// the daemon's start and `check` say so).
    pub renamed: Vec<String>,
}

/// The staff digest and the reminders to applicants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    pub to: Vec<String>,
    /// Local hour and minute.
    pub at: (i8, i8),
    /// Read once, when the config is (a zone that cannot be read stops the start).
    pub time_zone: jiff::tz::TimeZone,
    pub stalled_days: u32,
    pub expiring_days: u32,
    pub remind_days: u32,
    /// The agency's short name, as the digest's headings use it.
    pub agency_short: String,
    /// The staff language (`[agency] staff_language`).
    pub language: crate::intake::Language,
    /// `[response_time]`, by which the digest lists cases at risk and overdue.
    pub response: crate::case::clock::Promise,
    /// Per service (a procedure's code): who gets a digest of its cases alone.
    pub services: Vec<(String, Vec<String>)>,
    /// The `[oauth2]` credential's expiry, when known: the whole digest says it when
    /// it is near or past.
    pub credential: Option<crate::digest::Credential>,
}

/// How to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Password(SecretSource),
    OAuth2(SecretSource),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub auth: Auth,
    pub inbox: String,
    pub processed_folder: String,
    /// `None`: leave such mail in the inbox.
    pub needs_human_folder: Option<String>,
    pub sent_folder: Option<String>,
    pub drafts_folder: String,
    /// Where the provider's filters put junk (`None`: not watched).
    pub junk_folder: Option<String>,
    pub idle: bool,
    pub poll_interval: Duration,
    pub backlog: Backlog,
    /// How long an IMAP command may take (see `command_timeout_seconds`).
    pub command_timeout: Duration,
    /// Which folder names the config wrote; the others are defaults, adapted to the
    /// server's namespace and special-use folders ([`crate::mailbox::Layout`]).
    pub named: FoldersNamed,
}

impl ImapConfig {
    /// The folders the daemon files into in reply mode `mode`, each with its setting's
    /// name: the daemon makes them at start, `check` proves them.
    pub fn folders_used(&self, mode: ReplyMode) -> Vec<(&'static str, &str)> {
        let mut folders = vec![("processed_folder", self.processed_folder.as_str())];
        folders.extend((self.needs_human_folder.as_deref()).map(|f| ("needs_human_folder", f)));
        match mode {
            ReplyMode::Send => {
                folders.extend(self.sent_folder.as_deref().map(|f| ("sent_folder", f)))
            }
            ReplyMode::Draft => folders.push(("drafts_folder", self.drafts_folder.as_str())),
            ReplyMode::Off => {}
        }
        folders
    }
}

/// Which of the daemon's folders the operator named in `[imap]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FoldersNamed {
    pub processed: bool,
    pub needs_human: bool,
    pub sent: bool,
    pub drafts: bool,
    pub junk: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    /// Login and how; `None` for an unauthenticated relay.
    pub login: Option<(String, Auth)>,
    pub retry_base: Duration,
    pub max_attempts: u32,
    pub connections: u32,
    /// The provider's sending limits the outbox keeps (see [`crate::pace`]).
    pub pace: crate::pace::Limits,
}

/// `[smtp] max_per_minute` when not set: Exchange Online's limit.
pub const DEFAULT_MAX_PER_MINUTE: u32 = 30;
/// `[smtp] max_recipients_per_day` when not set: Exchange Online's limit.
pub const DEFAULT_MAX_RECIPIENTS_PER_DAY: u32 = 10_000;
/// `[smtp] quota_pause_seconds` when not set.
pub const DEFAULT_QUOTA_PAUSE_SECONDS: u64 = 300;

pub const DEFAULT_REPLIES_PER_CASE_PER_DAY: u32 = 10;
pub const DEFAULT_REPLIES_PER_DOMAIN_PER_DAY: u32 = 50;
pub const DEFAULT_REPLIES_PER_HOUR: u32 = 300;

/// Default cap on automatic replies to one address per day.
pub const DEFAULT_REPLIES_PER_DAY: u32 = 5;
/// Default size limit of a message: 25 MB, what most mail servers accept.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;
/// Default seconds before the first retry of a failed send.
pub const DEFAULT_RETRY_SECONDS: u64 = 30;
/// Default replies submitted at once.
pub const DEFAULT_SMTP_CONNECTIONS: u32 = 8;
/// Default attempts to send one reply.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// Default seconds between full inbox scans.
pub const DEFAULT_POLL_SECONDS: u64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}; pass an existing file with --config")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("config file {config}: [{key}] names {path}, which does not exist; fix the path (relative paths are relative to the config file)")]
    MissingFile {
        config: PathBuf,
        key: &'static str,
        path: PathBuf,
    },
    #[error("config file {config}: {what}")]
    Invalid { config: PathBuf, what: String },
}

impl Config {
    /// When the daemon counts as unhealthy (`/health`, the systemd watchdog): from
    /// `[metrics]`, or the defaults for the poll interval.
    pub fn health_limits(&self) -> crate::health::Limits {
        self.metrics.as_ref().map_or_else(
            || {
                crate::health::Limits::for_poll(
                    self.imap
                        .as_ref()
                        .map_or(DEFAULT_POLL_SECONDS, |i| i.poll_interval.as_secs()),
                )
            },
            |m| m.limits,
        )
    }

    /// The `[oauth2]` application the mailbox's logins use, if any.
    pub fn oauth2_app(&self) -> Option<std::sync::Arc<crate::secret::oauth2::AppToken>> {
        [
            self.imap.as_ref().map(|i| &i.auth),
            self.smtp
                .as_ref()
                .and_then(|s| s.login.as_ref().map(|(_, a)| a)),
        ]
        .into_iter()
        .flatten()
        .find_map(|auth| match auth {
            Auth::OAuth2(crate::secret::SecretSource::App(app)) => Some(app.clone()),
            _ => None,
        })
    }

    /// When the `[oauth2]` credential expires, when that is known (a certificate's,
    /// or `client_secret_expires`).
    pub fn credential_expiry(&self) -> Option<time::OffsetDateTime> {
        self.oauth2_app().and_then(|app| {
            crate::secret::oauth2::credential_expiry(app.config())
                .ok()
                .flatten()
        })
    }

    /// The `[oauth2]` credential as the digest says it.
    fn digest_credential(&self) -> Option<crate::digest::Credential> {
        let secret = self.oauth2_app().is_some_and(|app| {
            matches!(
                app.config().credential,
                crate::secret::oauth2::Credential::Secret { .. }
            )
        });
        self.credential_expiry()
            .map(|expires| crate::digest::Credential { expires, secret })
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Validates config text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        let at = Reading {
            path,
            base: path.parent().unwrap_or(Path::new(".")),
        };
        let renamed = toml::from_str::<toml::Table>(text)
            .map(|file| read::renamed_keys(&file))
            .unwrap_or_default();
        let anchors = at.anchors(&raw.trust)?;
        let trust = at.trust(&raw.trust)?;
        let (mailbox_address, own_addresses) = at.mailbox(&raw.mailbox)?;
        let app = raw.oauth2.map(|o| at.oauth2(o)).transpose()?;
        let imap = raw.imap.map(|i| at.imap(i, app.as_ref())).transpose()?;
        let smtp = raw.smtp.map(|s| at.smtp(s, app.as_ref())).transpose()?;
        let caps = caps(&raw.reply, &raw.trust);
        let staff_language = at.language(
            "[agency] staff_language",
            raw.agency.staff_language.as_deref(),
            crate::intake::Language::Ro,
        )?;
        let agency_zone = at.time_zone(
            "agency",
            raw.agency.time_zone.clone(),
            &crate::calendar::chisinau(),
        )?;
        let agency = read::agency(raw.agency, &mailbox_address);
        let response_time = at.response_time(raw.response_time, &agency_zone)?;
        let revocation = at.revocation(raw.revocation)?;
        let procedures = at.procedures(raw.procedures)?;
        let digest = raw
            .digest
            .map(|d| {
                let staff = (&agency, &procedures, staff_language);
                at.digest(d, smtp.is_some(), staff, &response_time, &agency_zone)
            })
            .transpose()?;
        let reply = at.reply(raw.reply, agency)?;
        let store_path = at.resolve(&raw.store.path);
        let control = at.control(raw.control, &store_path);
        let keeping = keeping(&at, &raw.store, &store_path);
        let metrics = raw
            .metrics
            .map(|m| at.metrics(m, imap.as_ref()))
            .transpose()?;
        let web = raw.web.map(|w| at.web(w, staff_language)).transpose()?;
        let mut config = Config {
            renamed,
            staff_language,
            digest,
            web,
            source: path.into(),
            control,
            store_path,
            keeping,
            metrics,
            anchors,
            trust,
            caps,
            mailbox_address,
            own_addresses,
            imap,
            smtp,
            reply,
            response_time,
            revocation,
            procedures,
        };
        let credential = config.digest_credential();
        if let Some(digest) = &mut config.digest {
            digest.credential = credential;
        }
        Ok(config)
    }
}

impl Config {
    /// The planner's settings this config gives, for the daemon and for staff commands alike (the
    /// folders only matter to the daemon; without `[imap]` they are empty).
    pub fn plan_settings<'a>(&'a self, templates: &'a Templates) -> Settings<'a> {
        let imap = self.imap.as_ref();
        Settings {
            mode: self.reply.mode,
            sender: Sender {
                name: &self.reply.from_name,
                address: &self.mailbox_address,
                links: Vec::new(),
            },
            sender_names: (&self.reply.from_name_ru, &self.reply.from_name_en),
            processed_folder: imap.map_or("", |i| i.processed_folder.as_str()),
            needs_human_folder: imap.and_then(|i| i.needs_human_folder.as_deref()),
            caps: self.caps,
            trust: &self.trust,
            max_message_bytes: self.reply.max_message_bytes,
            templates,
            procedures: &self.procedures,
        }
    }
}

/// `[revocation]`: where CRLs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSources {
    pub files: Vec<std::path::PathBuf>,
    /// Fetch the distribution points of trusted certificates over HTTP.
    pub fetch: bool,
    /// A fetched CRL is fetched again after this (sooner once its next update passed).
    pub refresh: std::time::Duration,
    pub timeout: std::time::Duration,
    pub max_bytes: u64,
}

impl Default for CrlSources {
    /// Off: no files, no fetching.
    fn default() -> CrlSources {
        CrlSources {
            files: Vec::new(),
            fetch: false,
            refresh: std::time::Duration::from_secs(6 * 3600),
            timeout: std::time::Duration::from_secs(10),
            max_bytes: 20 * 1024 * 1024,
        }
    }
}

impl CrlSources {
    /// Revocation is checked at all.
    pub fn checking(&self) -> bool {
        self.fetch || !self.files.is_empty()
    }
}

/// How much held mail the store keeps whole: a stranger's mail must not fill the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldCeiling {
    pub max_messages: u64,
    pub max_bytes: u64,
}

/// `[store]`'s keeping: backups, retention, the held-mail ceiling, the free space.
fn keeping(at: &Reading<'_>, store: &raw::RawStore, store_path: &Path) -> Keeping {
    Keeping {
        dir: store.backups.as_deref().map_or_else(
            || {
                let mut name = store_path.as_os_str().to_os_string();
                name.push(".backups");
                PathBuf::from(name)
            },
            |p| at.resolve(p),
        ),
        keep: store.keep_backups.unwrap_or(DEFAULT_KEEP_BACKUPS),
        retention_days: store.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS),
        held: HeldCeiling {
            max_messages: store.held_max_messages.unwrap_or(DEFAULT_HELD_MESSAGES),
            max_bytes: store
                .held_max_mb
                .unwrap_or(DEFAULT_HELD_MB)
                .saturating_mul(1024 * 1024),
        },
        held_retention_days: store
            .held_retention_days
            .unwrap_or(DEFAULT_HELD_RETENTION_DAYS),
        min_free_bytes: store
            .min_free_mb
            .unwrap_or(DEFAULT_MIN_FREE_MB)
            .saturating_mul(1024 * 1024),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_anchor() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), "x").expect("write");
        dir
    }

    #[test]
    fn procedure_files_are_read_from_the_directory_and_a_bad_one_is_named() {
        let dir = dir_with_anchor();
        let procedures = dir.path().join("procedures");
        std::fs::create_dir(&procedures).unwrap();
        let sixth = crate::procedure::BUILT_IN[2]
            .1
            .replace("code = \"msign\"", "code = \"mpay\"")
            .replace("tag = \"MSign\"", "tag = \"MPay\"");
        std::fs::write(procedures.join("mpay.toml"), sixth).unwrap();
        std::fs::write(procedures.join("notes.txt"), "not a procedure").unwrap();
        let text = "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n[procedures]\ndir = \"procedures\"\nunnamed = \"mpay\"\n";
        let cfg = Config::parse(&dir.path().join("c.toml"), text).expect("parses");
        assert!(cfg.procedures.get("mpay").is_some());
        assert_eq!(
            cfg.procedures.unnamed,
            crate::procedure::Unnamed::Service("mpay".into())
        );
        std::fs::write(procedures.join("broken.toml"), "code = \"x\"").unwrap();
        let err = Config::parse(&dir.path().join("c.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("broken.toml"), "{err}");
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = dir_with_anchor();
        let path = dir.path().join("c.toml");
        let cfg = Config::parse(
            &path,
            "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n",
        )
        .expect("valid");
        assert_eq!(cfg.store_path, dir.path().join("db"));
        assert_eq!(cfg.own_addresses, vec![DEFAULT_MAILBOX_ADDRESS.to_string()]);
    }

    #[test]
    fn the_agency_is_named_once_for_replies_and_the_digest() {
        let dir = dir_with_anchor();
        let cfg = Config::parse(
            &dir.path().join("c.toml"),
            "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n\
             [mailbox]\naddress = \"contact@ase.md\"\n[smtp]\nhost = \"h\"\n[digest]\nto = [\"staff@ase.md\"]\n\
             [agency]\nname = \"Agenția Servicii Electronice\"\nshort_name = \"ASE\"\n",
        )
        .expect("valid");
        let agency = &cfg.reply.agency;
        assert_eq!(agency.short_name, "ASE");
        assert_eq!(agency.mailbox, "contact@ase.md");
        assert_eq!(
            agency.phone,
            crate::reply::Agency::default().phone,
            "the rest default"
        );
        assert_eq!(cfg.reply.from_name, "Agenția Servicii Electronice");
        assert_eq!(cfg.digest.unwrap().agency_short, "ASE");
    }

    #[test]
    fn unknown_key_is_named() {
        let dir = dir_with_anchor();
        let err = Config::parse(
            &dir.path().join("c.toml"),
            "[store]\npath = \"db\"\nsize = 3\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("size"), "{err}");
    }

    #[test]
    fn missing_anchor_file_is_named() {
        let dir = dir_with_anchor();
        let err = Config::parse(
            &dir.path().join("c.toml"),
            "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"nope.pem\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("nope.pem") && err.contains("anchors"), "{err}");
    }

    #[test]
    fn documented_example_is_valid() {
        let dir = dir_with_anchor();
        let example = include_str!("../../config/mnotify-intake.example.toml")
            .replace("/etc/mnotify-intake/stisc-root.pem", "ca.pem")
            .replace("/etc/mnotify-intake/stisc-issuing.pem", "ca.pem");
        let cfg = Config::parse(&dir.path().join("c.toml"), &example).expect("example parses");
        let imap = cfg.imap.expect("[imap]");
        assert_eq!((imap.port, imap.tls), (993, TlsMode::Implicit));
        assert_eq!(
            imap.backlog,
            Backlog::Leave,
            "history is left alone by default"
        );
        let smtp = cfg.smtp.expect("[smtp]");
        assert_eq!((smtp.port, smtp.tls), (587, TlsMode::Starttls));
        assert_eq!(cfg.reply.mode, ReplyMode::Draft);
        let digest = cfg.digest.expect("[digest]");
        assert_eq!(digest.at, (8, 30));
        assert_eq!(digest.time_zone.iana_name(), Some("Europe/Chisinau"));
        assert_eq!(
            cfg.renamed,
            Vec::<String>::new(),
            "the example uses no old key"
        );
    }

    /// A value the example writes commented out is the default, or the example says
    /// it is not one: uncommenting it alone changes nothing, except for the keys listed
    /// here as illustrations (a path, an address, a choice shown beside its default).
    #[test]
    fn the_example_s_commented_values_are_the_defaults() {
        let dir = dir_with_anchor();
        let example = include_str!("../../config/mnotify-intake.example.toml")
            .replace("/etc/mnotify-intake/stisc-root.pem", "ca.pem")
            .replace("/etc/mnotify-intake/stisc-issuing.pem", "ca.pem");
        let path = dir.path().join("c.toml");
        let base = Config::parse(&path, &example).unwrap();
        let header = regex::Regex::new(r"^(# )?\[([a-z0-9_.]+)\]").unwrap();
        let key = regex::Regex::new(r"^# ([a-z][a-z0-9_]*) = ").unwrap();
        let lines: Vec<&str> = example.lines().collect();
        let (mut section, mut live) = (String::new(), true);
        let mut differ = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if let Some(c) = header.captures(line) {
                section = c[2].to_string();
                live = c.get(1).is_none();
                continue;
            }
            let Some(k) = key.captures(line) else {
                continue;
            };
            if !live {
                continue;
            }
            let mut changed = lines.clone();
            let uncommented = &line[2..];
            changed[i] = uncommented;
            let same = Config::parse(&path, &changed.join("\n")).is_ok_and(|c| c == base);
            if !same {
                differ.push(format!("[{section}] {}", &k[1]));
            }
        }
        let illustrations = [
            // A tenant, files, paths and secrets of the agency's own: no default.
            "[trust] exchange_online_tenant",
            "[imap] ca_file",
            "[imap] password",
            "[imap] oauth2_token",
            "[smtp] ca_file",
            "[smtp] oauth2_token",
            "[reply] templates",
            "[procedures] dir",
            "[revocation] crl_files",
            // Shown as the choice beside the default ("fetch = true" turns it on).
            "[revocation] fetch",
            // The default names, but a name written is used exactly as written, while
            // one left out is matched to the server's own (the comment says so).
            "[imap] processed_folder",
            "[imap] needs_human_folder",
            "[imap] sent_folder",
            "[imap] drafts_folder",
            "[imap] junk_folder",
        ];
        let differ: std::collections::BTreeSet<&str> = differ.iter().map(String::as_str).collect();
        let illustrations = std::collections::BTreeSet::from(illustrations);
        assert_eq!(
            differ, illustrations,
            "a commented value that is not the default"
        );
    }

    /// A client secret's expiry is what the config says, checked as a date; a
    /// certificate's is read from the certificate, so the key is refused beside one.
    #[test]
    fn a_client_secret_s_expiry_is_read_once() {
        let dir = dir_with_anchor();
        let base = "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n[imap]\nhost = \"h\"\nuser = \"svc@egov.md\"\n[oauth2]\ntoken_url = \"https://login.test/token\"\nclient_id = \"app\"\n";
        let parse =
            |extra: &str| Config::parse(&dir.path().join("c.toml"), &format!("{base}{extra}"));
        let secret = "client_secret = { env = \"S\" }\n";
        let cfg = parse(&format!("{secret}client_secret_expires = \"2027-06-30\"\n")).unwrap();
        assert_eq!(
            cfg.credential_expiry(),
            Some(time::macros::datetime!(2027-06-30 00:00 UTC))
        );
        assert_eq!(parse(secret).unwrap().credential_expiry(), None);
        let bad = parse(&format!("{secret}client_secret_expires = \"30.06.2027\"\n"));
        assert!(bad.unwrap_err().to_string().contains("like \"2027-06-30\""));
        std::fs::write(dir.path().join("app.pem"), "x").unwrap();
        let beside_a_certificate = parse(
            "client_certificate = \"app.pem\"\nclient_key = \"app.pem\"\nclient_secret_expires = \"2027-06-30\"\n",
        );
        assert!(beside_a_certificate
            .unwrap_err()
            .to_string()
            .contains("read from the certificate"));
    }

    /// The agency's time zone and name are each one key; the old keys are still read
    /// (in their own section, as before) and said with the key that replaced them.
    #[test]
    fn one_time_zone_and_one_name_and_the_old_keys_said() {
        let dir = dir_with_anchor();
        let base = "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n[smtp]\nhost = \"h\"\n[digest]\nto = [\"a@b.md\"]\n";
        let parse = |extra: &str| {
            Config::parse(&dir.path().join("c.toml"), &format!("{base}{extra}")).unwrap()
        };
        let zone = |c: &Config| {
            (
                c.digest
                    .as_ref()
                    .unwrap()
                    .time_zone
                    .iana_name()
                    .map(str::to_string),
                c.response_time
                    .calendar
                    .time_zone
                    .iana_name()
                    .map(str::to_string),
            )
        };
        let one = parse("[agency]\ntime_zone = \"Europe/Bucharest\"\nname = \"Agenția X\"\n");
        let bucharest = Some("Europe/Bucharest".to_string());
        assert_eq!(zone(&one), (bucharest.clone(), bucharest.clone()));
        assert_eq!(one.reply.from_name, "Agenția X");
        assert!(one.renamed.is_empty(), "{:?}", one.renamed);
        let old = parse(
            "time_zone = \"Europe/Kyiv\"\n[reply]\nfrom_name = \"AGE Servicii\"\n[agency]\ntime_zone = \"Europe/Bucharest\"\n",
        );
        assert_eq!(zone(&old), (Some("Europe/Kyiv".into()), bucharest));
        assert_eq!(old.reply.from_name, "AGE Servicii");
        assert_eq!(old.renamed.len(), 2, "{:?}", old.renamed);
        assert!(
            old.renamed[0].starts_with("[digest] time_zone")
                && old.renamed[0].contains("[agency] time_zone")
        );
        assert!(
            old.renamed[1].starts_with("[reply] from_name")
                && old.renamed[1].contains("[agency] name")
        );
    }

    /// The systemd unit must let the daemon write where the example config puts the
    /// store (ProtectSystem=strict makes everything else read-only) and must name the
    /// config the way the CLI reads it.
    #[test]
    fn systemd_unit_matches_the_example_config() {
        let unit = include_str!("../../config/mnotify-intake.service");
        let example = include_str!("../../config/mnotify-intake.example.toml");
        let store = example
            .lines()
            .find_map(|l| l.strip_prefix("path = "))
            .expect("[store] path in the example")
            .trim_matches('"');
        let writable = unit
            .lines()
            .find_map(|l| l.strip_prefix("ReadWritePaths="))
            .expect("ReadWritePaths in the unit");
        assert!(
            std::path::Path::new(store)
                .parent()
                .is_some_and(|p| p == std::path::Path::new(writable)),
            "the store {store} must lie directly in {writable}"
        );
        assert!(unit.contains("Environment=MNOTIFY_INTAKE_CONFIG=/etc/mnotify-intake/config.toml"));
        assert!(unit.contains("ExecStart=/usr/bin/mnotify-intake run\n"));
        assert!(
            example.contains("MNOTIFY_IMAP_PASSWORD") && unit.contains("EnvironmentFile="),
            "the secrets the example names come from the unit's environment file"
        );
    }

    #[test]
    fn digest_time_and_zone_are_checked() {
        let dir = dir_with_anchor();
        let base =
            "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n[smtp]\nhost = \"h\"\n";
        let err = |extra: &str| {
            Config::parse(&dir.path().join("c.toml"), &format!("{base}{extra}"))
                .unwrap_err()
                .to_string()
        };
        assert!(err("[digest]\nto = [\"a@b.md\"]\nat = \"25:00\"\n").contains("not a time"));
        assert!(
            err("[digest]\nto = [\"a@b.md\"]\ntime_zone = \"Mars/Olympus\"\n")
                .contains("not a known time zone")
        );
        assert!(err("[digest]\nto = []\n").contains("staff e-mail"));
    }

    #[test]
    fn response_time_reads_its_calendar_and_refuses_nonsense() {
        let dir = dir_with_anchor();
        let base =
            "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n";
        let parse =
            |extra: &str| Config::parse(&dir.path().join("c.toml"), &format!("{base}{extra}"));
        let default = parse("").unwrap().response_time;
        assert_eq!((default.working_days, default.at_risk_days), (7, 2));
        assert_eq!(default.calendar, crate::calendar::Calendar::default());
        let cfg = parse(
            "[response_time]\nworking_days = 10\nholidays = \"none\"\nextra_days_off = [\"2026-12-04\"]\nextra_working_days = [\"2026-12-12\"]\n",
        )
        .unwrap()
        .response_time;
        assert_eq!(cfg.working_days, 10);
        assert!(!cfg.calendar.is_working_day(jiff::civil::date(2026, 12, 4)));
        assert!(cfg.calendar.is_working_day(jiff::civil::date(2026, 12, 12)));
        assert!(
            cfg.calendar.is_working_day(jiff::civil::date(2026, 12, 25)),
            "no holidays"
        );
        let err = |extra: &str| parse(extra).unwrap_err().to_string();
        assert!(err("[response_time]\nextra_days_off = [\"4.12.2026\"]\n").contains("not a date"));
        assert!(err("[response_time]\nworking_days = 2\n").contains("more than at_risk_days"));
        assert!(
            err("[response_time]\ntime_zone = \"Moon/Base\"\n").contains("not a known time zone")
        );
        assert!(err("[response_time]\nholidays = \"romania\"\n").contains("holidays"));
    }
}
