//! Reading the raw sections into a validated [`Config`]: one method per section.

use super::raw::*;
use super::*;
use crate::intake::Language;

/// Reading one config file: its path (for messages) and the directory relative paths
/// are taken from. One method per section.
pub(super) struct Reading<'a> {
    pub(super) path: &'a Path,
    pub(super) base: &'a Path,
}

impl Reading<'_> {
    pub(super) fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    pub(super) fn invalid(&self, what: String) -> ConfigError {
        ConfigError::Invalid {
            config: self.path.into(),
            what,
        }
    }

    /// `[section] time_zone`, read once: `default` when absent.
    pub(super) fn time_zone(
        &self,
        section: &str,
        name: Option<String>,
        default: &jiff::tz::TimeZone,
    ) -> Result<jiff::tz::TimeZone, ConfigError> {
        match name {
            None => Ok(default.clone()),
            Some(name) => jiff::tz::TimeZone::get(&name).map_err(|_| {
                self.invalid(format!(
                    "[{section}] time_zone = \"{name}\" is not a known time zone; write it like \"Europe/Chisinau\""
                ))
            }),
        }
    }

    /// An optional file that must exist when named.
    pub(super) fn file(
        &self,
        key: &'static str,
        p: &Option<PathBuf>,
    ) -> Result<Option<PathBuf>, ConfigError> {
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

    pub(super) fn anchors(&self, raw: &RawTrust) -> Result<Vec<PathBuf>, ConfigError> {
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

    pub(super) fn trust(&self, raw: &RawTrust) -> Result<crate::trust::Policy, ConfigError> {
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
        let exchange_tenant = match raw.exchange_online_tenant.as_deref().map(str::trim) {
            None => None,
            Some(t) if is_guid(t) => Some(t.to_ascii_lowercase()),
            Some(t) => {
                return Err(self.invalid(format!(
                    "[trust] exchange_online_tenant = \"{t}\" is not a tenant id: write the \
                     GUID of your Microsoft 365 tenant (Entra admin center, Overview, Tenant ID; \
                     e.g. \"72f988bf-86f1-41af-91ab-2d7cd011db47\")"
                )))
            }
        };
        if authserv_ids.is_empty()
            && exchange_tenant.is_none()
            && senders != crate::trust::SenderRule::Off
        {
            return Err(self.invalid(format!(
                "[trust] senders = \"{}\" needs [trust] authserv_id: the id your receiving \
                 mail server writes in Authentication-Results (ask your mail administrator; \
                 e.g. authserv_id = \"mx.egov.md\"), or exchange_online_tenant when the \
                 mailbox is on Microsoft 365, or senders = \"off\" to answer \
                 unauthenticated mail (not for a public mailbox)",
                senders.code()
            )));
        }
        Ok(crate::trust::Policy {
            authserv_ids,
            exchange_tenant,
            senders,
        })
    }

    /// The mailbox address, and it with its aliases, lower case.
    pub(super) fn mailbox(&self, raw: &RawMailbox) -> Result<(String, Vec<String>), ConfigError> {
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

    pub(super) fn reply(
        &self,
        r: RawReply,
        agency: crate::reply::Agency,
    ) -> Result<ReplyConfig, ConfigError> {
        Ok(ReplyConfig {
            mode: r.mode.unwrap_or_default(),
            from_name: r.from_name.unwrap_or_else(|| agency.name.clone()),
            from_name_ru: r.from_name_ru.unwrap_or_else(|| agency.name_ru.clone()),
            from_name_en: r.from_name_en.unwrap_or_else(|| agency.name_en.clone()),
            agency,
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

    pub(super) fn digest(
        &self,
        d: RawDigest,
        has_smtp: bool,
        (agency, procedures, language): (
            &crate::reply::Agency,
            &crate::procedure::Catalogue,
            Language,
        ),
        response: &crate::case::clock::Promise,
        agency_zone: &jiff::tz::TimeZone,
    ) -> Result<DigestConfig, ConfigError> {
        for (code, to) in &d.services {
            if procedures.get(code).is_none() {
                let codes: Vec<&str> = procedures.iter().map(|p| p.code.as_str()).collect();
                return Err(self.invalid(format!(
                    "[digest.services] {code}: no such service; the services are {}",
                    codes.join(", ")
                )));
            }
            if to.is_empty() || to.iter().any(|a| !a.contains('@')) {
                return Err(self.invalid(format!(
                    "[digest.services] {code} must list staff e-mail addresses"
                )));
            }
        }
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
        let time_zone = self.time_zone("digest", d.time_zone, agency_zone)?;
        Ok(DigestConfig {
            to: d.to,
            at,
            time_zone,
            stalled_days: d.stalled_days.unwrap_or(7),
            expiring_days: d.expiring_days.unwrap_or(60),
            remind_days: d.remind_days.unwrap_or(7),
            agency_short: agency.short_name.clone(),
            language,
            response: response.clone(),
            services: d.services.into_iter().collect(),
            // Set once the whole config is read (it is [oauth2]'s).
            credential: None,
        })
    }

    /// `[procedures]`: the built-in procedures, the directory's files over them, the
    /// links over those; validated.
    pub(super) fn procedures(
        &self,
        raw: RawProcedures,
    ) -> Result<crate::procedure::Catalogue, ConfigError> {
        let mut files = Vec::new();
        if let Some(dir) = &raw.dir {
            let dir = self.resolve(dir);
            let entries = std::fs::read_dir(&dir).map_err(|e| {
                self.invalid(format!(
                    "[procedures] dir = {}: {e}; name a directory of procedure files (*.toml), relative to the config file",
                    dir.display()
                ))
            })?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    self.invalid(format!(
                        "cannot read procedure file {}: {e}",
                        path.display()
                    ))
                })?;
                files.push((path.display().to_string(), text));
            }
        }
        let unnamed = match raw.unnamed.as_deref() {
            None | Some("ask") => crate::procedure::Unnamed::Ask,
            Some(code) => crate::procedure::Unnamed::Service(code.to_string()),
        };
        crate::procedure::Catalogue::with_operator_files(files, &raw.links, unnamed)
            .map_err(|e| self.invalid(e.to_string()))
    }

    /// `[revocation]`: CRL files (which must exist) and fetching.
    pub(super) fn revocation(&self, r: RawRevocation) -> Result<CrlSources, ConfigError> {
        let mut files = Vec::new();
        for path in &r.crl_files {
            let path = self.resolve(path);
            if !path.is_file() {
                return Err(ConfigError::MissingFile {
                    config: self.path.into(),
                    key: "revocation] crl_files",
                    path,
                });
            }
            files.push(path);
        }
        let defaults = CrlSources::default();
        if r.refresh_hours == Some(0) || r.timeout_seconds == Some(0) || r.max_bytes == Some(0) {
            return Err(self.invalid(
                "[revocation] refresh_hours, timeout_seconds and max_bytes must be more than 0"
                    .into(),
            ));
        }
        Ok(CrlSources {
            files,
            fetch: r.fetch.unwrap_or(defaults.fetch),
            refresh: r.refresh_hours.map_or(defaults.refresh, |h| {
                std::time::Duration::from_secs(h * 3600)
            }),
            timeout: r
                .timeout_seconds
                .map_or(defaults.timeout, std::time::Duration::from_secs),
            max_bytes: r.max_bytes.unwrap_or(defaults.max_bytes),
        })
    }

    /// `[response_time]`: the promise and its calendar.
    pub(super) fn response_time(
        &self,
        r: RawResponseTime,
        agency_zone: &jiff::tz::TimeZone,
    ) -> Result<crate::case::clock::Promise, ConfigError> {
        let time_zone = self.time_zone("response_time", r.time_zone, agency_zone)?;
        let dates = |key: &str, list: Vec<String>| {
            list.into_iter()
                .map(|text| {
                    text.trim().parse::<jiff::civil::Date>().map_err(|_| {
                        self.invalid(format!(
                            "[response_time] {key}: \"{text}\" is not a date; write it like \"2027-01-02\""
                        ))
                    })
                })
                .collect::<Result<std::collections::BTreeSet<_>, _>>()
        };
        let working_days = r.working_days.unwrap_or(7);
        let at_risk_days = r.at_risk_days.unwrap_or(2);
        if working_days == 0 || at_risk_days >= working_days {
            return Err(self.invalid(format!(
                "[response_time] working_days = {working_days} with at_risk_days = {at_risk_days}: working_days must be at least 1 and more than at_risk_days"
            )));
        }
        Ok(crate::case::clock::Promise {
            working_days,
            at_risk_days,
            calendar: crate::calendar::Calendar {
                time_zone,
                holidays: r.holidays.unwrap_or_default(),
                extra_days_off: dates("extra_days_off", r.extra_days_off)?,
                extra_working_days: dates("extra_working_days", r.extra_working_days)?,
            },
        })
    }

    /// The control socket: as configured, or `<store path>.sock`.
    pub(super) fn control(&self, c: RawControl, store_path: &Path) -> ControlConfig {
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
pub(super) fn caps(reply: &RawReply, trust: &RawTrust) -> Caps {
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

impl Reading<'_> {
    /// `[metrics]`: the address must parse; limits default from the poll interval.
    pub(super) fn metrics(
        &self,
        m: super::raw::RawMetrics,
        imap: Option<&super::ImapConfig>,
    ) -> Result<super::MetricsConfig, ConfigError> {
        let listen = m.listen.parse().map_err(|_| {
            self.invalid(format!(
                "[metrics] listen = {:?} is not an address and port such as \"127.0.0.1:9464\"",
                m.listen
            ))
        })?;
        let poll = imap.map_or(DEFAULT_POLL_SECONDS, |i| i.poll_interval.as_secs());
        let defaults = crate::health::Limits::for_poll(poll);
        Ok(super::MetricsConfig {
            listen,
            limits: crate::health::Limits {
                imap_stale_seconds: m.imap_stale_seconds.unwrap_or(defaults.imap_stale_seconds),
                smtp_stale_seconds: m.smtp_stale_seconds.unwrap_or(defaults.smtp_stale_seconds),
            },
        })
    }
}

/// `[agency]` over today's names; signatures give the mailbox's address.
/// An old key still read, and the one that replaced it.
pub(super) struct Renamed {
    pub(super) section: &'static str,
    pub(super) key: &'static str,
    pub(super) now: &'static str,
    why: &'static str,
}

const ONE_ZONE: &str =
    "the agency's time zone is one key now (the digest's hour and the response clock alike)";
const ONE_NAME: &str =
    "the agency's name is written once now (it signs the replies and names their From: line)";

/// The old keys still read (an old key set beside the new one wins in its own section,
/// as before); the example config writes only their replacements.
pub(super) const STILL_READ: &[Renamed] = &[
    Renamed {
        section: "digest",
        key: "time_zone",
        now: "[agency] time_zone",
        why: ONE_ZONE,
    },
    Renamed {
        section: "response_time",
        key: "time_zone",
        now: "[agency] time_zone",
        why: ONE_ZONE,
    },
    Renamed {
        section: "reply",
        key: "from_name",
        now: "[agency] name",
        why: ONE_NAME,
    },
    Renamed {
        section: "reply",
        key: "from_name_ru",
        now: "[agency] name_ru",
        why: ONE_NAME,
    },
    Renamed {
        section: "reply",
        key: "from_name_en",
        now: "[agency] name_en",
        why: ONE_NAME,
    },
];

/// The old keys the file sets, each said with its replacement.
pub(super) fn renamed_keys(file: &toml::Table) -> Vec<String> {
    STILL_READ
        .iter()
        .filter(|r| {
            file.get(r.section)
                .and_then(|s| s.as_table())
                .is_some_and(|s| s.contains_key(r.key))
        })
        .map(|r| {
            format!(
                "[{}] {} is still read, but {}: write it as {}",
                r.section, r.key, r.why, r.now
            )
        })
        .collect()
}

pub(super) fn agency(raw: super::raw::RawAgency, mailbox: &str) -> crate::reply::Agency {
    let default = crate::reply::Agency::default();
    let or = |value: Option<String>, default: String| {
        value.filter(|v| !v.trim().is_empty()).unwrap_or(default)
    };
    crate::reply::Agency {
        name: or(raw.name, default.name),
        name_ru: or(raw.name_ru, default.name_ru),
        name_en: or(raw.name_en, default.name_en),
        short_name: or(raw.short_name, default.short_name),
        short_name_ru: or(raw.short_name_ru, default.short_name_ru),
        phone: or(raw.phone, default.phone),
        web: or(raw.web, default.web),
        mailbox: mailbox.to_string(),
    }
}

/// `8-4-4-4-12` hexadecimal digits, as Entra writes a tenant id.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
