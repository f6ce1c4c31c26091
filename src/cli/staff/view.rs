//! What `cases list`, `cases show` and `cases export` print: read-only views of the
//! cases, with AGE's response clock.

use std::process::ExitCode;

use anyhow::Result;
use mnotify_intake::case::clock::{Promise, Response, Standing};
use mnotify_intake::case::{Case, Party, Step};
use mnotify_intake::config::Config;
use mnotify_intake::intake::Language;
use mnotify_intake::procedure::{Catalogue, Procedure};
use mnotify_intake::queue::{self, Line};
use mnotify_intake::staff::words::{say, word};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{find, load, WaitingOn};

fn days_since(t: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (now - t).whole_days()
}

/// Which cases `cases list` shows.
pub(super) struct Filter {
    pub(super) waiting_on: Option<WaitingOn>,
    pub(super) stalled: Option<u32>,
    pub(super) overdue: bool,
    /// Only the cases of this service (a procedure's code).
    pub(super) service: Option<String>,
}

impl Filter {
    fn keeps(&self, c: &Case, p: &Procedure, promise: &Promise, now: OffsetDateTime) -> bool {
        let party = match self.waiting_on {
            None => true,
            Some(WaitingOn::Applicant) => c.waiting_on(p) == Some(Party::Applicant),
            Some(WaitingOn::Age) => c.waiting_on(p) == Some(Party::Age),
        };
        let stalled = self.stalled.is_none_or(|days| {
            c.next_step(p).is_some() && days_since(c.updated_at, now) >= i64::from(days)
        });
        let late = !self.overdue
            || c.response(p, promise, now)
                .is_some_and(|r| r.standing != Standing::OnTime);
        let service = self.service.as_deref().is_none_or(|s| s == c.service);
        party && stalled && late && service
    }
}

/// The case's procedure, as the configuration has it.
fn procedure_of<'a>(catalogue: &'a Catalogue, c: &Case) -> &'a Procedure {
    catalogue.procedure_of(&c.service)
}

/// The response clock as `cases list --json` gives it.
fn response_json(r: &Response) -> serde_json::Value {
    serde_json::json!({
        "owed": r.owed.code(),
        "working_days_used": (r.used * 10.0).round() / 10.0,
        "working_days_left": (r.left * 10.0).round() / 10.0,
        "due": r.due.format(&Rfc3339).unwrap_or_default(),
        "standing": r.standing.code(),
    })
}

/// The response clock in words: "3.5 of 7 working days used, due 2026-12-07 12:00".
fn response_words(r: &Response, promise: &Promise, language: Language) -> String {
    let due = local(r.due, promise);
    match r.standing {
        Standing::Overdue => say(
            "overdue",
            language,
            &[("days", &format!("{:.1}", -r.left)), ("due", &due)],
        ),
        standing => {
            let used = say(
                "used",
                language,
                &[
                    ("used", &format!("{:.1}", r.used)),
                    ("total", &promise.working_days.to_string()),
                    ("due", &due),
                ],
            );
            if standing == Standing::AtRisk {
                used + word("at_risk", language)
            } else {
                used
            }
        }
    }
}

/// What the agency owes, in words.
fn owed_words(owed: mnotify_intake::case::clock::Owed, language: Language) -> String {
    use mnotify_intake::case::clock::Owed;
    match owed {
        Owed::Answer => word("owed_answer", language).into(),
        Owed::Check => word("owed_check", language).into(),
        Owed::Step(step) => say("owed_step", language, &[("code", step.code())]),
    }
}

/// Who a step or a case waits on, in words.
fn party_words(party: Option<Party>, language: Language) -> &'static str {
    match party {
        Some(Party::Age) => word("party_age", language),
        Some(Party::Applicant) => word("party_applicant", language),
        None => word("nobody", language),
    }
}

/// A moment in the calendar's time zone, to the minute.
fn local(t: OffsetDateTime, promise: &Promise) -> String {
    promise.calendar.local(t, "%Y-%m-%d %H:%M")
}

