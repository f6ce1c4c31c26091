//! `mnotify-intake check`: before the first `run` (and after every config change), try
//! each part the daemon needs — trust anchors, store, templates, the IMAP login and
//! folders, the SMTP login — and say what works and what to fix. Nothing is changed:
//! no mail sent or moved, and a folder that does not exist yet is only created to be
//! deleted again at once (the proof that the server accepts its name).

use std::fmt;
use std::path::Path;

use time::OffsetDateTime;

use crate::certificate::validate::TrustAnchors;
use crate::config::{Config, ReplyMode, TlsMode};
use crate::reply::Templates;
use crate::smtp::SmtpSender;
use crate::staff;
use crate::store::Store;

/// Trust anchors expiring within this many days are flagged.
const ANCHOR_WARNING_DAYS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warning,
    Failed,
}

/// One finding: which part, how it went, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub level: Level,
    pub part: &'static str,
    pub text: String,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.level {
            Level::Ok => "ok  ",
            Level::Warning => "WARN",
            Level::Failed => "FAIL",
        };
        write!(f, "  {mark}  {:<14} {}", self.part, self.text)
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    fn add(&mut self, level: Level, part: &'static str, text: impl Into<String>) {
        self.lines.push(Line {
            level,
            part,
            text: text.into(),
        });
    }

    pub fn failures(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| l.level == Level::Failed)
            .count()
    }
}

/// Runs every check; `now` judges the anchors' validity.
pub async fn check(config: &Config, now: OffsetDateTime) -> Report {
    let mut report = Report::default();
    for said in &config.renamed {
        report.add(Level::Warning, "config", said.clone());
    }
    anchors(config, now, &mut report);
    revocation(config, now, &mut report);
    let started = store(config, &mut report);
    templates(config, &mut report);
    procedures(config, &mut report);
    control(config, &mut report);
    oauth2(config, now, &mut report).await;
    console::console(config, &mut report).await;
    imap::imap(config, !started, &mut report).await;
    smtp(config, &mut report).await;
    routine(config, &mut report);
    report
}

/// `[oauth2]`: a token is fetched (and thrown away), and a certificate credential
/// close to its expiry is said before Entra refuses it.
async fn oauth2(config: &Config, now: OffsetDateTime, report: &mut Report) {
    let part = "OAuth2";
    let app = config.oauth2_app();
    let Some(app) = app else {
        return;
    };
    let who = format!(
        "client {} at {}",
        app.config().client_id,
        app.config().token_url
    );
    let fetched = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || app.token().map(drop)).await
    };
    match fetched {
        Ok(Ok(())) => report.add(Level::Ok, part, format!("app-only token fetched for {who}")),
        Ok(Err(e)) => report.add(Level::Failed, part, format!("{who}: {e}")),
        Err(e) => report.add(Level::Failed, part, format!("{who}: {e}")),
    }
    let secret = matches!(
        app.config().credential,
        crate::secret::oauth2::Credential::Secret { .. }
    );
    match crate::secret::oauth2::credential_expiry(app.config()) {
        Ok(Some(until)) => {
            let (level, text) = credential_expiry_said(secret, until, now);
            report.add(level, part, text);
        }
        Ok(None) => report.add(
            Level::Warning,
            part,
            "a client secret whose expiry is not written: set [oauth2] client_secret_expires to the date Entra shows (App registrations, Certificates & secrets), so that check, the digest and the metrics warn before it stops the mail",
        ),
        Err(e) => report.add(Level::Failed, part, e.to_string()),
    }
}

