//! The IMAP part of `check`: the login, the inbox, our MX's stamp on its mail, and
//! every folder the daemon will use, adapted to the server's layout as `run` adapts it.

use super::{tls_words, Level, Report};
use crate::config::{Backlog, Config, ImapConfig};
use crate::mailbox::{Layout, Mailbox};

/// The config's `[imap]` with its default folders adapted to the server's namespace
/// and special-use folders, as `run` will; each change said.
async fn adapted(imap: &ImapConfig, report: &mut Report) -> (ImapConfig, Layout) {
    let layout = match Mailbox::layout(imap).await {
        Ok(layout) => layout,
        // The login line below says what failed.
        Err(_) => return (imap.clone(), Layout::default()),
    };
    let (adapted, choices) = layout.adapt(imap);
    for choice in choices.iter().filter(|c| c.folder_changed()) {
        report.add(
            Level::Ok,
            "IMAP",
            format!(
                "{} is \"{}\" on this server ({}), not \"{}\"",
                choice.setting, choice.folder, choice.why, choice.before
            ),
        );
    }
    (adapted, layout)
}

/// Every folder the daemon needs exists, or the server lets it be made: a missing one
/// is created and deleted at once, so that a server that refuses the name (Cyrus
/// outside `INBOX.`) is found now, not at the first `run`.
async fn folders(
    config: &Config,
    (imap, layout): (&ImapConfig, &Layout),
    mb: &mut Mailbox,
    report: &mut Report,
) {
    let part = "IMAP";
    let (mut present, mut creatable) = (Vec::new(), Vec::new());
    for (setting, folder) in imap.folders_used(config.reply.mode) {
        if mb.count(folder).await.is_ok() {
            present.push(folder);
            continue;
        }
        match mb.probe_folder(folder).await {
            Ok(()) => creatable.push(folder),
            Err(e) => {
                let hint = match layout.suggestion(folder) {
                    Some(name) => format!("; try {setting} = \"{name}\""),
                    None => String::new(),
                };
                report.add(
                    Level::Failed,
                    part,
                    format!(
                        "{folder} ([imap] {setting}) does not exist and cannot be made: {e}{hint}"
                    ),
                );
            }
        }
    }
    if !present.is_empty() {
        report.add(
            Level::Ok,
            part,
            format!("folders {} exist", present.join(", ")),
        );
    }
    if !creatable.is_empty() {
        report.add(
            Level::Ok,
            part,
            format!(
                "folders {} do not exist yet: the server let us create them (and they were removed again); the first run makes them",
                creatable.join(", ")
            ),
        );
    }
    junk(config, imap, mb, report).await;
}

/// The junk folder: how much it holds, and what the daemon does with it.
async fn junk(config: &Config, imap: &ImapConfig, mb: &mut Mailbox, report: &mut Report) {
    let Some(junk) = &imap.junk_folder else {
        return report.add(
            Level::Ok,
            "IMAP",
            "no junk folder (none named in [imap] junk_folder, none marked \\Junk by the server): only the inbox is watched",
        );
    };
    match mb.count(junk).await {
        Ok(n) => {
            let left = crate::store::Store::open(&config.store_path)
                .ok()
                .and_then(|s| s.junk_left_count(None).ok());
            report.add(
                Level::Ok,
                "IMAP",
                format!(
                    "junk folder \"{junk}\" holds {n} message(s){}: mail from authenticated institutions there is handled like inbox mail, the rest left alone",
                    left.map_or(String::new(), |l| format!(", {l} of them looked at and left alone"))
                ),
            );
        }
        Err(e) => report.add(
            Level::Warning,
            "IMAP",
            format!("junk folder \"{junk}\" cannot be opened ({e}): mail the provider files as junk is not seen; fix [imap] junk_folder"),
        ),
    }
}

