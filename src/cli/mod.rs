//! The command line: clap definitions and the commands, thin over the library. The
//! daemon's start is [`run`]; staff commands are [`staff`] (what `cases` prints is
//! `staff/view.rs`); the store's are [`store`].

mod run;
mod staff;
mod status;
mod store;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};

use mnotify_intake::analysis::{self, Context};
use mnotify_intake::certificate::TrustAnchors;
use mnotify_intake::config::{Config, DEFAULT_MAILBOX_ADDRESS};
use mnotify_intake::revocation::keeper::{CrlSources, Keeper};
use staff::CasesCommand;

use mnotify_intake::import::{self, Label};
use mnotify_intake::registry::Registry;
use mnotify_intake::report::{self, FileReport};
use mnotify_intake::staff::{StaffAction, StoreRequest};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Reads MNotify onboarding e-mails (STISC system certificates and serial numbers),
/// validates them and decides the next step.
#[derive(Debug, Parser)]
#[command(name = "mnotify-intake", version, about)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(
        long,
        global = true,
        env = "MNOTIFY_INTAKE_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse .eml files without changing anything: what would the daemon decide?
    Inspect(InspectArgs),
    /// The registry of known certificates (MPass, MSign, MDocs, MNotify).
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Watch the mailbox: handle each new message once, reply, file it. Stops cleanly on
    /// SIGINT/SIGTERM after the current message.
    Run {
        /// One pass over the inbox and the outbox, then exit (for cron or a first try).
        #[arg(long)]
        once: bool,
        /// Start with a new (empty) store although the mailbox shows the daemon ran on
        /// it before: mail already filed is not read again, cases start over. Without
        /// it the daemon refuses and says how to restore a backup.
        #[arg(long)]
        new_store: bool,
    },
    /// Try every part `run` needs (trust anchors, store, templates, the IMAP login and
    /// folders, the SMTP login) without changing anything; exit status 1 if something
    /// must be fixed first.
    Check,
    /// What the store holds: messages by outcome, replies pending, sent and failed.
    /// Works while the daemon runs (it answers through it).
    Status {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Onboarding cases: list, show, advance a step, note, reopen, export. Works while
    /// the daemon runs (through its control socket).
    #[command(subcommand)]
    Cases(CasesCommand),
    /// Mail held because its sender was not authenticated ([trust] senders =
    /// "require"): list it, or accept one as the institution's own.
    #[command(subcommand)]
    Held(HeldCommand),
    /// Backups of the store: write one now, check one, restore one.
    #[command(subcommand)]
    Store(crate::cli::store::StoreCommand),
    /// The staff digest on demand: print it (--print), or send it to the [digest]
    /// addresses now (--send).
    #[command(group(clap::ArgGroup::new("what").required(true).args(["print", "send"])))]
    Digest {
        /// Print the digest since the last one (text; --html for the HTML part).
        #[arg(long, conflicts_with = "send")]
        print: bool,
        /// Queue it for the staff now (the daily one still goes out at its time).
        #[arg(long)]
        send: bool,
        /// With --print: the HTML part instead of the text.
        #[arg(long, requires = "print")]
        html: bool,
    },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Judge validity at this time (RFC 3339, e.g. 2026-11-24T12:00:00Z) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// One JSON object per line per file.
    #[arg(long)]
    pub json: bool,
    /// The messages (.eml, raw RFC 5322).
    #[arg(required = true, value_name = "FILE.eml")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Import certificate files or registry CSVs (service,institution,serial,issuer,sha1,not_after,status).
    Import {
        /// Service the certificate files are registered for (MPass, MSign, MDocs, MNotify).
        #[arg(long)]
        service: Option<String>,
        /// Institution that owns the certificate files.
        #[arg(long)]
        institution: Option<String>,
        /// Certificate files (.cer, .crt, .pem, .der, .p7b) or registry CSVs with the
        /// header service,institution,serial,issuer,sha1,not_after,status.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show the known certificates.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Inspect(args) => inspect(cli.config.as_deref(), args),
        Command::Registry(RegistryCommand::Import {
            service,
            institution,
            files,
        }) => {
            let config = require_config(cli.config.as_deref())?;
            let label = Label {
                service: service.as_deref(),
                institution: institution.as_deref(),
            };
            registry_import(&config, label, &files)
        }
        Command::Registry(RegistryCommand::List { json }) => {
            let config = require_config(cli.config.as_deref())?;
            registry_list(&config, json)
        }
        Command::Run { once, new_store } => {
            let config = require_config(cli.config.as_deref())?;
            crate::cli::run::run_daemon(config, once, new_store)
        }
        Command::Check => {
            let config = require_config(cli.config.as_deref())?;
            check(&config)
        }
        Command::Status { json } => {
            let config = require_config(cli.config.as_deref())?;
            status::status(&config, json)
        }
        Command::Cases(command) => {
            let config = require_config(cli.config.as_deref())?;
            crate::cli::staff::run(&config, command)
        }
        Command::Held(command) => {
            let config = require_config(cli.config.as_deref())?;
            held(&config, command)
        }
        Command::Store(command) => {
            let config = require_config(cli.config.as_deref())?;
            crate::cli::store::run(&config, command)
        }
        Command::Digest {
            print: _,
            send,
            html,
        } => {
            let config = require_config(cli.config.as_deref())?;
            crate::cli::staff::digest(&config, send, html)
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum HeldCommand {
    /// The held mail, newest first: who, when, about what, and why it was not believed.
    List,
    /// Handle a held message as if its sender were authenticated (after checking with
    /// the institution, e.g. by phone). The daemon does it at its next pass; the case
    /// timeline records who accepted it.
    Accept {
        /// The message's id as `held list` shows it (its Message-ID).
        id: String,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
    /// Leave a held message as it is, for good: it stays in the Needs-Human folder,
    /// recorded as dismissed by you, and leaves the held list.
    Dismiss {
        /// The message's id as `held list` shows it (its Message-ID).
        id: String,
        /// A display name shown beside your user (the user is always recorded).
        #[arg(long)]
        by: Option<String>,
    },
}

fn held(config: &Config, command: HeldCommand) -> Result<ExitCode> {
    let (action, by) = match command {
        HeldCommand::List => (StaffAction::Store(StoreRequest::HeldList), None),
        HeldCommand::Accept { id, by } => (
            StaffAction::Store(StoreRequest::AcceptHeld { identity: id }),
            by,
        ),
        HeldCommand::Dismiss { id, by } => (
            StaffAction::Store(StoreRequest::DismissHeld { identity: id }),
            by,
        ),
    };
    let (text, _) = crate::cli::staff::store_request_by(config, action, by)?;
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn check(config: &Config) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(mnotify_intake::check::check(
        config,
        OffsetDateTime::now_utc(),
    ));
    println!("mnotify-intake check: {}", config.source.display());
    for line in &report.lines {
        println!("{line}");
    }
    match report.failures() {
        0 => {
            println!("all checks passed: `mnotify-intake run` can start");
            Ok(ExitCode::SUCCESS)
        }
        n => {
            println!("{n} check(s) failed: fix them, then run `mnotify-intake check` again");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Libraries that write protocol traffic into their logs, credentials included
/// (async-imap logs `LOGIN "user" "password"` and XOAUTH2 tokens at trace, lettre
/// `AUTH PLAIN …` and whole messages at debug): held at `info` whatever `RUST_LOG`
/// says, so that no level shows a secret.
const WIRE_LOGGING_TARGETS: &[&str] = &["async_imap", "imap_proto", "lettre"];

/// `RUST_LOG` (default `info`) with the wire-logging libraries held at `info`.
pub fn log_filter() -> tracing_subscriber::EnvFilter {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for target in WIRE_LOGGING_TARGETS {
        // A constant directive: parsing it cannot fail.
        filter = filter.add_directive(format!("{target}=info").parse().expect("valid directive"));
    }
    filter
}

fn require_config(path: Option<&Path>) -> Result<Config> {
    let Some(path) = path else {
        bail!("this command needs --config FILE (or MNOTIFY_INTAKE_CONFIG); see config/mnotify-intake.example.toml");
    };
    Ok(Config::load(path)?)
}

pub(crate) fn parse_now(now: Option<&str>) -> Result<OffsetDateTime> {
    match now {
        None => Ok(OffsetDateTime::now_utc()),
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
            format!("--now {text:?} is not an RFC 3339 time; write it like 2026-11-24T12:00:00Z")
        }),
    }
}

/// The registry as stored, without creating a store that does not exist yet.
fn stored_registry(config: &Config) -> Result<Registry> {
    if !config.store_path.exists() {
        eprintln!(
            "mnotify-intake: note: no store at {} yet: no certificate is known (use `registry import`)",
            config.store_path.display()
        );
        return Ok(Registry::default());
    }
    // From the running daemon (the registry it uses), or the store when it is stopped.
    let (json, _) =
        crate::cli::staff::store_request(config, StaffAction::Store(StoreRequest::Registry))?;
    let entries: Vec<mnotify_intake::registry::KnownCertificate> =
        serde_json::from_str(&json).context("reading the registry")?;
    Ok(Registry::from_entries(entries))
}

fn inspect(config_path: Option<&Path>, args: InspectArgs) -> Result<ExitCode> {
    let now = parse_now(args.now.as_deref())?;
    let config = config_path.map(Config::load).transpose()?;
    // The files are read and parsed on every core from here on, while the readers'
    // patterns compile on another and the trust anchors and the registry load
    // (compiling the patterns took most of a small run's time).
    let own = config.as_ref().map_or_else(
        || vec![DEFAULT_MAILBOX_ADDRESS.to_string()],
        |c| c.own_addresses.clone(),
    );
    let read = read_in_parallel(&args.files, &own);
    let procedures = std::sync::Arc::new(match &config {
        Some(config) => config.procedures.clone(),
        None => mnotify_intake::procedure::Catalogue::built_in().clone(),
    });
    let warming = {
        let procedures = procedures.clone();
        std::thread::spawn(move || analysis::warm_up(&procedures))
    };
    let (anchors, registry, policy, crl_sources) = inspect_trust(config)?;
    let mut crls = Keeper::new(crl_sources, anchors.clone(), now);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0;
    let _ = warming.join();
    for (file, facts) in args.files.iter().zip(read) {
        let name = file.display().to_string();
        let facts = match facts {
            Ok(facts) => facts,
            Err(err) => {
                failed += 1;
                eprintln!("mnotify-intake: error: cannot read {name}: {err}; check the path, the other files are still analysed");
                if args.json {
                    let line = serde_json::json!({ "file": name, "error": err.to_string() });
                    writeln!(out, "{line}")?;
                }
                continue;
            }
        };
        crls.learn_from(&facts);
        let ctx = Context {
            anchors: &anchors,
            registry: &registry,
            own_addresses: &own,
            revocations: crls.revocations(),
            procedures: &procedures,
            // The registry alone: the certificates the daemon's cases accepted are
            // the daemon's to add (README, "Platform services").
            case_certificates: &Registry::default(),
        };
        let analysis = analysis::analyse_facts(facts, &ctx, now);
        let f = &analysis.facts;
        let sender = mnotify_intake::trust::assess(&f.trace, f.from.as_deref(), &policy);
        if args.json {
            writeln!(
                out,
                "{}",
                FileReport::new(&name, &analysis, sender).to_json()
            )?;
        } else {
            write!(out, "{}", report::human(&name, &analysis, &sender))?;
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The facts of each file, in the files' order, read and parsed on every core (the
/// bytes dropped as soon as they are read into facts); what follows depends on the
/// files before it (the revocation lists they bring) and stays in order.
fn read_in_parallel(
    files: &[PathBuf],
    own: &[String],
) -> impl Iterator<Item = std::io::Result<mnotify_intake::intake::Facts>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    // Room for every file's facts (their text, not the mail's bytes): a bound of a few
    // kept the readers waiting while the patterns compiled.
    let (tx, rx) = std::sync::mpsc::sync_channel(files.len().max(1));
    for _ in 0..workers {
        let (files, own, next, tx) = (files.to_vec(), own.to_vec(), next.clone(), tx.clone());
        std::thread::spawn(move || {
            // One buffer per worker, kept between files: a fresh one per 4 MB file
            // cost as much in page faults as reading it.
            let mut raw = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                raw.clear();
                let facts = std::fs::File::open(file)
                    .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut raw))
                    .map(|_| mnotify_intake::intake::read(&raw, &own));
                if tx.send((i, facts)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut waiting = std::collections::BTreeMap::new();
    let mut wanted = 0;
    std::iter::from_fn(move || loop {
        if let Some(facts) = waiting.remove(&wanted) {
            wanted += 1;
            return Some(facts);
        }
        let (i, facts) = rx.recv().ok()?;
        waiting.insert(i, facts);
    })
}

/// What `inspect` trusts: the config's anchors, registry, sender policy and revocation
/// sources, or nothing without a config (said once on standard error).
fn inspect_trust(
    config: Option<Config>,
) -> Result<(
    TrustAnchors,
    Registry,
    mnotify_intake::trust::Policy,
    CrlSources,
)> {
    Ok(match config {
        Some(config) => (
            TrustAnchors::load(&config.anchors)?,
            stored_registry(&config)?,
            config.trust,
            config.revocation,
        ),
        None => {
            eprintln!("mnotify-intake: note: no --config: no trust anchors, no known certificates and no authserv-id of ours, so every certificate is untrusted_issuer and no sender is authenticated");
            (
                TrustAnchors::default(),
                Registry::default(),
                policy_without_config(),
                CrlSources::default(),
            )
        }
    })
}

/// Without a config no server of ours is known: no sender is authenticated.
fn policy_without_config() -> mnotify_intake::trust::Policy {
    mnotify_intake::trust::Policy {
        authserv_ids: Vec::new(),
        exchange_tenant: None,
        senders: mnotify_intake::trust::SenderRule::Require,
    }
}

fn registry_import(config: &Config, label: Label<'_>, files: &[PathBuf]) -> Result<ExitCode> {
    // Every file is read and checked before anything is written: one bad row must not
    // leave half an import behind.
    let mut records = Vec::new();
    for file in files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let imported = import::records(file, &bytes, label)?;
        if let Some(how) = imported.read_as {
            println!("{}: read with {how}", file.display());
        }
        records.extend(imported.records);
    }
    let (answer, by_daemon) = crate::cli::staff::store_request(
        config,
        StaffAction::Store(StoreRequest::RegistryImport { records }),
    )?;
    println!("{}", answer.trim());
    if by_daemon {
        println!("(through the running daemon: the new certificates count from its next message)");
    }
    Ok(ExitCode::SUCCESS)
}

fn registry_list(config: &Config, json: bool) -> Result<ExitCode> {
    let registry = stored_registry(config)?;
    let language = config.staff_language;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for k in registry.entries() {
        if json {
            writeln!(out, "{}", serde_json::to_string(k)?)?;
        } else {
            let services: Vec<&str> = k.services.iter().map(String::as_str).collect();
            let expiry = k
                .not_after
                .map(|t| t.date().to_string())
                .unwrap_or_else(|| "?".into());
            writeln!(
                out,
                "{:<42} {:<13} {} {:<10} {:<20} {}  [{}]",
                k.serial,
                k.status.words(language),
                mnotify_intake::staff::words::word("until", language),
                expiry,
                services.join(","),
                k.institution.as_deref().unwrap_or("-"),
                k.issuer
            )?;
        }
    }
    if !json {
        let known = registry.len().to_string();
        let said = mnotify_intake::staff::words::say("known_count", language, &[("n", &known)]);
        writeln!(out, "{said}")?;
    }
    Ok(ExitCode::SUCCESS)
}