pub(super) fn list(
    config: &Config,
    filter: Filter,
    json: bool,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let promise = &config.response_time;
    let catalogue = &config.procedures;
    if let Some(service) = &filter.service {
        if catalogue.get(service).is_none() {
            let codes: Vec<&str> = catalogue.iter().map(|p| p.code.as_str()).collect();
            anyhow::bail!(
                "no service `{service}`; the services are {}",
                codes.join(", ")
            );
        }
    }
    let cases: Vec<Case> = load(config)?
        .into_iter()
        .filter(|c| filter.keeps(c, procedure_of(catalogue, c), promise, now))
        .collect();
    // In the console's order: what waits on the agency first, the least time left first.
    let mut lines: Vec<Line> = cases
        .iter()
        .map(|c| queue::place(c, procedure_of(catalogue, c), promise, now))
        .collect();
    queue::sort(&mut lines);
    if json {
        // In the order tools have always read: the latest change first, or the least
        // time left first with --overdue.
        let left = |l: &Line| l.response.as_ref().map_or(f64::MAX, |r| r.left);
        lines.sort_by(|a, b| a.case.token.cmp(&b.case.token));
        if filter.overdue {
            lines.sort_by(|a, b| left(a).total_cmp(&left(b)));
        } else {
            lines.sort_by_key(|l| std::cmp::Reverse(l.case.updated_at));
        }
        for l in &lines {
            println!("{}", case_json(l.case, l.procedure, promise, now));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let language = config.staff_language;
    if lines.is_empty() {
        println!("{}", word("no_cases", language));
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![[
        "col_case",
        "col_service",
        "col_done",
        "col_decision",
        "col_next",
        "col_waiting",
        "col_idle",
        "col_applicant",
    ]
    .map(|k| word(k, language).to_string())];
    let mut clocks = vec![None];
    for l in &lines {
        rows.push(list_row(
            l,
            (language, &config.reply.agency.short_name),
            now,
        ));
        clocks.push(
            l.response
                .as_ref()
                .filter(|_| filter.overdue)
                .map(|r| response_words(r, promise, language)),
        );
    }
    print_table(&rows, &clocks);
    let unreachable = cases.iter().filter(|c| c.unreachable).count();
    if unreachable > 0 {
        let n = unreachable.to_string();
        println!("{}", say("unreachable_count", language, &[("n", &n)]));
    }
    Ok(ExitCode::SUCCESS)
}

/// One case's cells in `cases list`: what it is, what was decided and told, what it
/// waits for, the applicant last (long addresses do not push the columns).
fn list_row(l: &Line, (language, agency): (Language, &str), now: OffsetDateTime) -> [String; 8] {
    let (c, p) = (l.case, l.procedure);
    let done = c.done.keys().filter(|s| p.position(**s).is_some()).count();
    let next = match (c.merged(), l.next_told) {
        (Some(into), _) => say("merged_into", language, &[("into", into)]),
        // The step's name in the staff language (staff type no code back here).
        (None, Some(s)) => format!("{}. {}", p.number(s), p.short_of(s, language, agency)),
        (None, None) => word("completed", language).into(),
    };
    let idle = days_since(c.updated_at, now).to_string();
    [
        c.token.clone(),
        p.tag.clone(),
        format!("{done}/{}", p.steps.len()),
        c.decision_words(language).unwrap_or("-").into(),
        next,
        l.waiting.words(language).into(),
        say("days_short", language, &[("n", &idle)]),
        c.applicant.clone(),
    ]
}

/// Rows under a header row, each column as wide as its widest cell (in characters),
/// the last column unpadded; a row's clock, when given, on the line below it.
fn print_table(rows: &[[String; 8]], clocks: &[Option<String>]) {
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..7).map(width).collect();
    for (row, clock) in rows.iter().zip(clocks) {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            line += cell;
            line += &" ".repeat(w - cell.chars().count() + 2);
        }
        line += &row[7];
        println!("{line}");
        if let Some(clock) = clock {
            println!("{}{clock}", " ".repeat(widths[0] + 2));
        }
    }
}

/// One case as `cases list --json` prints it (a contract: tools read these lines).
fn case_json(c: &Case, p: &Procedure, promise: &Promise, now: OffsetDateTime) -> serde_json::Value {
    serde_json::json!({
        "id": c.token,
        "service": c.service,
        "applicant": c.applicant,
        "language": c.language.code(),
        "next_step": c.next_step_told(p).map(Step::code),
        "waiting_on": c.waiting_on(p).map(Party::code),
        "steps_done": c.done.keys().map(|s| s.code()).collect::<Vec<_>>(),
        "opened_at": c.opened_at.format(&Rfc3339).unwrap_or_default(),
        "updated_at": c.updated_at.format(&Rfc3339).unwrap_or_default(),
        "last_decision": c.last_decision.map(|d| d.code()),
        "unreachable": c.unreachable,
        "question": c.question.as_ref().map(|q| q.text.as_str()),
        "certificate_check": c.certificate_check.as_ref().map(|q| q.text.as_str()),
        "merged_into": c.merged(),
        "response": c.response(p, promise, now).as_ref().map(response_json),
        "certificates": c.certificates.iter().map(|cert| serde_json::json!({
            "serial": cert.serial,
            "sha1": cert.sha1,
            "environment": cert.environment.map(|e| e.code()),
        })).collect::<Vec<_>>(),
    })
}

fn date(t: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// The case's certificates, each with its environment.
fn print_certificates(c: &Case, p: &Procedure, language: Language) {
    use mnotify_intake::integration::Environment;
    if !c.certificates.is_empty() {
        println!("\n{}", word("certificates", language));
        for cert in &c.certificates {
            let environment = match cert.environment {
                Some(Environment::Test) => word("env_test", language),
                Some(Environment::Production) => word("env_production", language),
                // Said only where the procedure tells environments apart.
                None if p.environments_apart() => word("env_unsaid", language),
                None => "",
            };
            let line = say(
                "certificate_line",
                language,
                &[
                    ("serial", &cert.serial),
                    ("sha1", cert.sha1.as_deref().unwrap_or("-")),
                    ("at", &date(cert.at)),
                ],
            );
            println!("  {environment:<12} {line}");
        }
    }
}

pub(super) fn show(config: &Config, id: &str, full: bool, now: OffsetDateTime) -> Result<ExitCode> {
    let c = find(config, id)?;
    let p = procedure_of(&config.procedures, &c);
    let language = config.staff_language;
    let agency = &config.reply.agency.short_name;
    print_standing(config, &c, p, now);
    print_certificates(&c, p, language);
    println!("\n{}", word("steps", language));
    for step in p.order() {
        let head = format!("{}. {}", p.number(step), step.code());
        let name = p.short_of(step, language, agency);
        let said = match c.done.get(&step) {
            Some(d) => say(
                "step_done",
                language,
                &[
                    ("at", &date(d.at)),
                    ("by", d.by_said(language)),
                    ("evidence", &d.evidence_said(language)),
                ],
            ),
            None => say(
                "step_waiting",
                language,
                &[("party", party_words(Some(c.step_party(p, step)), language))],
            ),
        };
        let mark = if c.done.contains_key(&step) { "x" } else { " " };
        println!("  [{mark}] {head:<26} {name:<34} {said}");
    }
    println!("\n{}", word("timeline", language));
    for t in c.timeline_said(language) {
        println!("  {}  {}", date(t.at), t.line());
    }
    print_conversation(config, &c.token, full)?;
    Ok(ExitCode::SUCCESS)
}

/// The case's mails in order: who wrote, when, to whom, the subject, the attachments'
/// names and the text, indented (our automatic replies folded to their subject unless
/// `full`) (control and bidirectional characters shown by their code, [U+202E]).
fn print_conversation(config: &Config, token: &str, full: bool) -> Result<()> {
    use mnotify_intake::conversation::{shown, Letter, Writer};
    let language = config.staff_language;
    let (json, _) = super::ask(
        config,
        token,
        mnotify_intake::staff::StaffAction::Store(
            mnotify_intake::staff::StoreRequest::Conversation,
        ),
        None,
    )?;
    let letters: Vec<Letter> = serde_json::from_str(&json)?;
    println!("\n{}", word("conversation", language));
    if letters.is_empty() {
        println!("  {}", word("conversation_none", language));
    }
    for l in &letters {
        let at = l.at.format(time::macros::format_description!(
            "[day].[month].[year] [hour]:[minute] UTC"
        ))?;
        println!("  {at}  {}", shown(&l.writer_said(language)));
        match l.to.as_str() {
            "" => println!("    {}", shown(&l.from)),
            to => println!("    {} → {}", shown(&l.from), shown(to)),
        }
        println!("    „{}”", shown(&l.subject));
        if matches!(l.writer, Writer::Daemon { .. }) && !full {
            continue;
        }
        if !l.attachments.is_empty() {
            let names: Vec<String> = l.attachments.iter().map(|n| shown(n)).collect();
            println!("    {} {}", word("attachments", language), names.join(", "));
        }
        for line in shown(&l.text).lines() {
            println!("    | {line}");
        }
        if l.cut {
            println!("    {}", word("letter_cut", language));
        }
    }
    Ok(())
}

/// The head of `cases show`: whose case, what was decided and told, what it waits
/// for and how long the agency has.
fn print_standing(config: &Config, c: &Case, p: &Procedure, now: OffsetDateTime) {
    let language = config.staff_language;
    let agency = &config.reply.agency.short_name;
    println!(
        "{}",
        say(
            "case_head",
            language,
            &[
                ("token", c.token.as_str()),
                ("tag", &p.tag),
                ("applicant", &c.applicant),
                ("language", c.language.code()),
            ],
        )
    );
    println!(
        "{}",
        say(
            "case_dates",
            language,
            &[
                ("opened", &date(c.opened_at)),
                ("changed", &date(c.updated_at)),
                ("decision", c.decision_words(language).unwrap_or("-")),
            ],
        )
    );
    if let Some(into) = c.merged() {
        println!("{}", say("merged_note", language, &[("into", into)]));
    }
    match c.next_step_told(p) {
        Some(step) => println!(
            "{}",
            say(
                "next",
                language,
                &[
                    ("n", &p.number(step).to_string()),
                    ("code", step.code()),
                    ("name", &p.short_of(step, language, agency)),
                    // Whose the step is now, as its own line below and the
                    // reply's checklist say it (the agency's while it checks a
                    // certificate); the case may wait on the agency for something
                    // else meanwhile (its own line says so).
                    ("party", party_words(Some(c.step_party(p, step)), language)),
                ],
            )
        ),
        None => println!("{}", word("case_completed", language)),
    }
    if let Some(r) = c.response(p, &config.response_time, now) {
        let words = response_words(&r, &config.response_time, language);
        let owed = owed_words(r.owed, language);
        println!(
            "{}",
            say("response", language, &[("owed", &owed), ("words", &words)])
        );
    }
    let asked = [("question", &c.question), ("check", &c.certificate_check)];
    for (key, q) in asked {
        if let Some(q) = q {
            let fills = [
                ("at", date(q.at)),
                ("token", c.token.clone()),
                ("text", q.said(language)),
            ];
            let fills: Vec<(&str, &str)> = fills.iter().map(|(k, v)| (*k, v.as_str())).collect();
            println!("{}", say(key, language, &fills));
        }
    }
    if c.unreachable {
        println!(
            "{}",
            say("unreachable", language, &[("applicant", &c.applicant)])
        );
    }
}

pub(super) fn export(config: &Config) -> Result<ExitCode> {
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
    header.extend(Step::MNOTIFY.iter().map(|s| s.code()));
    // Then the service, and the steps of the other services MNotify's lack.
    header.push("service");
    let mut others: Vec<Step> = Vec::new();
    for p in config.procedures.iter() {
        for step in p.order() {
            if !Step::MNOTIFY.contains(&step) && !others.contains(&step) {
                others.push(step);
            }
        }
    }
    header.extend(others.iter().map(|s| s.code()));
    out.write_record(&header)?;
    let columns: Vec<Step> = Step::MNOTIFY.to_vec();
    for c in &cases {
        let p = procedure_of(&config.procedures, c);
        let mut row = vec![
            c.token.clone(),
            c.applicant.clone(),
            c.language.code().to_string(),
            c.opened_at.format(&Rfc3339)?,
            c.updated_at.format(&Rfc3339)?,
            c.next_step_told(p).map_or("", Step::code).to_string(),
            c.waiting_on(p).map_or("", Party::code).to_string(),
            c.last_decision.map_or("", |d| d.code()).to_string(),
        ];
        let done_at = |step: &Step| -> Result<String> {
            Ok(match c.done.get(step) {
                Some(d) => d.at.format(&Rfc3339)?,
                None => String::new(),
            })
        };
        for step in &columns {
            row.push(done_at(step)?);
        }
        row.push(c.service.clone());
        for step in &others {
            row.push(done_at(step)?);
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