/// How `check` says a credential's expiry: fine, close (warned), or past (failed).
fn credential_expiry_said(
    secret: bool,
    until: OffsetDateTime,
    now: OffsetDateTime,
) -> (Level, String) {
    let what = if secret {
        "the client secret"
    } else {
        "the client certificate"
    };
    let renew = if secret {
        "make a new secret in the app registration, put it where [oauth2] client_secret reads it and set client_secret_expires"
    } else {
        "upload a new certificate to the app registration and set [oauth2] client_certificate and client_key"
    };
    let days = (until - now).whole_days();
    if until <= now {
        (
            Level::Failed,
            format!(
                "{what} expired on {}: no token can be had; {renew}",
                until.date()
            ),
        )
    } else if days < crate::digest::CREDENTIAL_WARNING_DAYS {
        (
            Level::Warning,
            format!("{what} expires on {} ({days} days): {renew}", until.date()),
        )
    } else {
        (
            Level::Ok,
            format!("{what} is valid until {} ({days} days)", until.date()),
        )
    }
}

fn anchors(config: &Config, now: OffsetDateTime, report: &mut Report) {
    let part = "trust anchors";
    let anchors = match TrustAnchors::load(&config.anchors) {
        Ok(a) => a,
        Err(e) => return report.add(Level::Failed, part, e.to_string()),
    };
    for a in anchors.iter() {
        let days_left = (a.not_after - now).whole_days();
        let what = format!("{} (valid until {})", a.subject, a.not_after.date());
        if a.not_after < now {
            report.add(
                Level::Failed,
                part,
                format!("{what} has expired: replace it in [trust] anchors"),
            );
        } else if !a.is_ca {
            report.add(
                Level::Warning,
                part,
                format!(
                    "{what} is not a CA certificate: it cannot have issued system certificates"
                ),
            );
        } else if days_left < ANCHOR_WARNING_DAYS {
            report.add(
                Level::Warning,
                part,
                format!("{what} expires in {days_left} days: get its successor from STISC"),
            );
        } else {
            report.add(Level::Ok, part, what);
        }
    }
}

/// `[revocation]`: each CRL file read and checked against the anchors (a fetched
/// distribution point is only known once a certificate names it).
fn revocation(config: &Config, now: OffsetDateTime, report: &mut Report) {
    let part = "revocation";
    let sources = &config.revocation;
    if !sources.checking() {
        return report.add(
            Level::Ok,
            part,
            "not checked ([revocation] names no CRL file and does not fetch): the registry's status alone counts",
        );
    }
    let anchors = TrustAnchors::load(&config.anchors).unwrap_or_default();
    for path in &sources.files {
        let source = path.display().to_string();
        let read = crate::revocation::Crl::read_file(path, &anchors);
        match read {
            Err(why) => report.add(
                Level::Failed,
                part,
                format!("{source}: {why}; get the current CRL from STISC"),
            ),
            Ok(crl) if crl.next_update.is_some_and(|n| n < now) => report.add(
                Level::Warning,
                part,
                format!(
                    "{source} of {} is out of date (next update was due {}): certificates of its issuer show as revocation unknown until a current one replaces it",
                    crl.issuer,
                    crl.next_update.map(|n| n.date().to_string()).unwrap_or_default()
                ),
            ),
            Ok(crl) => report.add(
                Level::Ok,
                part,
                format!(
                    "{source}: CRL of {}, {} listed, next update {}",
                    crl.issuer,
                    crl.entries.len(),
                    crl.next_update.map_or("not given".into(), |n| n.date().to_string())
                ),
            ),
        }
    }
    if sources.fetch {
        report.add(
            Level::Ok,
            part,
            format!(
                "distribution points of trusted certificates are fetched over HTTP (timeout {} s, at most {} bytes, again every {} h)",
                sources.timeout.as_secs(),
                sources.max_bytes,
                sources.refresh.as_secs() / 3600
            ),
        );
    }
}

