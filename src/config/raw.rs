//! The config file as written: one struct per section, unknown keys refused. The
//! field doc comments are the user documentation (the example config repeats them).

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) store: RawStore,
    pub(super) trust: RawTrust,
    #[serde(default)]
    pub(super) mailbox: RawMailbox,
    pub(super) imap: Option<RawImap>,
    pub(super) smtp: Option<RawSmtp>,
    #[serde(default)]
    pub(super) reply: RawReply,
    pub(super) digest: Option<RawDigest>,
    #[serde(default)]
    pub(super) control: RawControl,
    pub(super) metrics: Option<RawMetrics>,
    pub(super) web: Option<super::read_web::RawWeb>,
    #[serde(default)]
    pub(super) agency: RawAgency,
    #[serde(default)]
    pub(super) response_time: RawResponseTime,
    #[serde(default)]
    pub(super) revocation: RawRevocation,
    pub(super) oauth2: Option<RawOAuth2>,
    #[serde(default)]
    pub(super) procedures: RawProcedures,
}

/// `[procedures]`: the platform services' onboarding procedures (built in: MNotify,
/// MPass, MSign, MLog, MDocs).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProcedures {
    /// Directory of procedure files (`*.toml`), read over the built-in ones: a file
    /// with a built-in service's `code` replaces it, a new `code` adds a service.
    pub(super) dir: Option<PathBuf>,
    /// A first mail that names no service: `"ask"` (default: one reply asks which
    /// service, no case opened) or a service's code (taken as a request for it).
    pub(super) unnamed: Option<String>,
    /// `[procedures.links.<code>]`: links that replace a procedure's (`connection_form
    /// = "https://…"`).
    #[serde(default)]
    pub(super) links:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// `[oauth2]`: app-only access (the client-credentials grant), used by `[imap]` and
/// `[smtp]` when they name no password or oauth2_token of their own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth2 {
    /// The Microsoft 365 tenant (GUID or domain): the token URL is Entra ID's for it.
    pub(super) tenant: Option<String>,
    /// The token endpoint, for other providers (instead of `tenant`).
    pub(super) token_url: Option<String>,
    /// The application (client) id.
    pub(super) client_id: String,
    /// A client secret (env, file or command), or…
    pub(super) client_secret: Option<SecretSource>,
    /// The day the client secret expires ("2027-06-30", as Entra shows it): `check`,
    /// the digest and the metrics warn before fetching stops.
    pub(super) client_secret_expires: Option<String>,
    /// …a certificate (PEM or DER) and its PKCS#8 private key (PEM), files.
    pub(super) client_certificate: Option<PathBuf>,
    pub(super) client_key: Option<PathBuf>,
    /// Default "https://outlook.office365.com/.default".
    pub(super) scope: Option<String>,
    /// CA certificates (PEM) for the token URL, beside the system's.
    pub(super) ca_file: Option<PathBuf>,
}

/// `[revocation]`: the CAs' revocation lists. Absent: not checked (the registry's
/// status alone counts).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRevocation {
    /// CRL files (DER or PEM) of the STISC CAs, read again when they change.
    #[serde(default)]
    pub(super) crl_files: Vec<PathBuf>,
    /// Fetch the CRL distribution points named by certificates the STISC CAs signed,
    /// over HTTP. Default false.
    pub(super) fetch: Option<bool>,
    /// Hours before a fetched CRL is fetched again. Default 6.
    pub(super) refresh_hours: Option<u64>,
    /// Seconds a fetch may take. Default 10.
    pub(super) timeout_seconds: Option<u64>,
    /// Largest CRL accepted, in bytes. Default 20 MB.
    pub(super) max_bytes: Option<u64>,
}

/// `[response_time]`: what AGE promises, counted in working days.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResponseTime {
    /// Working days AGE has for its next step once it has everything it needs (and
    /// for an applicant's question). Default 7.
    pub(super) working_days: Option<u32>,
    /// A case with this many working days left, or fewer, is "at risk". Default 2.
    pub(super) at_risk_days: Option<u32>,
    /// Public holidays: "moldova" (default; Orthodox Easter computed) or "none".
    pub(super) holidays: Option<crate::calendar::Holidays>,
    /// More days off, "YYYY-MM-DD" (a holiday the government moved, the locality's hram).
    #[serde(default)]
    pub(super) extra_days_off: Vec<String>,
    /// Weekend days worked, "YYYY-MM-DD" (the other side of a moved holiday).
    #[serde(default)]
    pub(super) extra_working_days: Vec<String>,
    /// Where working days begin and end. Default "Europe/Chisinau".
    pub(super) time_zone: Option<String>,
}

