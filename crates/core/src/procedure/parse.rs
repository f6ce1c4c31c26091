//! Reading one procedure file: the TOML's shape, then every rule a file must keep,
//! each failure naming the file, the step and what to write.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    MailPart, Party, Procedure, ProcedureError, ProcedureStep, Reading, Step, Texts, MNOTIFY,
};
use crate::integration::Environment;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcedure {
    code: String,
    tag: String,
    name: Texts,
    description: Texts,
    #[serde(default)]
    reading: Reading,
    #[serde(default)]
    links: BTreeMap<String, String>,
    steps: Vec<RawStep>,
    /// `old_code = "new_code"` (or `""`: removed) for steps an edit renamed.
    #[serde(default)]
    renamed: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    code: String,
    number: Option<u32>,
    party: String,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    by_mail: Vec<MailPart>,
    environment: Option<String>,
    link: Option<String>,
    text: Texts,
    short: Option<Texts>,
    how: Option<Texts>,
}

const MAX_STEPS: usize = 30;

/// Reads and validates one procedure file.
pub fn parse(source: &str, text: &str) -> Result<Procedure, ProcedureError> {
    let fail = |what: String| ProcedureError {
        source_name: source.to_string(),
        what,
    };
    let raw: RawProcedure = toml::from_str(text).map_err(|e| {
        fail(format!(
            "not a procedure file: {}",
            e.to_string().trim_end()
        ))
    })?;
    check_header(source, &raw, &fail)?;
    let mut steps: Vec<ProcedureStep> = Vec::new();
    for raw_step in raw.steps {
        let step = read_step(raw_step, &steps, &raw.links, &fail)?;
        steps.push(step);
    }
    check_steps(&steps, &fail)?;
    let renamed = read_renamed(&raw.renamed, &steps, &fail)?;
    Ok(Procedure {
        renamed,
        code: raw.code,
        tag: raw.tag,
        name: raw.name,
        description: raw.description,
        reading: raw.reading,
        links: raw.links,
        steps,
        source: source.to_string(),
    })
}

/// The procedure's own fields: code, tag, names, links, how many steps.
fn check_header(
    source: &str,
    raw: &RawProcedure,
    fail: &impl Fn(String) -> ProcedureError,
) -> Result<(), ProcedureError> {
    if !is_code(&raw.code) {
        return Err(fail(format!(
            "code `{}`: write 2 to 32 lower-case letters, digits, `-` or `_`, starting with a letter",
            raw.code
        )));
    }
    let tag_ok = !raw.tag.is_empty()
        && raw.tag.len() <= 32
        && raw
            .tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !tag_ok {
        return Err(fail(format!(
            "tag `{}`: write 1 to 32 ASCII letters, digits or `-` (it goes in subjects: \"[{} #…]\")",
            raw.tag, raw.tag
        )));
    }
    for (what, texts) in [("name", &raw.name), ("description", &raw.description)] {
        check_texts(fail, what, texts)?;
    }
    for (name, url) in &raw.links {
        check_url(source, name, url)?;
    }
    if raw.steps.is_empty() || raw.steps.len() > MAX_STEPS {
        return Err(fail(format!(
            "{} steps: a procedure has 1 to {MAX_STEPS}",
            raw.steps.len()
        )));
    }
    Ok(())
}