/// Returns whether the daemon has run on this store (if not, the inbox is history).
fn store(config: &Config, report: &mut Report) -> bool {
    let part = "store";
    let path = &config.store_path;
    let free = crate::store::disk_free(path);
    if let Some(warning) = crate::health::disk_warning(free, config.keeping.min_free_bytes) {
        report.add(Level::Warning, part, warning);
    }
    if !path.exists() {
        store_creatable(path, report);
        return false;
    }
    match Store::open(path) {
        Ok(store) => {
            let known = store.load_registry().map(|r| r.len()).unwrap_or(0);
            let cases = store.cases().map(|c| c.len()).unwrap_or(0);
            let first = store.first_started().ok().flatten();
            let since = first.map_or("never run yet".to_string(), |t| {
                format!("daemon first started {}", t.date())
            });
            report.add(
                Level::Ok,
                part,
                format!(
                    "{}: {known} known certificates, {cases} cases, {since}",
                    path.display()
                ),
            );
            first.is_some()
        }
        Err(e) => match running_daemon(config) {
            Some(pid) => {
                report.add(
                    Level::Ok,
                    part,
                    format!(
                        "{} is held by the running daemon (pid {pid})",
                        path.display()
                    ),
                );
                true
            }
            None => {
                report.add(Level::Failed, part, e.to_string());
                false
            }
        },
    }
}

/// No store yet: the first run creates it and any missing directories above it, so
/// the nearest existing one must let the daemon write.
fn store_creatable(path: &Path, report: &mut Report) {
    let part = "store";
    let existing = path
        .ancestors()
        .skip(1)
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists());
    let refused = existing.and_then(|dir| {
        let probe = dir.join(format!(".mnotify-intake-check-{}", std::process::id()));
        std::fs::create_dir(&probe)
            .and_then(|()| std::fs::remove_dir(&probe))
            .err()
            .map(|e| (dir, e))
    });
    match refused {
        Some((dir, e)) => report.add(
            Level::Failed,
            part,
            format!(
                "the store {} cannot be created in {}: {e}; make it writable by the daemon's user",
                path.display(),
                dir.display()
            ),
        ),
        None => report.add(
            Level::Ok,
            part,
            format!(
                "no store at {} yet: created at the first run",
                path.display()
            ),
        ),
    }
}

/// The control socket: a daemon answers on it, or `run` can create it (its directory
/// exists, the group exists).
fn control(config: &Config, report: &mut Report) {
    let part = "control";
    let socket = &config.control.socket;
    if let Some(pid) = running_daemon(config) {
        return report.add(
            Level::Ok,
            part,
            format!("the daemon (pid {pid}) answers on {}", socket.display()),
        );
    }
    if let Some(group) = &config.control.group {
        if crate::control::peer::group_id(group).is_none() {
            return report.add(
                Level::Failed,
                part,
                format!("[control] group {group} does not exist: create it (groupadd {group}) and add the staff to it"),
            );
        }
    }
    let dir = socket.parent().unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        return report.add(
            Level::Failed,
            part,
            format!(
                "the directory of [control] socket {} does not exist: create it (systemd's RuntimeDirectory= does)",
                socket.display()
            ),
        );
    }
    let who = match &config.control.group {
        Some(g) => format!("the daemon's user and group {g} (0660)"),
        None => "only the daemon's user and root (0600; set [control] group for staff)".into(),
    };
    report.add(
        Level::Ok,
        part,
        format!(
            "{} will be created at the first run, for {who}",
            socket.display()
        ),
    );
}

/// The process id of the daemon answering on the control socket, if one does.
fn running_daemon(config: &Config) -> Option<String> {
    let ping = crate::control::ControlRequest {
        id: String::new(),
        case: String::new(),
        display_name: None,
        action: staff::StaffAction::Store(staff::StoreRequest::Ping),
    };
    match crate::control::client::ask(
        &config.control.socket,
        crate::control::client::Server::of_store(&config.store_path),
        &ping,
        std::time::Duration::from_secs(5),
    ) {
        Ok(crate::control::ControlReply::Done { text, .. }) => Some(text),
        _ => None,
    }
}

