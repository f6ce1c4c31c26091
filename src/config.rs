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

/// The mailbox address used when the config names none.
pub const DEFAULT_MAILBOX_ADDRESS: &str = "servicii@egov.md";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    store: RawStore,
    trust: RawTrust,
    #[serde(default)]
    mailbox: RawMailbox,
    imap: Option<RawImap>,
    smtp: Option<RawSmtp>,
    #[serde(default)]
    reply: RawReply,
    digest: Option<RawDigest>,
    #[serde(default)]
    control: RawControl,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawControl {
    /// The daemon's control socket, where staff commands reach it. Default: beside the
    /// store, `<store path>.sock`.
    socket: Option<PathBuf>,
    /// The group whose members may use it (mode 0660); without one only the daemon's
    /// user and root can (0600).
    group: Option<String>,
}

/// The local control socket (see [`crate::control`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    pub socket: PathBuf,
    pub group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    /// Staff addresses that receive the daily digest.
    to: Vec<String>,
    /// Local time of the daily digest, "HH:MM". Default "08:30".
    at: Option<String>,
    /// Time zone of `at`. Default "Europe/Chisinau".
    time_zone: Option<String>,
    /// A case waiting on the applicant this many days is listed as stalled. Default 7.
    stalled_days: Option<u32>,
    /// Known certificates expiring within this many days are listed. Default 60.
    expiring_days: Option<u32>,
    /// Applicants whose case has waited on them this many days get a reminder, at most
    /// once per this many days; 0 sends none. Default 7.
    remind_days: Option<u32>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImap {
    /// Server name or address.
    host: String,
    /// Default 993 for implicit TLS, 143 for STARTTLS.
    port: Option<u16>,
    /// `implicit` (default) or `starttls`.
    tls: Option<TlsMode>,
    /// Extra CA certificate (PEM) for a server with a private certificate.
    ca_file: Option<PathBuf>,
    user: String,
    /// `{ env = "VAR" }`, `{ file = "path" }` or `{ command = "…" }`.
    password: Option<SecretSource>,
    /// XOAUTH2 bearer token, same forms as `password` (Microsoft 365 accepts only this).
    oauth2_token: Option<SecretSource>,
    /// Folder watched for applicants' mail. Default `INBOX`.
    inbox: Option<String>,
    /// Where handled mail goes. Default `Processed`.
    processed_folder: Option<String>,
    /// Where mail for people goes (not about MNotify, oversized); `""` leaves it in the
    /// inbox untouched. Default `Needs-Human`.
    needs_human_folder: Option<String>,
    /// Where a copy of each reply sent is appended; `""` for none. Default `Sent`.
    sent_folder: Option<String>,
    /// Where replies go in `draft` mode. Default `Drafts`.
    drafts_folder: Option<String>,
    /// Use IDLE when the server offers it. Default true.
    idle: Option<bool>,
    /// Seconds between full scans of the inbox (the safety net under IDLE, or the
    /// polling interval without it). Default 60.
    poll_seconds: Option<u64>,
    /// Mail already in the inbox at the first start: `leave` (default) or `handle`.
    backlog: Option<Backlog>,
    /// Seconds an IMAP command may take before the connection is taken for dead and
    /// made again (a FETCH of whole messages gets five times as long). Default 120.
    command_timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    /// Default 587 for STARTTLS, 465 for implicit TLS, 25 without TLS.
    port: Option<u16>,
    /// `starttls` (default), `implicit` or `none`.
    tls: Option<TlsMode>,
    ca_file: Option<PathBuf>,
    /// Login; without it mail is sent unauthenticated (a local relay).
    user: Option<String>,
    password: Option<SecretSource>,
    oauth2_token: Option<SecretSource>,
    /// Seconds before the first retry of a transiently failed send; doubles per attempt,
    /// capped at one hour. Default 30.
    retry_seconds: Option<u64>,
    /// Attempts before a reply is marked failed and reported. Default 10.
    max_attempts: Option<u32>,
    /// Replies submitted at once, each on its own connection. More is faster; after a
    /// crash, the replies that were in the middle of submission can go out a second
    /// time, so this is also the most a crash can repeat. Default 8.
    connections: Option<u32>,
}