/// One step, checked against the steps listed before it and the file's links.
fn read_step(
    raw_step: RawStep,
    steps: &[ProcedureStep],
    links: &BTreeMap<String, String>,
    fail: &impl Fn(String) -> ProcedureError,
) -> Result<ProcedureStep, ProcedureError> {
    let code = raw_step.code.clone();
    if !is_code(&code) {
        return Err(fail(format!(
            "step `{code}`: write 2 to 32 lower-case letters, digits, `-` or `_`"
        )));
    }
    if steps.iter().any(|s| s.code.code() == code) {
        return Err(fail(format!(
            "step `{code}` is listed twice; give each step its own code"
        )));
    }
    let previous = steps.last().map_or(0, |s| s.number);
    let number = raw_step.number.unwrap_or(previous + 1);
    if number < previous.max(1) {
        return Err(fail(format!(
            "step `{code}`: number {number} after {previous}; numbers start at 1 and do not go down (parts of one step may share its number)"
        )));
    }
    let party = read_party(&code, &raw_step.party, fail)?;
    for before in &raw_step.after {
        if !steps.iter().any(|s| s.code.code() == before) {
            return Err(fail(format!(
                "step `{code}`: `after` names `{before}`, which is not a step listed before it"
            )));
        }
    }
    let environment = read_environment(&code, raw_step.environment.as_deref(), fail)?;
    if environment.is_some() && !raw_step.by_mail.contains(&MailPart::Certificate) {
        return Err(fail(format!(
            "step `{code}`: an environment is for a step whose certificate comes by mail (by_mail = [\"certificate\"])"
        )));
    }
    if raw_step.by_mail.len() > 1 {
        return Err(fail(format!(
            "step `{code}`: by_mail names {} parts; give each part a step of its own (they may share a number)",
            raw_step.by_mail.len()
        )));
    }
    if party == Party::Age && !raw_step.by_mail.is_empty() {
        return Err(fail(format!(
            "step `{code}`: the agency's step cannot be completed by the applicant's mail; remove by_mail or make it the applicant's"
        )));
    }
    if let Some(link) = &raw_step.link {
        if !links.contains_key(link) {
            return Err(fail(format!(
                "step `{code}`: link `{link}` is not in [links]; add it there"
            )));
        }
    }
    check_step_texts(&code, &raw_step, fail)?;
    if party == Party::Applicant && raw_step.link.is_none() && raw_step.how.is_none() {
        return Err(fail(format!(
            "step `{code}` is the applicant's: give it a `link` or a `how` (replies that name it say how to do it)"
        )));
    }
    Ok(ProcedureStep {
        code: Step::named(&code),
        number,
        party,
        after: raw_step.after.iter().map(|a| Step::named(a)).collect(),
        by_mail: raw_step.by_mail,
        environment,
        link: raw_step.link,
        short: raw_step.short.unwrap_or_else(|| raw_step.text.clone()),
        how: raw_step.how,
        text: raw_step.text,
    })
}

fn read_party(
    code: &str,
    party: &str,
    fail: &impl Fn(String) -> ProcedureError,
) -> Result<Party, ProcedureError> {
    match party {
        "applicant" => Ok(Party::Applicant),
        "agency" | "age" => Ok(Party::Age),
        other => Err(fail(format!(
            "step `{code}`: party `{other}`; write \"applicant\" or \"agency\""
        ))),
    }
}

fn read_environment(
    code: &str,
    environment: Option<&str>,
    fail: &impl Fn(String) -> ProcedureError,
) -> Result<Option<Environment>, ProcedureError> {
    match environment {
        None => Ok(None),
        Some("test") => Ok(Some(Environment::Test)),
        Some("production") => Ok(Some(Environment::Production)),
        Some(other) => Err(fail(format!(
            "step `{code}`: environment `{other}`; write \"test\" or \"production\""
        ))),
    }
}

/// A step's texts: the text, and the short form and the how when given.
fn check_step_texts(
    code: &str,
    step: &RawStep,
    fail: &impl Fn(String) -> ProcedureError,
) -> Result<(), ProcedureError> {
    check_texts(fail, &format!("step `{code}`"), &step.text)?;
    if let Some(short) = &step.short {
        check_texts(fail, &format!("step `{code}` short"), short)?;
    }
    if let Some(how) = &step.how {
        check_texts(fail, &format!("step `{code}` how"), how)?;
    }
    Ok(())
}

