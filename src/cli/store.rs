//! `mnotify-intake store …`: backups of the store, checking them, restoring one.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use mnotify_intake::config::Config;
use mnotify_intake::control::{self, ControlReply, ControlRequest};
use mnotify_intake::staff::{StaffAction, StoreRequest};
use mnotify_intake::store;
use time::OffsetDateTime;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Write a backup of the store now into [store] backups (the daemon writes it
    /// while it runs, consistently; otherwise this command does).
    Backup,
    /// Check a backup file: complete, unaltered (count and checksum), every record
    /// readable. Changes nothing.
    Verify {
        /// The backup file (e.g. one of [store] backups).
        file: PathBuf,
    },
    /// Restore a backup as the store. The daemon must be stopped. The backup is
    /// checked whole before anything is written.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Move the current store aside (to `<path>.replaced-<time>`, kept) first.
        #[arg(long)]
        replace: bool,
    },
    /// Rewrite the store into fresh files (the daemon must be stopped): the embedded
    /// database frees the space of removed data only lazily, so after pruning the
    /// files can be much larger than what they hold. The old files are kept aside.
    Compact,
}

pub fn run(config: &Config, command: StoreCommand) -> Result<ExitCode> {
    match command {
        StoreCommand::Backup => {
            let (text, _) =
                crate::cli::staff::store_request(config, StaffAction::Store(StoreRequest::Backup))?;
            println!("{text}");
        }
        StoreCommand::Verify { file } => {
            let summary = store::verify(&mut open(&file)?)
                .with_context(|| format!("{} is not a usable backup", file.display()))?;
            println!(
                "{}: a whole backup taken {}: {} entries in {} trees, sha256 {}",
                file.display(),
                summary.created,
                summary.entries,
                summary.trees,
                summary.sha256
            );
        }
        StoreCommand::Restore { file, replace } => restore(config, &file, replace)?,
        StoreCommand::Compact => compact(config)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn open(file: &Path) -> Result<BufReader<std::fs::File>> {
    let f = std::fs::File::open(file)
        .with_context(|| format!("cannot read the backup {}", file.display()))?;
    Ok(BufReader::new(f))
}

/// Refuses when a daemon answers on the control socket: it holds the store.
fn refuse_if_running(config: &Config, what: &str) -> Result<()> {
    let ping = ControlRequest {
        id: mnotify_intake::record::fresh_id()?,
        case: String::new(),
        display_name: None,
        action: StaffAction::Store(StoreRequest::Ping),
    };
    if let Ok(ControlReply::Done { text, .. }) = control::client::ask(
        &config.control.socket,
        control::client::Server::of_store(&config.store_path),
        &ping,
        std::time::Duration::from_secs(5),
    ) {
        bail!("the daemon is running (pid {text}) and holds the store: stop it first (e.g. `systemctl stop mnotify-intake`), then {what}");
    }
    Ok(())
}

fn restore(config: &Config, file: &Path, replace: bool) -> Result<()> {
    refuse_if_running(config, "restore")?;
    let path = &config.store_path;
    let occupied = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        if !replace {
            bail!(
                "{} already holds a store; pass --replace to move it aside (it is kept, never deleted)",
                path.display()
            );
        }
        let now = OffsetDateTime::now_utc();
        let mut aside = path.as_os_str().to_os_string();
        aside.push(format!(".replaced-{}", now.unix_timestamp()));
        let aside = PathBuf::from(aside);
        // Checked before the store moves: a bad backup leaves everything as it was.
        store::verify(&mut open(file)?)
            .with_context(|| format!("{} is not a usable backup", file.display()))?;
        std::fs::rename(path, &aside).with_context(|| {
            format!(
                "cannot move {} aside to {}",
                path.display(),
                aside.display()
            )
        })?;
        println!("the store that was there is kept at {}", aside.display());
    }
    let summary = store::restore(&mut open(file)?, path)
        .with_context(|| format!("cannot restore {}", file.display()))?;
    println!(
        "restored {} ({} entries, taken {}) into {}; start the daemon again: mail handled after the backup was taken is already filed and is not answered again",
        file.display(),
        summary.entries,
        summary.created,
        path.display()
    );
    Ok(())
}

/// Backup into `[store] backups`, restore it beside the store, swap them; the old
/// files stay at `<path>.before-compact-<time>` until the operator removes them.
fn compact(config: &Config) -> Result<()> {
    refuse_if_running(config, "compact")?;
    let path = &config.store_path;
    let before = store::files_bytes(path);
    let now = OffsetDateTime::now_utc();
    let backup = {
        let store = store::Store::open(path)?;
        let (file, _) = store.write_backup_file(&config.keeping.dir, "compact", now)?;
        file
    };
    let suffixed = |suffix: String| {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    let fresh = suffixed(format!(".compacting-{}", now.unix_timestamp()));
    store::restore(&mut open(&backup)?, &fresh)
        .with_context(|| format!("cannot rewrite the store into {}", fresh.display()))?;
    let aside = suffixed(format!(".before-compact-{}", now.unix_timestamp()));
    std::fs::rename(path, &aside)
        .with_context(|| format!("cannot move {} aside", path.display()))?;
    std::fs::rename(&fresh, path)
        .with_context(|| format!("cannot put {} in place", fresh.display()))?;
    println!(
        "compacted {}: {:.1} MB → {:.1} MB; the old files are at {} (remove them once the daemon runs well), the backup taken on the way at {}",
        path.display(),
        before as f64 / 1e6,
        store::files_bytes(path) as f64 / 1e6,
        aside.display(),
        backup.display()
    );
    Ok(())
}