/// What happens to replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReplyMode {
    /// Replies are sent over SMTP.
    #[default]
    Send,
    /// Replies are appended to the Drafts folder for staff to review and send.
    Draft,
    /// No replies; decisions are only recorded.
    Off,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReply {
    /// `send` (default), `draft` (the safe start on a live mailbox) or `off`.
    mode: Option<ReplyMode>,
    /// Display name on replies. Default "Agenția de Guvernare Electronică".
    from_name: Option<String>,
    /// Automatic replies to one address per day, at most. Default 5.
    max_per_recipient_per_day: Option<u32>,
    /// Messages larger than this (bytes) are not read; the sender is told the limit.
    /// Default 25 MB.
    max_message_bytes: Option<u64>,
    /// Directory with `{ro,ru,en}/reply.txt` to use instead of the built-in templates,
    /// so staff can edit wording without a rebuild.
    templates: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    /// Directory of the embedded sled database (cases, registry, messages seen). Created
    /// on first use.
    path: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    /// Certificate files (PEM, DER or PKCS#7) of the trusted STISC issuing and root CAs.
    anchors: Vec<PathBuf>,
    /// The authserv-id(s) our own receiving server writes in `Authentication-Results`
    /// (one string or a list): only those fields, on top of a message, are believed.
    authserv_id: Option<OneOrMany>,
    /// `require` (default): mail whose sender is not authenticated changes nothing and
    /// is filed for staff; `flag`: processed and marked for staff; `off`: not checked.
    senders: Option<crate::trust::SenderRule>,
    /// Automatic replies about one case per day, whoever writes. Default 10.
    max_replies_per_case_per_day: Option<u32>,
    /// Automatic replies to one organizational domain per day. Default 50.
    max_replies_per_domain_per_day: Option<u32>,
    /// Automatic replies per clock hour, to everyone together. Default 300.
    max_replies_per_hour: Option<u32>,
}

/// A key that takes one string or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    /// The shared mailbox's address; mail from it is our own and never answered.
    address: Option<String>,
    /// Other addresses of ours (aliases, the staff digest sender).
    #[serde(default)]
    aliases: Vec<String>,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    pub store_path: PathBuf,
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
}

/// The staff digest and the reminders to applicants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    pub to: Vec<String>,
    /// Local hour and minute.
    pub at: (i8, i8),
    pub time_zone: String,
    pub stalled_days: u32,
    pub expiring_days: u32,
    pub remind_days: u32,
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
    pub idle: bool,
    pub poll_interval: Duration,
    pub backlog: Backlog,
    /// How long an IMAP command may take (see `command_timeout_seconds`).
    pub command_timeout: Duration,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyConfig {
    pub mode: ReplyMode,
    pub from_name: String,
    pub max_per_recipient_per_day: u32,
    pub max_message_bytes: u64,
    /// Templates directory; `None` uses the built-in ones.
    pub templates: Option<PathBuf>,
}

/// Caps on automatic replies that hold whatever the other side does: a sender who
/// rotates addresses or domains still meets the case and hourly caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub per_recipient_per_day: u32,
    pub per_case_per_day: u32,
    pub per_domain_per_day: u32,
    pub per_hour: u32,
}

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
        let anchors = at.anchors(&raw.trust)?;
        let trust = at.trust(&raw.trust)?;
        let (mailbox_address, own_addresses) = at.mailbox(&raw.mailbox)?;
        let imap = raw.imap.map(|i| at.imap(i)).transpose()?;
        let smtp = raw.smtp.map(|s| at.smtp(s)).transpose()?;
        let caps = caps(&raw.reply, &raw.trust);
        let reply = at.reply(raw.reply)?;
        let digest = raw
            .digest
            .map(|d| at.digest(d, smtp.is_some()))
            .transpose()?;
        let store_path = at.resolve(&raw.store.path);
        let control = at.control(raw.control, &store_path);
        Ok(Config {
            digest,
            source: path.into(),
            control,
            store_path,
            anchors,
            trust,
            caps,
            mailbox_address,
            own_addresses,
            imap,
            smtp,
            reply,
        })
    }
}

/// Reading one config file: its path (for messages) and the directory relative paths
/// are taken from. One method per section.
struct Reading<'a> {
    path: &'a Path,
    base: &'a Path,
}

