//! `status`: the store's summary from the running daemon (or the store), as JSON or in
//! the staff language.

use std::process::ExitCode;

use anyhow::{Context, Result};
use mnotify_intake::config::{Backlog, Config};
use mnotify_intake::staff::{StaffAction, StoreRequest};

pub(super) fn status(config: &Config, json: bool) -> Result<ExitCode> {
    let (text, _) =
        crate::cli::staff::store_request(config, StaffAction::Store(StoreRequest::Status))?;
    if json {
        println!("{}", text.trim());
        return Ok(ExitCode::SUCCESS);
    }
    let report: mnotify_intake::staff::status::StatusReport =
        serde_json::from_str(&text).context("the status answer")?;
    print!("{}", status_words(config, &report));
    Ok(ExitCode::SUCCESS)
}

/// `status` in the staff language, from the answer `status --json` prints.
fn status_words(config: &Config, v: &mnotify_intake::staff::status::StatusReport) -> String {
    use mnotify_intake::staff::words::{say, word};
    let language = config.staff_language;
    let total: u64 = v.messages.values().sum();
    let history = match config.imap.as_ref().map(|i| i.backlog) {
        Some(Backlog::Handle) => word("backlog_handled", language),
        _ => word("backlog_left", language),
    };
    let mut out = match &v.first_start {
        Some(t) => say("first_start", language, &[("at", t), ("history", history)]),
        None => word("not_started", language).into(),
    } + "\n";
    out += &say("handled", language, &[("n", &total.to_string())]);
    out += "\n";
    for (code, n) in &v.messages {
        // The code staff filter by, and the outcome in words.
        let words = code
            .parse::<mnotify_intake::record::Outcome>()
            .map_or("", |o| o.words(language));
        out += &format!("  {:<20} {:<6} {words}\n", code, n.to_string());
    }
    let services: Vec<String> = v
        .cases_by_service
        .iter()
        .map(|(code, n)| {
            let tag = config.procedures.procedure_of(code).tag.clone();
            format!("{tag} {n}")
        })
        .collect();
    out += &say("cases", language, &[("n", &v.cases.to_string())]);
    if !services.is_empty() {
        out += &format!(" ({})", services.join(", "));
    }
    out += "\n";
    out += &say(
        "questions",
        language,
        &[("n", &v.questions_open.to_string())],
    );
    out += "\n";
    let o = v.outbox;
    let counts = [o.sent, o.pending, o.failed].map(|n| n.to_string());
    out += &say(
        "replies",
        language,
        &[
            ("sent", &counts[0]),
            ("pending", &counts[1]),
            ("failed", &counts[2]),
        ],
    );
    out += "\n";
    if v.sent_left_alone > 0 {
        let n = v.sent_left_alone.to_string();
        out += &say("sent_left_alone", language, &[("n", &n)]);
        out += "\n";
    }
    for e in &v.failed {
        let (attempts, id) = (e.attempts.to_string(), e.message_id.to_string());
        let fills = [
            ("to", e.to.as_str()),
            ("attempts", attempts.as_str()),
            ("error", e.error.as_deref().unwrap_or("?")),
            ("id", id.as_str()),
        ];
        out += &format!("  {}\n", say("failed", language, &fills));
    }
    out
}