/// Rules over all the steps: the last is the agency's `completed`, a certificate comes
/// by mail, several certificate steps each have their environment.
fn check_steps(
    steps: &[ProcedureStep],
    fail: &impl Fn(String) -> ProcedureError,
) -> Result<(), ProcedureError> {
    let last = steps.last().expect("at least one step (checked)");
    if last.code != Step::COMPLETED || last.party != Party::Age || steps.len() < 2 {
        return Err(fail(
            "the last step is the agency's notice that the integration is complete: code = \"completed\", party = \"agency\", after the activation step".into(),
        ));
    }
    let certificate_steps: Vec<&ProcedureStep> = steps
        .iter()
        .filter(|s| s.by_mail.contains(&MailPart::Certificate))
        .collect();
    if certificate_steps.is_empty() {
        return Err(fail(
            "no step takes the certificate by mail (by_mail = [\"certificate\"]): the mailbox has nothing to do for this service".into(),
        ));
    }
    if certificate_steps.len() > 1 {
        let mut environments: Vec<Option<Environment>> =
            certificate_steps.iter().map(|s| s.environment).collect();
        environments.sort();
        environments.dedup();
        if environments.len() != certificate_steps.len() || environments.contains(&None) {
            return Err(fail(
                "several steps take a certificate: give each its own environment (\"test\", \"production\")".into(),
            ));
        }
    }
    Ok(())
}

/// `[renamed]`: codes the procedure no longer has, each mapped to a step or to none.
fn read_renamed(
    raw: &BTreeMap<String, String>,
    steps: &[ProcedureStep],
    fail: &impl Fn(String) -> ProcedureError,
) -> Result<BTreeMap<Step, Option<Step>>, ProcedureError> {
    let mut renamed = BTreeMap::new();
    for (old, new) in raw {
        if steps.iter().any(|s| s.code.code() == old) {
            return Err(fail(format!(
                "[renamed] {old}: `{old}` is still a step; list only codes the procedure no longer has"
            )));
        }
        let to = if new.is_empty() {
            None
        } else {
            match steps.iter().find(|s| s.code.code() == new) {
                Some(s) => Some(s.code),
                None => {
                    return Err(fail(format!(
                        "[renamed] {old} = \"{new}\": `{new}` is not a step; name one of the steps (or \"\" for a step removed)"
                    )))
                }
            }
        };
        renamed.insert(Step::named(old), to);
    }
    Ok(renamed)
}

fn check_texts(
    fail: &impl Fn(String) -> ProcedureError,
    what: &str,
    texts: &Texts,
) -> Result<(), ProcedureError> {
    for (language, text) in texts.all() {
        if text.trim().is_empty() {
            return Err(fail(format!("{what}: the `{language}` text is empty")));
        }
        if text.chars().any(char::is_control) {
            return Err(fail(format!(
                "{what}: the `{language}` text has a control character (a line break?); write it on one line"
            )));
        }
    }
    Ok(())
}

pub(super) fn check_url(source: &str, name: &str, url: &str) -> Result<(), ProcedureError> {
    let ok = url.starts_with("https://")
        && url.len() > "https://".len()
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ProcedureError {
            source_name: source.to_string(),
            what: format!(
                "link `{name}` = `{url}`: write an https:// address without spaces (applicants open it)"
            ),
        })
    }
}

fn is_code(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Rules across files: codes and tags unique, MNotify there (cases before services
/// were told apart are its).
pub(super) fn check_catalogue(procedures: &[Procedure]) -> Result<(), ProcedureError> {
    for (i, p) in procedures.iter().enumerate() {
        if let Some(other) = procedures[..i]
            .iter()
            .find(|o| o.tag.eq_ignore_ascii_case(&p.tag))
        {
            return Err(ProcedureError {
                source_name: p.source.clone(),
                what: format!(
                    "tag `{}` is also {}'s ({}); give each service its own tag",
                    p.tag, other.code, other.source
                ),
            });
        }
    }
    if !procedures.iter().any(|p| p.code == MNOTIFY) {
        return Err(ProcedureError {
            source_name: "procedures".into(),
            what: "no `mnotify` procedure: the cases opened before services were told apart are MNotify's; keep its file".into(),
        });
    }
    Ok(())
}