impl Reading<'_> {
    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn invalid(&self, what: String) -> ConfigError {
        ConfigError::Invalid {
            config: self.path.into(),
            what,
        }
    }

    /// An optional file that must exist when named.
    fn file(&self, key: &'static str, p: &Option<PathBuf>) -> Result<Option<PathBuf>, ConfigError> {
        match p {
            None => Ok(None),
            Some(p) => {
                let p = self.resolve(p);
                if p.is_file() {
                    Ok(Some(p))
                } else {
                    Err(ConfigError::MissingFile {
                        config: self.path.into(),
                        key,
                        path: p,
                    })
                }
            }
        }
    }

    fn anchors(&self, raw: &RawTrust) -> Result<Vec<PathBuf>, ConfigError> {
        if raw.anchors.is_empty() {
            return Err(self
                .invalid("[trust] anchors is empty; list the STISC CA certificate files".into()));
        }
        let anchors: Vec<PathBuf> = raw.anchors.iter().map(|p| self.resolve(p)).collect();
        if let Some(missing) = anchors.iter().find(|p| !p.is_file()) {
            return Err(ConfigError::MissingFile {
                config: self.path.into(),
                key: "trust] anchors",
                path: missing.clone(),
            });
        }
        Ok(anchors)
    }

    fn trust(&self, raw: &RawTrust) -> Result<crate::trust::Policy, ConfigError> {
        let senders = raw.senders.unwrap_or(crate::trust::SenderRule::Require);
        let authserv_ids: Vec<String> = match &raw.authserv_id {
            None => Vec::new(),
            Some(OneOrMany::One(id)) => vec![id.clone()],
            Some(OneOrMany::Many(ids)) => ids.clone(),
        }
        .into_iter()
        .map(|id| id.trim().to_ascii_lowercase())
        .filter(|id| !id.is_empty())
        .collect();
        if authserv_ids.is_empty() && senders != crate::trust::SenderRule::Off {
            return Err(self.invalid(format!(
                "[trust] senders = \"{}\" needs [trust] authserv_id: the id your receiving \
                 mail server writes in Authentication-Results (ask your mail administrator; \
                 e.g. authserv_id = \"mx.egov.md\"), or senders = \"off\" to answer \
                 unauthenticated mail (not for a public mailbox)",
                senders.code()
            )));
        }
        Ok(crate::trust::Policy {
            authserv_ids,
            senders,
        })
    }

    /// The mailbox address, and it with its aliases, lower case.
    fn mailbox(&self, raw: &RawMailbox) -> Result<(String, Vec<String>), ConfigError> {
        let address = raw
            .address
            .clone()
            .unwrap_or_else(|| DEFAULT_MAILBOX_ADDRESS.to_string());
        if !address.contains('@') {
            return Err(self.invalid(format!(
                "[mailbox] address `{address}` is not an e-mail address"
            )));
        }
        let own = std::iter::once(&address)
            .chain(&raw.aliases)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        Ok((address, own))
    }

    fn imap(&self, i: RawImap) -> Result<ImapConfig, ConfigError> {
        let tls = i.tls.unwrap_or(TlsMode::Implicit);
        if tls == TlsMode::None {
            return Err(self.invalid("[imap] tls = \"none\" is not supported: the mailbox password would travel in clear; use implicit or starttls".into()));
        }
        let auth = auth_of("imap", i.password, i.oauth2_token)
            .map_err(|w| self.invalid(w))?
            .ok_or_else(|| {
                self.invalid(
                    "[imap] needs password = { env = \"VAR\" } (or file/command) or oauth2_token"
                        .into(),
                )
            })?;
        let folder = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_string());
        let optional = |v: Option<String>, default: &str| {
            let v = folder(v, default);
            (!v.is_empty()).then_some(v)
        };
        Ok(ImapConfig {
            port: i
                .port
                .unwrap_or(if tls == TlsMode::Implicit { 993 } else { 143 }),
            tls,
            ca_file: self.file("imap] ca_file", &i.ca_file)?,
            host: i.host,
            user: i.user,
            auth,
            inbox: folder(i.inbox, "INBOX"),
            processed_folder: folder(i.processed_folder, "Processed"),
            needs_human_folder: optional(i.needs_human_folder, "Needs-Human"),
            sent_folder: optional(i.sent_folder, "Sent"),
            drafts_folder: folder(i.drafts_folder, "Drafts"),
            idle: i.idle.unwrap_or(true),
            poll_interval: Duration::from_secs(
                i.poll_seconds.unwrap_or(DEFAULT_POLL_SECONDS).max(1),
            ),
            backlog: i.backlog.unwrap_or_default(),
            command_timeout: Duration::from_secs(i.command_timeout_seconds.unwrap_or(120).max(1)),
        })
    }

    fn smtp(&self, s: RawSmtp) -> Result<SmtpConfig, ConfigError> {
        let tls = s.tls.unwrap_or(TlsMode::Starttls);
        let auth = auth_of("smtp", s.password, s.oauth2_token).map_err(|w| self.invalid(w))?;
        let login = match (s.user, auth) {
            (Some(user), Some(auth)) => Some((user, auth)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(
                    self.invalid("[smtp] user is set but no password or oauth2_token".into())
                )
            }
            (None, Some(_)) => return Err(self.invalid("[smtp] has a password but no user".into())),
        };
        Ok(SmtpConfig {
            port: s.port.unwrap_or(match tls {
                TlsMode::Implicit => 465,
                TlsMode::Starttls => 587,
                TlsMode::None => 25,
            }),
            tls,
            ca_file: self.file("smtp] ca_file", &s.ca_file)?,
            host: s.host,
            login,
            retry_base: Duration::from_secs(
                s.retry_seconds.unwrap_or(DEFAULT_RETRY_SECONDS).max(1),
            ),
            max_attempts: s.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            connections: s
                .connections
                .unwrap_or(DEFAULT_SMTP_CONNECTIONS)
                .clamp(1, 64),
        })
    }

    fn reply(&self, r: RawReply) -> Result<ReplyConfig, ConfigError> {
        Ok(ReplyConfig {
            mode: r.mode.unwrap_or_default(),
            from_name: r
                .from_name
                .unwrap_or_else(|| "Agenția de Guvernare Electronică".to_string()),
            max_per_recipient_per_day: r
                .max_per_recipient_per_day
                .unwrap_or(DEFAULT_REPLIES_PER_DAY),
            max_message_bytes: r.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES),
            templates: match r.templates {
                None => None,
                Some(d) => {
                    let d = self.resolve(&d);
                    if !d.is_dir() {
                        return Err(ConfigError::MissingFile {
                            config: self.path.into(),
                            key: "reply] templates",
                            path: d,
                        });
                    }
                    Some(d)
                }
            },
        })
    }

    fn digest(&self, d: RawDigest, has_smtp: bool) -> Result<DigestConfig, ConfigError> {
        if d.to.is_empty() || d.to.iter().any(|a| !a.contains('@')) {
            return Err(self.invalid("[digest] to must list staff e-mail addresses".into()));
        }
        if !has_smtp {
            return Err(self.invalid("[digest] needs an [smtp] section to send the digest".into()));
        }
        let at_text = d.at.unwrap_or_else(|| "08:30".into());
        let at = at_text
            .split_once(':')
            .and_then(|(h, m)| Some((h.trim().parse::<i8>().ok()?, m.trim().parse::<i8>().ok()?)))
            .filter(|(h, m)| (0..24).contains(h) && (0..60).contains(m))
            .ok_or_else(|| {
                self.invalid(format!(
                    "[digest] at = \"{at_text}\" is not a time; write it like \"08:30\""
                ))
            })?;
        let time_zone = d.time_zone.unwrap_or_else(|| "Europe/Chisinau".into());
        if jiff::tz::TimeZone::get(&time_zone).is_err() {
            return Err(self.invalid(format!(
                "[digest] time_zone = \"{time_zone}\" is not a known time zone; write it like \"Europe/Chisinau\""
            )));
        }
        Ok(DigestConfig {
            to: d.to,
            at,
            time_zone,
            stalled_days: d.stalled_days.unwrap_or(7),
            expiring_days: d.expiring_days.unwrap_or(60),
            remind_days: d.remind_days.unwrap_or(7),
        })
    }

    /// The control socket: as configured, or `<store path>.sock`.
    fn control(&self, c: RawControl, store_path: &Path) -> ControlConfig {
        ControlConfig {
            socket: c.socket.as_deref().map_or_else(
                || {
                    let mut name = store_path
                        .file_name()
                        .map(|n| n.to_os_string())
                        .unwrap_or_else(|| "store".into());
                    name.push(".sock");
                    store_path.with_file_name(name)
                },
                |p| self.resolve(p),
            ),
            group: c.group.filter(|g| !g.trim().is_empty()),
        }
    }
}