/// `[agency]`: every key optional, the defaults are today's names.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgency {
    pub(super) name: Option<String>,
    pub(super) name_ru: Option<String>,
    pub(super) name_en: Option<String>,
    pub(super) short_name: Option<String>,
    pub(super) short_name_ru: Option<String>,
    /// What staff read: "ro" (default), "en" or "ru".
    pub(super) staff_language: Option<String>,
    /// The agency's local time: the digest's hour and the response clock's working
    /// days (default Europe/Chisinau).
    pub(super) time_zone: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) web: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    /// Address of the HTTP endpoint (`/metrics`, `/health`), e.g. "127.0.0.1:9464".
    pub(super) listen: String,
    /// `/health` fails when the last good IMAP exchange is older (default: three poll
    /// intervals, at least 10 minutes).
    pub(super) imap_stale_seconds: Option<u64>,
    /// `/health` fails when SMTP has failed for this long with replies waiting
    /// (default 900).
    pub(super) smtp_stale_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawControl {
    /// The daemon's control socket, where staff commands reach it. Default: beside the
    /// store, `<store path>.sock`.
    pub(super) socket: Option<PathBuf>,
    /// The group whose members may use it (mode 0660); without one only the daemon's
    /// user and root can (0600).
    pub(super) group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    /// Staff addresses that receive the daily digest.
    pub(super) to: Vec<String>,
    /// Local time of the daily digest, "HH:MM". Default "08:30".
    pub(super) at: Option<String>,
    /// Time zone of `at`. Default "Europe/Chisinau".
    pub(super) time_zone: Option<String>,
    /// A case waiting on the applicant this many days is listed as stalled. Default 7.
    pub(super) stalled_days: Option<u32>,
    /// Known certificates expiring within this many days are listed. Default 60.
    pub(super) expiring_days: Option<u32>,
    /// Applicants whose case has waited on them this many days get a reminder, at most
    /// once per this many days; 0 sends none. Default 7.
    pub(super) remind_days: Option<u32>,
    /// `[digest.services]`: staff who also get a digest of one service's cases
    /// (`mpass = ["mpass@egov.md"]`), beside the whole one `to` gets.
    #[serde(default)]
    pub(super) services: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImap {
    /// Server name or address.
    pub(super) host: String,
    /// Default 993 for implicit TLS, 143 for STARTTLS.
    pub(super) port: Option<u16>,
    /// `implicit` (default) or `starttls`.
    pub(super) tls: Option<TlsMode>,
    /// Extra CA certificate (PEM) for a server with a private certificate.
    pub(super) ca_file: Option<PathBuf>,
    pub(super) user: String,
    /// `{ env = "VAR" }`, `{ file = "path" }` or `{ command = "…" }`.
    pub(super) password: Option<SecretSource>,
    /// XOAUTH2 bearer token, same forms as `password` (Microsoft 365 accepts only this).
    pub(super) oauth2_token: Option<SecretSource>,
    /// Folder watched for applicants' mail. Default `INBOX`.
    pub(super) inbox: Option<String>,
    /// Where handled mail goes. Default `Processed`.
    pub(super) processed_folder: Option<String>,
    /// Where mail for people goes (not about MNotify, oversized); `""` leaves it in the
    /// inbox untouched. Default `Needs-Human`.
    pub(super) needs_human_folder: Option<String>,
    /// Where a copy of each reply sent is appended; `""` for none. Default `Sent`.
    pub(super) sent_folder: Option<String>,
    /// Where replies go in `draft` mode. Default `Drafts`.
    pub(super) drafts_folder: Option<String>,
    /// The folder the provider's filters put junk in (Exchange Online: "Junk Email").
    /// Default: the folder the server marks `\Junk` (SPECIAL-USE), if any; "" turns
    /// it off. Mail an authenticated institution sent that lands there is handled
    /// like inbox mail; the rest is left alone and counted.
    pub(super) junk_folder: Option<String>,
    /// Use IDLE when the server offers it. Default true.
    pub(super) idle: Option<bool>,
    /// Seconds between full scans of the inbox (the safety net under IDLE, or the
    /// polling interval without it). Default 60.
    pub(super) poll_seconds: Option<u64>,
    /// Mail already in the inbox at the first start: `leave` (default) or `handle`.
    pub(super) backlog: Option<Backlog>,
    /// Seconds an IMAP command may take before the connection is taken for dead and
    /// made again (a FETCH of whole messages gets five times as long). Default 120.
    pub(super) command_timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub(super) host: String,
    /// Default 587 for STARTTLS, 465 for implicit TLS, 25 without TLS.
    pub(super) port: Option<u16>,
    /// `starttls` (default), `implicit` or `none`.
    pub(super) tls: Option<TlsMode>,
    pub(super) ca_file: Option<PathBuf>,
    /// Login; without it mail is sent unauthenticated (a local relay).
    pub(super) user: Option<String>,
    pub(super) password: Option<SecretSource>,
    pub(super) oauth2_token: Option<SecretSource>,
    /// Seconds before the first retry of a transiently failed send; doubles per attempt,
    /// capped at one hour. Default 30.
    pub(super) retry_seconds: Option<u64>,
    /// Attempts before a reply is marked failed and reported. Default 10.
    pub(super) max_attempts: Option<u32>,
    /// Replies submitted at once, each on its own connection. More is faster; after a
    /// crash, the replies that were in the middle of submission can go out a second
    /// time, so this is also the most a crash can repeat. Default 8.
    pub(super) connections: Option<u32>,
    /// Messages submitted in any minute, all connections together (Exchange Online
    /// allows 30). Default 30; 0: no pace.
    pub(super) max_per_minute: Option<u32>,
    /// Recipients in any 24 hours (Exchange Online allows 10,000); counted in the
    /// store, so a restart does not reset it. Default 10,000; 0: no ceiling.
    pub(super) max_recipients_per_day: Option<u32>,
    /// Seconds sending pauses after the server says the quota is used up (Exchange's
    /// 554 5.2.0 SubmissionQuotaExceededException and the like). Default 300.
    pub(super) quota_pause_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReply {
    /// `send` (default), `draft` (the safe start on a live mailbox) or `off`.
    pub(super) mode: Option<ReplyMode>,
    /// Display name on replies. Default "Agenția de Guvernare Electronică".
    pub(super) from_name: Option<String>,
    /// Display name on Russian replies. Default `[agency] name_ru`.
    pub(super) from_name_ru: Option<String>,
    /// Display name on English replies. Default `[agency] name_en`.
    pub(super) from_name_en: Option<String>,
    /// Automatic replies to one address per day, at most. Default 5.
    pub(super) max_per_recipient_per_day: Option<u32>,
    /// Messages larger than this (bytes) are not read; the sender is told the limit.
    /// Default 25 MB.
    pub(super) max_message_bytes: Option<u64>,
    /// Directory with `{ro,ru,en}/reply.txt` to use instead of the built-in templates,
    /// so staff can edit wording without a rebuild.
    pub(super) templates: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    /// Directory of the embedded sled database (cases, registry, messages seen). Created
    /// on first use.
    pub(super) path: PathBuf,
    /// Directory of the backups (default: `<path>.backups`).
    pub(super) backups: Option<PathBuf>,
    /// Daily backups kept (default 7; 0: no daily backups).
    pub(super) keep_backups: Option<u32>,
    /// Days personal data is kept (default 365; 0: kept forever).
    pub(super) retention_days: Option<u32>,
    /// Held mail (sender not authenticated) kept whole for `held accept`, at most this
    /// many messages (default 200); past it only the record is kept.
    pub(super) held_max_messages: Option<u64>,
    /// …and at most this many megabytes of it (default 100).
    pub(super) held_max_mb: Option<u64>,
    /// Days a held mail's bytes are kept (default 30); after, `held accept` reads it
    /// again from the Needs-Human folder.
    pub(super) held_retention_days: Option<u32>,
    /// `/health`, the metrics and `check` warn when the store's disk has less free
    /// space than this, in megabytes (default 512).
    pub(super) min_free_mb: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    /// Certificate files (PEM, DER or PKCS#7) of the trusted STISC issuing and root CAs.
    pub(super) anchors: Vec<PathBuf>,
    /// The authserv-id(s) our own receiving server writes in `Authentication-Results`
    /// (one string or a list): only those fields, on top of a message, are believed.
    pub(super) authserv_id: Option<OneOrMany>,
    /// The Microsoft 365 tenant (its GUID) whose Exchange Online receives our mail: its
    /// id-less `Authentication-Results` above its front door are believed.
    pub(super) exchange_online_tenant: Option<String>,
    /// `require` (default): mail whose sender is not authenticated changes nothing and
    /// is filed for staff; `flag`: processed and marked for staff; `off`: not checked.
    pub(super) senders: Option<crate::trust::SenderRule>,
    /// Automatic replies about one case per day, whoever writes. Default 10.
    pub(super) max_replies_per_case_per_day: Option<u32>,
    /// Automatic replies to one organizational domain per day. Default 50.
    pub(super) max_replies_per_domain_per_day: Option<u32>,
    /// Automatic replies per clock hour, to everyone together. Default 300.
    pub(super) max_replies_per_hour: Option<u32>,
}

/// A key that takes one string or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    /// The shared mailbox's address; mail from it is our own and never answered.
    pub(super) address: Option<String>,
    /// Other addresses of ours (aliases, the staff digest sender).
    #[serde(default)]
    pub(super) aliases: Vec<String>,
}

#[cfg(test)]
mod tests {
    //! The example config documents every key the code reads, and no other: each
    //! section's keys are asked of its struct (serde names them when it refuses an
    //! unknown one) and compared with the keys the example writes, set or commented.
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// The keys `T` accepts, from serde's refusal of one it does not.
    fn keys_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(wrap: &str) -> BTreeSet<String> {
        let probe = wrap.replace("PROBE", "__probe__ = 1");
        let error = toml::from_str::<T>(&probe).expect_err("the probe is refused");
        let text = error.to_string();
        let listed = text
            .split_once("expected one of ")
            .or_else(|| text.split_once("expected "))
            .unwrap_or_else(|| panic!("no key list in {text}"))
            .1;
        listed
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    /// `(section, key)` of every `key = …` line of the example, set or commented out,
    /// under the `[section]` (or `# [section]`) above it.
    fn example_keys() -> BTreeMap<String, BTreeSet<String>> {
        let text = include_str!("../../config/mnotify-intake.example.toml");
        let header = regex::Regex::new(r"^(?:# )?\[([a-z0-9_.]+)\]\s*(?:#.*)?$").unwrap();
        let key = regex::Regex::new(r"^(?:# )?([a-z][a-z0-9_]*) = ").unwrap();
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut section = String::new();
        for line in text.lines() {
            if let Some(c) = header.captures(line) {
                section = c[1].to_string();
            } else if let Some(c) = key.captures(line) {
                out.entry(section.clone())
                    .or_default()
                    .insert(c[1].to_string());
            }
        }
        out
    }

    #[test]
    fn the_example_config_documents_every_key_and_only_those() {
        let code: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
            ("store", keys_of::<RawStore>("PROBE")),
            ("trust", keys_of::<RawTrust>("PROBE")),
            ("mailbox", keys_of::<RawMailbox>("PROBE")),
            ("imap", keys_of::<RawImap>("PROBE")),
            ("smtp", keys_of::<RawSmtp>("PROBE")),
            ("reply", keys_of::<RawReply>("PROBE")),
            ("procedures", keys_of::<RawProcedures>("PROBE")),
            ("digest", keys_of::<RawDigest>("PROBE")),
            ("control", keys_of::<RawControl>("PROBE")),
            ("metrics", keys_of::<RawMetrics>("PROBE")),
            ("web", keys_of::<super::super::read_web::RawWeb>("PROBE")),
            (
                "web.oidc",
                keys_of::<super::super::read_web::RawWeb>("[oidc]\nPROBE"),
            ),
            ("agency", keys_of::<RawAgency>("PROBE")),
            ("response_time", keys_of::<RawResponseTime>("PROBE")),
            ("revocation", keys_of::<RawRevocation>("PROBE")),
            ("oauth2", keys_of::<RawOAuth2>("PROBE")),
        ]);
        let sections = keys_of::<RawConfig>("PROBE");
        let documented = example_keys();
        let mut faults = Vec::new();
        for section in &sections {
            if !code.contains_key(section.as_str()) {
                faults.push(format!("[{section}]: the test does not know its struct"));
            }
        }
        for (section, keys) in &code {
            // Tables of their own are not keys of the section.
            let tables: BTreeSet<&str> = code
                .keys()
                .filter_map(|s| s.strip_prefix(&format!("{section}.")))
                .collect();
            let written = documented.get(*section).cloned().unwrap_or_default();
            for key in keys {
                let free_table = matches!(
                    (*section, key.as_str()),
                    ("procedures", "links") | ("digest", "services")
                );
                let old = super::super::read::STILL_READ
                    .iter()
                    .any(|r| (r.section, r.key) == (*section, key.as_str()));
                if old && written.contains(key) {
                    faults.push(format!(
                        "[{section}] {key}: replaced, yet the example still writes it"
                    ));
                }
                if !written.contains(key) && !tables.contains(key.as_str()) && !free_table && !old {
                    faults.push(format!(
                        "[{section}] {key}: read by the code, not in the example"
                    ));
                }
            }
            for key in &written {
                if !keys.contains(key) {
                    faults.push(format!(
                        "[{section}] {key}: in the example, not read by the code"
                    ));
                }
            }
        }
        for section in documented.keys() {
            let free = section.starts_with("procedures.links.")
                || section == "digest.services"
                || section.is_empty();
            if !code.contains_key(section.as_str()) && !free {
                faults.push(format!(
                    "[{section}]: in the example, not a section the code reads"
                ));
            }
        }
        assert!(faults.is_empty(), "{}", faults.join("\n"));
    }
}