pub(super) async fn imap(config: &Config, never_started: bool, report: &mut Report) {
    let part = "IMAP";
    let Some(configured) = &config.imap else {
        return report.add(
            Level::Warning,
            part,
            "no [imap] section: `run` cannot watch a mailbox",
        );
    };
    let (imap, layout) = &adapted(configured, report).await;
    let mut mb = match Mailbox::connect(imap).await {
        Ok(mb) => mb,
        Err(e) => {
            return report.add(
                Level::Failed,
                part,
                format!("{}:{} as {}: {e}", imap.host, imap.port, imap.user),
            )
        }
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    report.add(
        Level::Ok,
        part,
        format!(
            "logged in to {}:{} as {} ({}); IDLE {}, MOVE {}, UIDPLUS {}",
            imap.host,
            imap.port,
            imap.user,
            tls_words(imap.tls),
            yes_no(mb.idle_supported),
            yes_no(mb.move_supported),
            yes_no(mb.uidplus_supported)
        ),
    );
    match mb.count(&imap.inbox).await {
        Ok(n) if never_started && imap.backlog == Backlog::Leave => report.add(
            Level::Ok,
            part,
            format!(
                "{} holds {n} messages: the mailbox's history, left alone at the first run ([imap] backlog = \"leave\")",
                imap.inbox
            ),
        ),
        Ok(n) => report.add(Level::Ok, part, format!("{} holds {n} messages", imap.inbox)),
        Err(e) => report.add(
            Level::Failed,
            part,
            format!("cannot open {}: {e}; check [imap] inbox", imap.inbox),
        ),
    }
    sender_stamps(config, &mut mb, &imap.inbox, report).await;
    if never_started {
        new_store_on_a_used_mailbox(imap, &mut mb, report).await;
    }
    folders(config, (imap, layout), &mut mb, report).await;
    mb.logout().await;
}

/// A store that never ran the daemon, on a mailbox that shows it ran before: `run`
/// refuses it (the store was lost or replaced); say so before.
async fn new_store_on_a_used_mailbox(imap: &ImapConfig, mb: &mut Mailbox, report: &mut Report) {
    // A server that cannot say is no finding here: the IMAP lines say what failed.
    if let Ok(Some(evidence)) = mb.earlier_runs(imap).await {
        report.add(
            Level::Failed,
            "store",
            format!(
                "the store is new, but the mailbox shows the daemon ran on it before ({evidence}): `run` will refuse it; restore the latest backup (`mnotify-intake store restore --replace FILE`) or run once with `run --new-store` to start afresh on purpose"
            ),
        );
    }
}

/// Messages of the inbox whose headers are read to see our MX's stamp.
const STAMP_SAMPLE: usize = 20;

/// Whether the newest messages of the inbox carry `Authentication-Results` from one of
/// `[trust] authserv_id`: a wrong id would hold every applicant's mail for staff.
async fn sender_stamps(config: &Config, mb: &mut Mailbox, inbox: &str, report: &mut Report) {
    let part = "senders";
    let policy = &config.trust;
    if policy.senders == crate::trust::SenderRule::Off {
        return report.add(
            Level::Warning,
            part,
            "[trust] senders = \"off\": nobody is authenticated, anyone can change any case; set authserv_id and senders = \"require\"",
        );
    }
    let mut servers = policy.authserv_ids.clone();
    if let Some(tenant) = &policy.exchange_tenant {
        servers.push(format!("Exchange Online (tenant {tenant})"));
    }
    let ids = servers.join(", ");
    let uids = match mb.select(inbox).await {
        Ok(_) => mb.uids().await.unwrap_or_default(),
        Err(_) => return,
    };
    let newest: Vec<u32> = uids.iter().rev().take(STAMP_SAMPLE).copied().collect();
    if newest.is_empty() {
        return report.add(
            Level::Ok,
            part,
            format!(
                "[trust] senders = \"{}\", stamps of {ids}; no mail in {inbox} to see the stamp on yet",
                policy.senders.code()
            ),
        );
    }
    let headers = mb
        .fetch(&newest, crate::mailbox::Part::Header)
        .await
        .unwrap_or_default();
    let stamped = headers
        .iter()
        .filter(|(_, h)| {
            let trace = crate::trust::read_trace(h);
            crate::trust::stamped_by(&trace, &policy.authserv_ids)
                || policy
                    .exchange_tenant
                    .as_deref()
                    .is_some_and(|t| trace.exchange.results(t).is_ok())
        })
        .count();
    let text = format!(
        "{stamped} of the newest {} message(s) in {inbox} carry Authentication-Results from {ids}",
        headers.len()
    );
    if stamped == 0 {
        report.add(
            Level::Warning,
            part,
            format!("{text}: is [trust] authserv_id the id your MX writes (or exchange_online_tenant your tenant's id)? Without its stamp every applicant's mail waits for staff"),
        );
    } else {
        report.add(Level::Ok, part, text);
    }
}