/// The caps on automatic replies, from `[reply]` (per recipient) and `[trust]`.
fn caps(reply: &RawReply, trust: &RawTrust) -> Caps {
    Caps {
        per_recipient_per_day: reply
            .max_per_recipient_per_day
            .unwrap_or(DEFAULT_REPLIES_PER_DAY),
        per_case_per_day: trust
            .max_replies_per_case_per_day
            .unwrap_or(DEFAULT_REPLIES_PER_CASE_PER_DAY),
        per_domain_per_day: trust
            .max_replies_per_domain_per_day
            .unwrap_or(DEFAULT_REPLIES_PER_DOMAIN_PER_DAY),
        per_hour: trust
            .max_replies_per_hour
            .unwrap_or(DEFAULT_REPLIES_PER_HOUR),
    }
}

fn auth_of(
    section: &str,
    password: Option<SecretSource>,
    token: Option<SecretSource>,
) -> Result<Option<Auth>, String> {
    match (password, token) {
        (Some(_), Some(_)) => Err(format!(
            "[{section}] has both password and oauth2_token; keep one"
        )),
        (Some(p), None) => Ok(Some(Auth::Password(p))),
        (None, Some(t)) => Ok(Some(Auth::OAuth2(t))),
        (None, None) => Ok(None),
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
        let example = include_str!("../config/mnotify-intake.example.toml")
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
        assert_eq!(digest.time_zone, "Europe/Chisinau");
    }

    /// The systemd unit must let the daemon write where the example config puts the
    /// store (ProtectSystem=strict makes everything else read-only) and must name the
    /// config the way the CLI reads it.
    #[test]
    fn systemd_unit_matches_the_example_config() {
        let unit = include_str!("../config/mnotify-intake.service");
        let example = include_str!("../config/mnotify-intake.example.toml");
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
        assert!(unit.contains("ExecStart=/usr/local/bin/mnotify-intake run\n"));
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
}
