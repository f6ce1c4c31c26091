//! What `cases list`, `cases show` and `cases export` print: read-only views of the
//! cases, with AGE's response clock.

use std::process::ExitCode;

use anyhow::Result;
use mnotify_intake::case::clock::{Promise, Response, Standing};
use mnotify_intake::case::{Case, Party, Step};
use mnotify_intake::config::Config;
use mnotify_intake::procedure::{Catalogue, Procedure};
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
fn response_words(r: &Response, promise: &Promise) -> String {
    let due = local(r.due, promise);
    match r.standing {
        Standing::Overdue => format!("OVERDUE by {:.1} working days (was due {due})", -r.left),
        standing => format!(
            "{:.1} of {} working days used, due {due}{}",
            r.used,
            promise.working_days,
            if standing == Standing::AtRisk {
                " (at risk)"
            } else {
                ""
            }
        ),
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
    let mut cases: Vec<Case> = load(config)?
        .into_iter()
        .filter(|c| filter.keeps(c, procedure_of(catalogue, c), promise, now))
        .collect();
    if filter.overdue {
        let left = |c: &Case| {
            c.response(procedure_of(catalogue, c), promise, now)
                .map_or(f64::MAX, |r| r.left)
        };
        cases.sort_by(|a, b| left(a).total_cmp(&left(b)));
    } else {
        cases.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
    }
    if json {
        for c in &cases {
            println!("{}", case_json(c, procedure_of(catalogue, c), promise, now));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if cases.is_empty() {
        println!("no cases match");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<8} {:<8} {:<5} {:<22} {:<26} {:<10} {:>5}  APPLICANT",
        "CASE", "SERVICE", "DONE", "LAST DECISION", "NEXT STEP TOLD", "WAITING", "IDLE"
    );
    for c in &cases {
        let p = procedure_of(catalogue, c);
        print_line(c, p, now);
        if filter.overdue {
            if let Some(r) = c.response(p, promise, now) {
                println!("         {}", response_words(&r, promise));
            }
        }
    }
    let unreachable = cases.iter().filter(|c| c.unreachable).count();
    if unreachable > 0 {
        println!(
            "{unreachable} of them unreachable by mail (our last message did not arrive): `cases show` says why"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One case's line of `cases list`.
fn print_line(c: &Case, p: &Procedure, now: OffsetDateTime) {
    let done = c.done.keys().filter(|s| p.position(**s).is_some()).count();
    let next = if let Some(into) = c.merged() {
        format!("merged→#{into}")
    } else {
        c.next_step_told(p).map_or("(completed)".into(), |s| {
            format!("{}. {}", p.number(s), s.code())
        })
    };
    // What the case waits for, when it waits on AGE: an answer, a check, a step.
    let waiting = match (c.waiting_on(p), &c.question, &c.certificate_check) {
        (Some(Party::Age), Some(_), _) => "age:answer",
        (Some(Party::Age), None, Some(_)) => "age:check",
        (party, _, _) => party.map_or("-", Party::code),
    };
    println!(
        "{:<8} {:<8} {:<5} {:<22} {:<26} {:<10} {:>4}d  {}",
        c.token,
        p.tag,
        format!("{done}/{}", p.steps.len()),
        c.last_decision.map_or("-", |d| d.code()),
        next,
        waiting,
        days_since(c.updated_at, now),
        c.applicant,
    );
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
fn print_certificates(c: &Case) {
    if !c.certificates.is_empty() {
        println!("\ncertificates:");
        for cert in &c.certificates {
            println!(
                "  {:<12} serial {}  sha1 {}  received {}",
                cert.environment.map_or("(not said)", |e| e.code()),
                cert.serial,
                cert.sha1.as_deref().unwrap_or("-"),
                date(cert.at)
            );
        }
    }
}

pub(super) fn show(config: &Config, id: &str, now: OffsetDateTime) -> Result<ExitCode> {
    let c = find(load(config)?, id)?;
    let p = procedure_of(&config.procedures, &c);
    println!(
        "Case #{}  {}  {}  (language {})",
        c.token,
        p.tag,
        c.applicant,
        c.language.code()
    );
    println!(
        "opened {}, last change {}, last decision {}",
        date(c.opened_at),
        date(c.updated_at),
        c.last_decision.map_or("-", |d| d.code())
    );
    if let Some(into) = c.merged() {
        println!("merged into case #{into}: closed; its mail joins #{into}");
    }
    match c.next_step_told(p) {
        Some(step) => println!(
            "next: {}. {} (waiting on {})",
            p.number(step),
            step.code(),
            c.waiting_on(p).map_or("nobody", Party::code)
        ),
        None => println!("completed"),
    }
    if let Some(r) = c.response(p, &config.response_time, now) {
        println!(
            "response time ({}): {}",
            r.owed.code(),
            response_words(&r, &config.response_time)
        );
    }
    if let Some(q) = &c.question {
        println!(
            "open question since {} (waiting on age; `cases answered {}` once answered): {}",
            date(q.at),
            c.token,
            q.text
        );
    }
    if c.unreachable {
        println!(
            "our last message to {} did not arrive: reach them another way",
            c.applicant
        );
    }
    print_certificates(&c);
    println!("\nsteps:");
    for step in p.order() {
        match c.done.get(&step) {
            Some(d) => println!(
                "  [x] {}. {:<22} {} by {}: {}",
                p.number(step),
                step.code(),
                date(d.at),
                d.by,
                d.evidence
            ),
            None => println!(
                "  [ ] {}. {:<22} waiting on {}",
                p.number(step),
                step.code(),
                p.party(step).code()
            ),
        }
    }
    println!("\ntimeline:");
    for t in &c.timeline {
        println!("  {}  {}", date(t.at), t.what);
    }
    Ok(ExitCode::SUCCESS)
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
