//! The digest written out: the same [`sections`] as plain text and as HTML that reads
//! well in Outlook (tables, inline styles only: Outlook ignores `<style>`).

use super::sections::{sections, Cell, Section};
use super::words::words;
use super::{day, Digest};
use crate::html::escape as esc;

/// The digest's title: the service it covers, or the platform's services (the
/// mailbox serves them all); its subject begins with it.
pub(super) fn title(d: &Digest) -> String {
    let w = words(d.settings.language);
    let service = d.settings.service.as_deref().unwrap_or(w.all_services);
    w.digest.replace("{service}", service)
}

/// The plain-text part: a heading per section with its count, a line per row, the
/// cells apart by dashes.
pub fn render_text(d: &Digest) -> String {
    let w = words(d.settings.language);
    let mut out = format!(
        "{} — {} ({} {} {:02}:{:02} UTC)\n",
        title(d),
        day(d.now),
        w.since,
        day(d.since),
        d.since.hour(),
        d.since.minute()
    );
    for Section { title, rows, .. } in sections(d) {
        out += &format!("\n{title} ({})\n", rows.len());
        if rows.is_empty() {
            out += "  —\n";
        }
        for row in rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| c.lines.join(", "))
                .filter(|c| !c.is_empty())
                .collect();
            out += &format!("  {}\n", cells.join(" — "));
        }
    }
    out += &format!("\n{}\n", w.footer);
    out
}

/// Text between backticks set as code, as the text part writes it.
fn code_spans(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out += &format!("<code>{part}</code>");
        } else {
            out += part;
        }
    }
    out
}

const TABLE: &str = "border-collapse:collapse;width:100%;margin:4px 0 18px 0;font-size:13px";
const TH: &str = "text-align:left;background:#eef2f7;border:1px solid #d5dde8;padding:6px 8px;font-weight:600;color:#1f2933";
const TD: &str = "border:1px solid #d5dde8;padding:6px 8px;vertical-align:top;color:#1f2933";
const CODE: &str = "font-family:Consolas,monospace;font-size:12px";

fn cell(c: &Cell) -> String {
    let lines: Vec<String> = c
        .lines
        .iter()
        .map(|l| {
            if c.code {
                format!("<code style=\"{CODE}\">{}</code>", esc(l))
            } else {
                esc(l)
            }
        })
        .collect();
    lines.join("<br>")
}

fn table(s: &Section) -> String {
    let mut h = format!(
        "<h3 style=\"font-size:15px;margin:18px 0 4px 0;color:#0b4f8a\">{} <span style=\"color:#6b7785;font-weight:normal\">({})</span></h3>",
        esc(&s.title),
        s.rows.len()
    );
    if s.rows.is_empty() {
        h += "<p style=\"margin:2px 0 14px 0;color:#6b7785\">—</p>";
        return h;
    }
    h += &format!("<table cellpadding=\"0\" cellspacing=\"0\" style=\"{TABLE}\"><tr>");
    for head in s.columns {
        h += &format!("<th style=\"{TH}\">{}</th>", esc(head));
    }
    h += "</tr>";
    for row in &s.rows {
        h += "<tr>";
        for c in row {
            h += &format!("<td style=\"{TD}\">{}</td>", cell(c));
        }
        h += "</tr>";
    }
    h += "</table>";
    h
}

/// The HTML part: the counts that matter at the top, then one table per section.
pub fn render_html(d: &Digest) -> String {
    let mut h = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:Segoe UI,Arial,sans-serif;font-size:14px;line-height:1.45;color:#1f2933;margin:0;padding:16px\">",
    );
    let w = words(d.settings.language);
    let mut since = w.since.chars();
    let since: String = since
        .next()
        .into_iter()
        .flat_map(char::to_uppercase)
        .chain(since)
        .collect();
    h += &format!(
        "<h2 style=\"font-size:19px;margin:0 0 4px 0;color:#0b4f8a\">{} — {}</h2>\
         <p style=\"margin:0 0 8px 0;color:#6b7785\">{since} {} {:02}:{:02} UTC · {}: {} · {}: {} · {}: {} · {}: {}</p>",
        esc(&title(d)),
        day(d.now),
        day(d.since),
        d.since.hour(),
        d.since.minute(),
        w.count_new,
        d.new_cases.len(),
        w.count_accepted,
        d.accepted.len(),
        w.count_reused,
        d.reused.len(),
        esc(&w.count_waiting.replace("{agency}", &d.settings.agency)),
        d.waiting_on_age.len()
    );
    for s in sections(d) {
        h += &table(&s);
    }
    h += &format!(
        "<p style=\"color:#6b7785;font-size:12px;margin-top:20px\">{}</p></body></html>",
        code_spans(&esc(w.footer))
    );
    h
}
