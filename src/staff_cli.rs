//! `mnotify-intake cases …` and `digest …`: what AGE staff use to follow and move
//! onboarding cases. Reads come from the store, or from the daemon's snapshot while it
//! holds the store; changes (and digests) go through the request spool (see
//! `mnotify_intake::staff`), so they work whether the daemon runs or not.

use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Subcommand, ValueEnum};
use mnotify_intake::case::{Case, Party, Step};
use mnotify_intake::config::Config;
use mnotify_intake::process::Settings;
use mnotify_intake::reply::Templates;
use mnotify_intake::staff::{self, Outcome, Request, StaffAction};
use mnotify_intake::store::Store;
use time::format_description::well_known::Rfc3339;
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
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One case: its checklist (when, by whom, on what evidence) and its timeline.
    Show {
        /// The case token, e.g. 5N0E6F (as in the subject "[MNotify #5N0E6F]").
        id: String,
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
        /// Who did it (default: $USER).
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
        /// Who decided it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Add a note to a case's timeline (the applicant is not told).
    Note {
        id: String,
        text: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Undo a step (e.g. a certificate revoked after it was accepted).
    Reopen {
        id: String,
        #[arg(value_parser = parse_step)]
        step: Step,
        #[arg(long)]
        note: Option<String>,
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

fn parse_step(s: &str) -> Result<Step, String> {
    Step::from_code(s).ok_or_else(|| {
        let codes: Vec<&str> = Step::ALL.iter().map(|s| s.code()).collect();
        format!("unknown step `{s}`; steps are: {}", codes.join(", "))
    })
}

pub fn run(config: &Config, command: CasesCommand) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    match command {
        CasesCommand::List {
            waiting_on,
            stalled,
            json,
        } => list(config, waiting_on, stalled, json, now),
        CasesCommand::Show { id } => show(config, &id),
        CasesCommand::Export { csv: _ } => export(config),
        CasesCommand::Advance {
            id,
            step,
            note,
            by,
            force,
            dry_run,
        } => {
            let action = StaffAction::Advance { step, note, force };
            if dry_run {
                return preview(config, &id, by, action, now);
            }
            change(config, &id, by, action, now)
        }
        CasesCommand::Allow { id, member, by } => {
            change(config, &id, by, StaffAction::Allow { member }, now)
        }
        CasesCommand::Note { id, text, by } => {
            change(config, &id, by, StaffAction::Note { text }, now)
        }
        CasesCommand::Reopen { id, step, note, by } => {
            change(config, &id, by, StaffAction::Reopen { step, note }, now)
        }
    }
}

/// The cases, from the store or, while the daemon holds it, from its snapshot.
fn load(config: &Config) -> Result<Vec<Case>> {
    if !config.store_path.exists() {
        return Ok(Vec::new());
    }
    match Store::open(&config.store_path) {
        Ok(store) => Ok(store.cases()?),
        Err(open_error) => {
            let path = staff::snapshot_path(&config.store_path);
            match staff::read_snapshot(&path)? {
                Some(snapshot) => {
                    eprintln!(
                        "mnotify-intake: note: the daemon holds the store; showing its snapshot of {}",
                        snapshot.written_at.format(&Rfc3339).unwrap_or_default()
                    );
                    Ok(snapshot.cases)
                }
                None => Err(open_error.into()),
            }
        }
    }
}

fn find(cases: Vec<Case>, id: &str) -> Result<Case> {
    let token = id.trim_start_matches('#').to_ascii_uppercase();
    cases
        .into_iter()
        .find(|c| c.token == token)
        .with_context(|| format!("no case #{token}; `mnotify-intake cases list` shows the cases"))
}

fn days_since(t: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (now - t).whole_days()
}

fn list(
    config: &Config,
    waiting_on: Option<WaitingOn>,
    stalled: Option<u32>,
    json: bool,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let mut cases: Vec<Case> = load(config)?
        .into_iter()
        .filter(|c| match waiting_on {
            None => true,
            Some(WaitingOn::Applicant) => c.waiting_on() == Some(Party::Applicant),
            Some(WaitingOn::Age) => c.waiting_on() == Some(Party::Age),
        })
        .filter(|c| {
            stalled.is_none_or(|days| {
                c.next_step().is_some() && days_since(c.updated_at, now) >= i64::from(days)
            })
        })
        .collect();
    cases.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
    if json {
        for c in &cases {
            let value = serde_json::json!({
                "id": c.token,
                "applicant": c.applicant,
                "language": c.language.code(),
                "next_step": c.next_step().map(Step::code),
                "waiting_on": c.waiting_on().map(Party::code),
                "steps_done": c.done.keys().map(|s| s.code()).collect::<Vec<_>>(),
                "opened_at": c.opened_at.format(&Rfc3339).unwrap_or_default(),
                "updated_at": c.updated_at.format(&Rfc3339).unwrap_or_default(),
                "last_decision": c.last_decision.map(|d| d.code()),
                "unreachable": c.unreachable,
            });
            println!("{value}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if cases.is_empty() {
        println!("no cases match");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<8} {:<32} {:<5} {:<20} {:<10} {:>5}",
        "CASE", "APPLICANT", "DONE", "NEXT STEP", "WAITING", "IDLE"
    );
    for c in &cases {
        println!(
            "{:<8} {:<32} {:<5} {:<20} {:<10} {:>4}d",
            c.token,
            c.applicant,
            format!("{}/8", c.done.len()),
            c.next_step().map_or("(completed)", Step::code),
            c.waiting_on().map_or("-", Party::code),
            days_since(c.updated_at, now)
        );
    }
    let unreachable = cases.iter().filter(|c| c.unreachable).count();
    if unreachable > 0 {
        println!(
            "{unreachable} of them unreachable by mail (our last message did not arrive): `cases show` says why"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn date(t: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

fn show(config: &Config, id: &str) -> Result<ExitCode> {
    let c = find(load(config)?, id)?;
    println!(
        "Case #{}  {}  (language {})",
        c.token,
        c.applicant,
        c.language.code()
    );
    println!(
        "opened {}, last change {}, last decision {}",
        date(c.opened_at),
        date(c.updated_at),
        c.last_decision.map_or("-", |d| d.code())
    );
    match c.next_step() {
        Some(step) => println!(
            "next: {}. {} (waiting on {})",
            step.number(),
            step.code(),
            step.performed_by().code()
        ),
        None => println!("completed"),
    }
    if c.unreachable {
        println!(
            "our last message to {} did not arrive: reach them another way",
            c.applicant
        );
    }
    println!("\nsteps:");
    for step in Step::ALL {
        match c.done.get(&step) {
            Some(d) => println!(
                "  [x] {}. {:<18} {} by {}: {}",
                step.number(),
                step.code(),
                date(d.at),
                d.by,
                d.evidence
            ),
            None => println!(
                "  [ ] {}. {:<18} waiting on {}",
                step.number(),
                step.code(),
                step.performed_by().code()
            ),
        }
    }
    println!("\ntimeline:");
    for t in &c.timeline {
        println!("  {}  {}", date(t.at), t.what);
    }
    Ok(ExitCode::SUCCESS)
}

fn export(config: &Config) -> Result<ExitCode> {
    let mut cases = load(config)?;
    cases.sort_by_key(|c| c.opened_at);
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    let mut header = vec![
        "case",
        "applicant",
        "language",
        "opened_at",
        "updated_at",
        "next_step",
        "waiting_on",
        "last_decision",
    ];
    header.extend(Step::ALL.iter().map(|s| s.code()));
    out.write_record(&header)?;
    for c in &cases {
        let mut row = vec![
            c.token.clone(),
            c.applicant.clone(),
            c.language.code().to_string(),
            c.opened_at.format(&Rfc3339)?,
            c.updated_at.format(&Rfc3339)?,
            c.next_step().map_or("", Step::code).to_string(),
            c.waiting_on().map_or("", Party::code).to_string(),
            c.last_decision.map_or("", |d| d.code()).to_string(),
        ];
        for step in Step::ALL {
            row.push(match c.done.get(&step) {
                Some(d) => d.at.format(&Rfc3339)?,
                None => String::new(),
            });
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "staff".into())
}

/// Queues a change in the spool; applies it at once when the daemon is not running.
fn change(
    config: &Config,
    id: &str,
    by: Option<String>,
    action: StaffAction,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let token = id.trim_start_matches('#').to_ascii_uppercase();
    if !config.store_path.exists() {
        bail!(
            "no store at {} yet, so no case #{token}; cases open when applicants write",
            config.store_path.display()
        );
    }
    let (case, store) = case_and_store(config, &token)?;
    if let Some(reason) = staff::refusal(&case, &action) {
        bail!("{reason}");
    }
    let action = forced_note(&case, action);
    println!(
        "case #{} · institution {} · applicant {}",
        case.token,
        case.owner(),
        case.applicant
    );
    let request = Request::new(&token, &who(by), action, now);
    let Some(store) = store else {
        return through_daemon(config, &request);
    };
    let outcomes = submit_and_apply(config, &request, Some(&store), now)?.unwrap_or_default();
    let mut failed = false;
    for outcome in outcomes {
        match outcome {
            Outcome::Applied { request, notified } => {
                let c = find(store.cases()?, &request.case)?;
                println!(
                    "case #{}: {} (recorded by {}); next: {}{}",
                    request.case,
                    request.action.describe(),
                    request.by,
                    c.next_step().map_or("completed", Step::code),
                    if notified {
                        "; the notice to the applicant goes out when the daemon runs"
                    } else {
                        ""
                    }
                );
            }
            Outcome::AlreadyApplied | Outcome::Done { .. } => {}
            Outcome::Rejected { file, reason } => {
                eprintln!(
                    "mnotify-intake: request {} rejected: {reason}",
                    file.display()
                );
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The case (from the store, or from the running daemon's snapshot) and the store when
/// it could be opened (the daemon is stopped).
fn case_and_store(config: &Config, token: &str) -> Result<(Case, Option<Store>)> {
    if !config.store_path.exists() {
        bail!(
            "no store at {} yet, so no case #{token}; cases open when applicants write",
            config.store_path.display()
        );
    }
    match Store::open(&config.store_path) {
        Ok(store) => Ok((find(store.cases()?, token)?, Some(store))),
        Err(open_error) => {
            // The daemon holds the store: check the case against its snapshot.
            match staff::read_snapshot(&staff::snapshot_path(&config.store_path))? {
                Some(snapshot) => Ok((find(snapshot.cases, token)?, None)),
                None => Err(open_error.into()),
            }
        }
    }
}

/// A forced step keeps, with its note, which prerequisites were missing.
fn forced_note(case: &Case, action: StaffAction) -> StaffAction {
    match action {
        StaffAction::Advance {
            step,
            note,
            force: true,
        } => {
            let missing: Vec<&str> = case.missing_before(step).iter().map(|s| s.code()).collect();
            let note = if missing.is_empty() {
                note
            } else {
                Some(format!(
                    "forced before {}: {}",
                    missing.join(", "),
                    note.unwrap_or_default()
                ))
            };
            StaffAction::Advance {
                step,
                note,
                force: true,
            }
        }
        other => other,
    }
}

/// `cases advance --dry-run`: the case, what is missing, and the notice the applicant
/// would get; nothing is changed.
fn preview(
    config: &Config,
    id: &str,
    by: Option<String>,
    action: StaffAction,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let token = id.trim_start_matches('#').to_ascii_uppercase();
    let (case, _store) = case_and_store(config, &token)?;
    println!(
        "case #{} · institution {} · applicant {}",
        case.token,
        case.owner(),
        case.applicant
    );
    let refused = staff::refusal(&case, &action);
    if let Some(reason) = &refused {
        println!("refused: {reason}");
    }
    let action = forced_note(&case, action);
    let request = Request::new(&token, &who(by), action, now);
    let templates = Templates::for_config(&config.reply)?;
    let settings = Settings::from_config(config, &templates);
    let plan = staff::plan(&case, &request, &settings, now)?;
    println!(
        "would record: {} (by {}); next step then: {}",
        request.action.describe(),
        request.by,
        plan.case.next_step().map_or("completed", Step::code)
    );
    match &plan.outbox {
        Some(entry) => {
            let raw = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &entry.raw_base64,
            )?;
            let text = mail_parser::MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
                .unwrap_or_default();
            println!("notice to {}:\n{text}", entry.to);
        }
        None => println!("no notice to the applicant"),
    }
    println!("(dry run: nothing changed)");
    Ok(if refused.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Hands a case change to the running daemon and waits (briefly) for it to be applied,
/// so staff know it took effect.
fn through_daemon(config: &Config, request: &Request) -> Result<ExitCode> {
    let spool = staff::spool_dir(&config.store_path);
    let file = staff::submit(&spool, request)?;
    poke_daemon(config);
    let rejection = staff::rejection_path(&spool, &file);
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(20) {
        if rejection.exists() {
            bail!(
                "{}",
                std::fs::read_to_string(&rejection).unwrap_or_default()
            );
        }
        if !file.exists() {
            println!(
                "case #{}: {} (recorded by {}), applied by the running daemon; the applicant is told if there is something to tell",
                request.case,
                request.action.describe(),
                request.by
            );
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    println!(
        "case #{}: queued for the running daemon, which applies it at its next look at the spool (within about 15 s)",
        request.case
    );
    Ok(ExitCode::SUCCESS)
}

/// Puts `request` in the spool; when `store` is open (the daemon is stopped), applies
/// the pending requests at once and returns what became of them.
fn submit_and_apply(
    config: &Config,
    request: &Request,
    store: Option<&Store>,
    now: OffsetDateTime,
) -> Result<Option<Vec<Outcome>>> {
    let spool = staff::spool_dir(&config.store_path);
    staff::submit(&spool, request)?;
    let Some(store) = store else {
        return Ok(None);
    };
    let templates = Templates::for_config(&config.reply)?;
    let settings = Settings::from_config(config, &templates);
    let outcomes = staff::apply_pending(store, &spool, &settings, config.digest.as_ref(), now)?;
    Ok(Some(outcomes))
}

/// Runs a store-wide request (digest, status, registry import): right here when the
/// daemon is stopped, through the running daemon when it holds the store. Returns the
/// answer and whether the daemon gave it.
pub fn store_request(config: &Config, action: StaffAction) -> Result<(String, bool)> {
    store_request_by(config, action, None)
}

/// [`store_request`] on behalf of `by` (default: $USER).
pub fn store_request_by(
    config: &Config,
    action: StaffAction,
    by: Option<String>,
) -> Result<(String, bool)> {
    let now = OffsetDateTime::now_utc();
    let (store, open_error) = match Store::open(&config.store_path) {
        Ok(store) => (Some(store), None),
        // The daemon holds the store (it keeps a snapshot beside it): ask it.
        Err(e) if staff::snapshot_path(&config.store_path).exists() => (None, Some(e)),
        Err(e) => return Err(e.into()),
    };
    let spool = staff::spool_dir(&config.store_path);
    let request = Request::new("", &who(by), action, now);
    if let Some(store) = &store {
        let outcomes = submit_and_apply(config, &request, Some(store), now)?.unwrap_or_default();
        for outcome in outcomes {
            match outcome {
                Outcome::Done { request: r, result } if r.id == request.id => {
                    return Ok((take_result(&result)?, false));
                }
                Outcome::Rejected { file, reason }
                    if file.to_string_lossy().contains(&request.id) =>
                {
                    bail!("{reason}");
                }
                _ => {}
            }
        }
        bail!(
            "the request was not applied; see the spool {}",
            spool.display()
        );
    }
    let file = staff::submit(&spool, &request)?;
    poke_daemon(config);
    let result = staff::result_path(&spool, &request.id);
    let rejection = staff::rejection_path(&spool, &file);
    let start = std::time::Instant::now();
    loop {
        if result.exists() {
            return Ok((take_result(&result)?, true));
        }
        if rejection.exists() {
            bail!(
                "{}",
                std::fs::read_to_string(&rejection).unwrap_or_default()
            );
        }
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = std::fs::remove_file(&file);
            bail!(
                "no answer from the daemon within 30 s; is it running? (the store could not be opened: {})",
                open_error.map(|e| e.to_string()).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Wakes the running daemon (SIGUSR1) so it applies the request at once; without it
/// the daemon still finds the request within about fifteen seconds.
fn poke_daemon(config: &Config) {
    let Ok(pid) = std::fs::read_to_string(staff::pid_path(&config.store_path)) else {
        return;
    };
    let pid = pid.trim();
    // A stale file may name a pid now used by another program, which SIGUSR1 would
    // kill: only signal a process that is this program.
    let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("mnotify-intake"))
        .unwrap_or(false);
    if ours && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
        let _ = std::process::Command::new("kill")
            .args(["-USR1", pid])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Reads an answer and removes its file.
fn take_result(path: &std::path::Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let _ = std::fs::remove_file(path);
    Ok(text)
}

/// `digest --print [--html]` / `digest --send`.
pub fn digest(config: &Config, send: bool, html: bool) -> Result<ExitCode> {
    if config.digest.is_none() {
        bail!("no [digest] section in {}: add one with the staff addresses (see config/mnotify-intake.example.toml)", config.source.display());
    }
    let (text, by_daemon) = store_request(config, StaffAction::Digest { send, html })?;
    if send {
        if by_daemon {
            println!("digest: queued by the running daemon, which sends it within seconds");
        } else {
            println!("digest: queued; it goes out when the daemon runs");
        }
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}
