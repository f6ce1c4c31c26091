//! `mnotify-intake cases …` and `digest …`: what AGE staff use to follow and move
//! onboarding cases. Every request goes to the running daemon over its control socket
//! (`mnotify_intake::control`), or, when no daemon listens, to the store directly, so
//! the commands work whether the daemon runs or not.

use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Subcommand, ValueEnum};
use mnotify_intake::case::{Case, Step};
use mnotify_intake::config::Config;
use mnotify_intake::control::{self, ControlReply, ControlRequest};
use mnotify_intake::reply::Templates;
use mnotify_intake::staff::words::{say, word};
use mnotify_intake::staff::{self, CaseAction, Request, StaffAction, StoreRequest};
use mnotify_intake::store::Store;
use time::OffsetDateTime;

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// The cases, one line each: where each stands and who it waits on.
    List {
        /// Only cases waiting on this party.
        #[arg(long, value_enum)]
        waiting_on: Option<WaitingOn>,
        /// Only open cases with no change for at least this many days.
        #[arg(long, value_name = "DAYS")]
        stalled: Option<u32>,
        /// Only cases past AGE's promised response time or at risk of it
        /// (`[response_time]`), the latest first.
        #[arg(long)]
        overdue: bool,
        /// Only cases of this service (`mnotify`, `mpass`, `msign`, `mlog`, `mdocs`, or
        /// a configured one).
        #[arg(long, value_name = "CODE")]
        service: Option<String>,
        /// Judge at this time (RFC 3339, e.g. 2026-12-07T09:00:00Z) instead of now:
        /// what will be overdue by then.
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One case: its checklist (when, by whom, on what evidence) and its timeline.
    Show {
        /// The case token, e.g. 5N0E6F (as in the subject "[MNotify #5N0E6F]").
        id: String,
        /// Show the text of our automatic replies in the conversation too (folded to
        /// their subject otherwise).
        #[arg(long)]
        full: bool,
    },
    /// Record a step as done; the applicant is told, with the next step. On
    /// `production` the completion notice goes out.
    ///
    /// Steps: form, contract, certificate, integration_data, test_access (needs the
    /// first four), operational_tests (needs test_access), production (needs
    /// operational_tests).
    Advance {
        /// The case token, e.g. 5N0E6F.
        id: String,
        /// The step done: form, contract, certificate, integration_data, test_access,
        /// operational_tests or production.
        #[arg(value_parser = parse_step)]
        step: Step,
        /// Evidence or remark kept with the step (e.g. "contract nr. 17/2026").
        #[arg(long)]
        note: Option<String>,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
        /// Record the step although its prerequisites are not done; needs --note
        /// saying why.
        #[arg(long, requires = "note")]
        force: bool,
        /// Show the case, what is missing and the notice the applicant would get;
        /// change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Count mail from this address or domain as the case's institution's (e.g. a
    /// colleague writing from another domain of the institution).
    Allow {
        /// The case token, e.g. 5N0E6F.
        id: String,
        /// An address (it@primaria.md) or a domain (primaria.md).
        member: String,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
    /// Add a note to a case's timeline (the applicant is not told).
    Note {
        /// The case token, e.g. 5N0E6F.
        id: String,
        /// The note, e.g. "called them: the contract is signed, the scan follows".
        text: String,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
    /// Mark the applicant's open question answered (after writing or calling them);
    /// the case no longer waits on the agency for it. `cases list --waiting-on age`
    /// and the digest list open questions.
    Answered {
        /// The case token, e.g. 5N0E6F.
        id: String,
        /// How it was answered (kept on the timeline), e.g. "replied by mail".
        #[arg(long)]
        note: Option<String>,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
    /// Answer the case's applicant: the text of FILE (`-` reads standard input),
    /// signed by the agency, threaded to their last mail, with the case tag in the
    /// subject; sent through the outbox, on the case's conversation under your name,
    /// and an open question marked answered. It goes only to the case's applicant.
    Reply {
        /// The case token, e.g. 5N0E6F.
        id: String,
        /// The answer's text (UTF-8), or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        file: std::path::PathBuf,
        /// A copy to this address, one added to the case with `cases allow` (repeat
        /// for several).
        #[arg(long, value_name = "ADDRESS")]
        cc: Vec<String>,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
        /// Show the answer as the applicant will receive it; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo a step (e.g. a certificate revoked after it was accepted).
    Reopen {
        /// The case token, e.g. 5N0E6F.
        id: String,
        /// The step to undo: form, contract, certificate, integration_data, test_access,
        /// operational_tests or production.
        #[arg(value_parser = parse_step)]
        step: Step,
        /// Why (kept on the timeline), e.g. "certificate revoked by STISC".
        #[arg(long)]
        note: Option<String>,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
    /// Merge case FROM into case INTO: the same institution's same information system
    /// written about twice. INTO gets FROM's steps it lacks, certificates, thread and
    /// question; FROM is closed, and mail naming it joins INTO. Both timelines say so.
    Merge {
        /// The case that stays, e.g. 5N0E6F.
        into: String,
        /// The case merged into it and closed.
        from: String,
        /// Why (kept on both timelines), e.g. "the same system, written twice".
        #[arg(long)]
        note: Option<String>,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
    /// Split a new case off ID for another information system of the same
    /// institution (one case muddled two): same applicant, nothing done yet. Both
    /// timelines say so.
    Split {
        /// The case that muddles two systems, e.g. 5N0E6F.
        id: String,
        /// The other system's name in MPass: mail naming it joins the new case.
        #[arg(long)]
        system: Option<String>,
        /// Why (kept on both timelines).
        #[arg(long)]
        note: Option<String>,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
    /// All cases as CSV, one row each, a column per step with the date it was done.
    Export {
        /// CSV (the only format; the flag says what you get).
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaitingOn {
    Applicant,
    Age,
}

/// A step's code; whether the case's service has it is checked with the case
/// (`cases show` lists its steps).
fn parse_step(s: &str) -> Result<Step, String> {
    let plausible = (2..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if plausible {
        Ok(Step::named(s))
    } else {
        let codes: Vec<&str> = Step::MNOTIFY.iter().map(|s| s.code()).collect();
        Err(format!(
            "`{s}` is not a step code; MNotify's steps are {} (`cases show ID` lists a case's)",
            codes.join(", ")
        ))
    }
}

mod view;

use view::Filter;

pub fn run(config: &Config, command: CasesCommand) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    match command {
        CasesCommand::List {
            waiting_on,
            stalled,
            overdue,
            service,
            now: at,
            json,
        } => {
            let filter = Filter {
                waiting_on,
                stalled,
                overdue,
                service: service.map(|s| s.to_ascii_lowercase()),
            };
            view::list(config, filter, json, crate::cli::parse_now(at.as_deref())?)
        }
        CasesCommand::Show { id, full } => view::show(config, &id, full, now),
        CasesCommand::Export { csv: _ } => view::export(config),
        CasesCommand::Advance {
            id,
            step,
            note,
            by,
            force,
            dry_run,
        } => {
            let action = CaseAction::Advance { step, note, force };
            if dry_run {
                return preview(config, &id, by, action, now);
            }
            change(config, &id, by, action, now)
        }
        CasesCommand::Allow { id, member, by } => {
            change(config, &id, by, CaseAction::Allow { member }, now)
        }
        CasesCommand::Note { id, text, by } => {
            change(config, &id, by, CaseAction::Note { text }, now)
        }
        CasesCommand::Answered { id, note, by } => {
            change(config, &id, by, CaseAction::Answered { note }, now)
        }
        CasesCommand::Reply {
            id,
            file,
            cc,
            by,
            dry_run,
        } => {
            let action = CaseAction::Reply {
                text: answer_text(&file)?,
                cc,
            };
            if dry_run {
                return preview(config, &id, by, action, now);
            }
            change(config, &id, by, action, now)
        }
        CasesCommand::Reopen { id, step, note, by } => {
            change(config, &id, by, CaseAction::Reopen { step, note }, now)
        }
        CasesCommand::Merge {
            into,
            from,
            note,
            by,
        } => change(config, &into, by, CaseAction::Merge { from, note }, now),
        CasesCommand::Split {
            id,
            system,
            note,
            by,
        } => change(config, &id, by, CaseAction::Split { system, note }, now),
    }
}

/// The text of a staff answer: the file, or standard input for `-`.
fn answer_text(file: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let limit = staff::MAX_ANSWER_BYTES as u64 + 1;
    if file == std::path::Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("reading the answer from standard input")?;
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .with_context(|| format!("reading the answer from {}", file.display()))?;
    }
    if bytes.len() > staff::MAX_ANSWER_BYTES {
        bail!(
            "{}: the answer is over {} bytes; shorten it",
            file.display(),
            staff::MAX_ANSWER_BYTES
        );
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is not UTF-8 text: save the answer as UTF-8 and try again",
            file.display()
        )
    })?;
    Ok(text.replace("\r\n", "\n"))
}

/// Every case: from the running daemon, or from the store when it is stopped.
fn load(config: &Config) -> Result<Vec<Case>> {
    let (json, _) = ask(config, "", StaffAction::Store(StoreRequest::Cases), None)?;
    serde_json::from_str(&json).context("reading the cases")
}

/// The case `id` (read alone, not with every other case).
fn find(config: &Config, id: &str) -> Result<Case> {
    let token = id.trim_start_matches('#').to_ascii_uppercase();
    let (json, _) = ask(
        config,
        &token,
        StaffAction::Store(StoreRequest::Cases),
        None,
    )?;
    let cases: Vec<Case> = serde_json::from_str(&json).context("reading the case")?;
    cases
        .into_iter()
        .find(|c| c.token == token)
        .with_context(|| format!("no case #{token}; `mnotify-intake cases list` shows the cases"))
}

/// Applies a change to a case (through the running daemon, or to the store when it is
/// stopped), after the same checks the daemon makes, saying whose case it is.
fn change(
    config: &Config,
    id: &str,
    by: Option<String>,
    action: CaseAction,
    _now: OffsetDateTime,
) -> Result<ExitCode> {
    let token = id.trim_start_matches('#').to_ascii_uppercase();
    // A name the daemon would refuse is said first, whatever the case.
    control::recorded_as("", 0, by.as_deref())?;
    let case = find(config, &token)?;
    let procedure = config.procedures.procedure_of(&case.service);
    if let Some(reason) = staff::refusal(&case, procedure, &action, config.staff_language) {
        bail!("{reason}");
    }
    let action = staff::forced_note(&case, procedure, action);
    let language = config.staff_language;
    let owner = case.owner();
    let head = [
        ("case", case.token.as_str()),
        ("owner", owner.as_str()),
        ("applicant", case.applicant.as_str()),
    ];
    println!("{}", say("preview_head", language, &head));
    let answered = ask_for(config, &token, action.into(), by)?;
    println!("{}", answered.text);
    if !answered.by_daemon && answered.notice_queued {
        println!("{}", word("notice_later", language));
    }
    Ok(ExitCode::SUCCESS)
}

/// `cases advance --dry-run`: the case, what is missing, and the notice the applicant
/// would get; nothing is changed.
fn preview(
    config: &Config,
    id: &str,
    by: Option<String>,
    action: CaseAction,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let token = id.trim_start_matches('#').to_ascii_uppercase();
    let case = find(config, &token)?;
    let language = config.staff_language;
    println!(
        "{}",
        say(
            "preview_head",
            language,
            &[
                ("case", &case.token),
                ("owner", &case.owner()),
                ("applicant", &case.applicant),
            ],
        )
    );
    let (user, uid) = control::peer::current_user();
    let by = control::recorded_as(&user, uid, by.as_deref())?;
    let templates = Templates::for_config(&config.reply)?;
    let preview = staff::preview(config, &templates, &case, action, &by, language, now)?;
    if let Some(reason) = &preview.refused {
        println!("{}", say("refused", language, &[("reason", reason)]));
    }
    println!(
        "{}",
        say(
            "would_record",
            language,
            &[
                ("what", &preview.would),
                ("by", &preview.request.by),
                (
                    "next",
                    preview.next.map_or(word("completed", language), Step::code),
                ),
            ],
        )
    );
    match &preview.notice {
        Some(n) => {
            println!("{}", say("notice_to", language, &[("to", &n.to)]));
            println!(
                "{}",
                say("notice_subject", language, &[("subject", &n.subject)])
            );
            if let Some(id) = &n.in_reply_to {
                println!("{}", say("notice_thread", language, &[("id", id)]));
            }
            println!("\n{}", n.text);
        }
        None => println!("{}", word("no_notice", language)),
    }
    println!("{}", word("dry_run", language));
    Ok(if preview.refused.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// How long a command waits for the daemon's answer (a registry import of tens of
/// thousands of certificates takes seconds).
const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs a store-wide request (digest, status, registry import, reads): through the
/// running daemon, or right here when it is stopped. Returns the answer and whether
/// the daemon gave it.
pub fn store_request(config: &Config, action: StaffAction) -> Result<(String, bool)> {
    ask(config, "", action, None)
}

/// [`store_request`] with a display name (`--by`) shown beside the user.
pub fn store_request_by(
    config: &Config,
    action: StaffAction,
    by: Option<String>,
) -> Result<(String, bool)> {
    ask(config, "", action, by)
}

/// One request: to the daemon over its control socket (it records the user from the
/// socket's credentials), or, when no daemon listens, to the store directly as this
/// process's user. A refusal is an error with the reason.
pub(super) fn ask(
    config: &Config,
    case: &str,
    action: StaffAction,
    display_name: Option<String>,
) -> Result<(String, bool)> {
    ask_for(config, case, action, display_name).map(|a| (a.text, a.by_daemon))
}

/// What a request got: the text to print, whether the daemon gave it, and whether a
/// notice to the applicant was queued.
pub(super) struct Answered {
    text: String,
    by_daemon: bool,
    notice_queued: bool,
}

fn ask_for(
    config: &Config,
    case: &str,
    action: StaffAction,
    display_name: Option<String>,
) -> Result<Answered> {
    let request = ControlRequest {
        id: mnotify_intake::record::fresh_id()?,
        case: case.to_string(),
        display_name,
        action,
    };
    let server = control::client::Server::of_store(&config.store_path);
    match control::client::ask(&config.control.socket, server, &request, ANSWER_WAIT) {
        Ok(ControlReply::Done {
            text,
            notice_queued,
        }) => Ok(Answered {
            text,
            by_daemon: true,
            notice_queued,
        }),
        Ok(ControlReply::Refused { reason }) => bail!("{reason}"),
        Err(control::client::ClientError::NotRunning { .. }) => {
            let done = directly(config, request)?;
            Ok(Answered {
                by_daemon: false,
                notice_queued: done.notice_queued(),
                text: done.into_text(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// A request applied to the store by this command (the daemon is not running).
fn directly(config: &Config, asked: ControlRequest) -> Result<staff::Done> {
    if !config.store_path.exists() {
        match asked.action {
            StaffAction::Store(StoreRequest::Cases) => return Ok(staff::Done::Json("[]".into())),
            StaffAction::Store(StoreRequest::Registry) => return Ok(staff::Done::Registry(Vec::new())),
            _ if !asked.case.is_empty() => bail!(
                "no store at {} yet, so no case #{}; cases open when applicants write",
                config.store_path.display(),
                asked.case
            ),
            // Importing the registry before the first start is how a deployment begins.
            StaffAction::Store(StoreRequest::RegistryImport { .. }) => {}
            // Nothing to show or do, and nothing is created: a mistyped [store] path
            // must not leave an empty store behind.
            _ => bail!(
                "no store at {}: the daemon has not run with this config yet (check [store] path, or start the daemon)",
                config.store_path.display()
            ),
        }
    }
    let store = Store::open(&config.store_path).with_context(|| {
        format!(
            "no daemon answers on {}, and the store cannot be opened",
            config.control.socket.display()
        )
    })?;
    let now = OffsetDateTime::now_utc();
    let (user, uid) = control::peer::current_user();
    let request = Request {
        id: asked.id,
        at: now,
        by: control::recorded_as(&user, uid, asked.display_name.as_deref())?,
        case: asked.case.trim_start_matches('#').to_ascii_uppercase(),
        action: asked.action,
    };
    // The one staff service, here on the store itself: no mail loop to wake (the
    // daemon acts on what changed when it runs).
    let service = staff::Service {
        store,
        config: config.clone(),
        templates: Templates::for_config(&config.reply)?,
        poke: Default::default(),
        registry_changed: Default::default(),
    };
    let answer = service.submit(&request, config.staff_language, now)?;
    service.store.flush()?;
    match answer {
        staff::Answer::Done(done) => Ok(done),
        staff::Answer::Refused(reason) => bail!("{reason}"),
    }
}

/// `digest --print [--html]` / `digest --send`.
pub fn digest(config: &Config, send: bool, html: bool) -> Result<ExitCode> {
    if config.digest.is_none() {
        bail!("no [digest] section in {}: add one with the staff addresses (see config/mnotify-intake.example.toml)", config.source.display());
    }
    let (text, by_daemon) = store_request(
        config,
        StaffAction::Store(StoreRequest::Digest { send, html }),
    )?;
    if send {
        let said = if by_daemon {
            "digest_queued_now"
        } else {
            "digest_queued_later"
        };
        println!("{}", word(said, config.staff_language));
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}