fn templates(config: &Config, report: &mut Report) {
    let part = "templates";
    let source = config
        .reply
        .templates
        .as_ref()
        .map_or("built-in".to_string(), |d| d.display().to_string());
    match Templates::for_config(&config.reply).and_then(|t| t.render_all()) {
        Ok(all) => report.add(
            Level::Ok,
            part,
            format!(
                "{source}: all {} replies and notices render in ro, ru and en",
                all.len()
            ),
        ),
        Err(e) => report.add(Level::Failed, part, format!("{source}: {e}")),
    }
}

/// `[procedures]`: the services served, each with its steps and where it came from
/// (the files were validated when the configuration was read).
fn procedures(config: &Config, report: &mut Report) {
    let catalogue = &config.procedures;
    // The open cases an edit would strand (the daemon refuses to start on them).
    if config.store_path.exists() {
        if let Ok(store) = Store::open(&config.store_path) {
            let cases = store.cases().unwrap_or_default();
            let strands = crate::case::strands(catalogue, &cases);
            if !strands.is_empty() {
                report.add(
                    Level::Failed,
                    "procedures",
                    crate::case::strands_message(&strands),
                );
            }
        }
    }
    let services: Vec<String> = catalogue
        .iter()
        .map(|p| format!("{} ({} steps, {})", p.tag, p.steps.len(), p.source))
        .collect();
    let unnamed = match &catalogue.unnamed {
        crate::procedure::Unnamed::Ask => {
            "a first mail naming no service is asked which".to_string()
        }
        crate::procedure::Unnamed::Service(code) => {
            format!("a first mail naming no service is taken for {code}")
        }
    };
    report.add(
        Level::Ok,
        "procedures",
        format!("{}; {unnamed}", services.join(", ")),
    );
}

async fn smtp(config: &Config, report: &mut Report) {
    let part = "SMTP";
    let needed = config.reply.mode == ReplyMode::Send || config.digest.is_some();
    let Some(smtp) = &config.smtp else {
        if needed {
            report.add(
                Level::Failed,
                part,
                "no [smtp] section, but replies (mode = \"send\") or digests need one",
            );
        }
        return;
    };
    let login = smtp
        .login
        .as_ref()
        .map_or("without login".to_string(), |(user, _)| {
            format!("as {user}")
        });
    let sender = match SmtpSender::new(smtp) {
        Ok(s) => s,
        Err(e) => return report.add(Level::Failed, part, e.to_string()),
    };
    match sender.check().await {
        Ok(()) => report.add(
            Level::Ok,
            part,
            format!(
                "logged in to {}:{} {login} ({}); no mail sent",
                smtp.host,
                smtp.port,
                tls_words(smtp.tls)
            ),
        ),
        Err(e) => report.add(
            Level::Failed,
            part,
            format!("{}:{} {login}: {e}", smtp.host, smtp.port),
        ),
    }
}

fn tls_words(tls: TlsMode) -> &'static str {
    match tls {
        TlsMode::Implicit => "implicit TLS",
        TlsMode::Starttls => "STARTTLS",
        TlsMode::None => "no TLS",
    }
}

fn routine(config: &Config, report: &mut Report) {
    let mode = match config.reply.mode {
        ReplyMode::Send => "send: replies go to applicants at once",
        ReplyMode::Draft => "draft: replies are saved in Drafts for staff to send",
        ReplyMode::Off => "off: no replies, mail is only filed and recorded",
    };
    report.add(Level::Ok, "replies", mode);
    match &config.digest {
        Some(d) => report.add(
            Level::Ok,
            "digest",
            format!(
                "daily at {:02}:{:02} {} to {}; reminders after {} days",
                d.at.0,
                d.at.1,
                d.time_zone.iana_name().unwrap_or("UTC"),
                d.to.join(", "),
                d.remind_days
            ),
        ),
        None => report.add(
            Level::Warning,
            "digest",
            "no [digest] section: no staff digest and no reminders to applicants",
        ),
    }
}

mod console;
mod imap;
#[cfg(test)]
mod tests;
