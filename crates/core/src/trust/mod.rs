//! Who sent a message, as far as our own receiving server can tell (DESIGN, "Trust
//! model"): everything in a mail is claimed; only the `Authentication-Results` our
//! server stamped on top of it say whether the `From:` domain is the sender's.
//!
//! Pure: [`Trace`] is read from the raw header section by `intake`, [`assess`] turns
//! it and the `From:` address into a [`Sender`] under the configured [`Policy`].

pub mod auth_results;
pub mod domain;
pub mod exchange;

use serde::Serialize;

use auth_results::MethodResult;

/// Caps on automatic replies that hold whatever the other side does: a sender who
/// rotates addresses or domains still meets the case and hourly caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub per_recipient_per_day: u32,
    pub per_case_per_day: u32,
    pub per_domain_per_day: u32,
    pub per_hour: u32,
}

/// Header fields read from the top of a message at most: trace fields of a few hops.
const MAX_TRACE_FIELDS: usize = 200;

/// What the configuration says about senders (`[trust]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Lower-case authserv-ids of our own receiving servers.
    pub authserv_ids: Vec<String>,
    /// The Microsoft 365 tenant (lower-case GUID) whose Exchange Online is our
    /// receiving server ([`exchange`]).
    pub exchange_tenant: Option<String>,
    pub senders: SenderRule,
}

/// What happens to mail whose sender is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderRule {
    /// It changes nothing: filed for staff, who may accept it by hand.
    Require,
    /// It is processed, and marked where staff look.
    Flag,
    /// Sender authentication is not used (a mailbox behind a server that stamps
    /// nothing); the daemon warns at every start.
    Off,
}

impl SenderRule {
    pub fn code(self) -> &'static str {
        match self {
            SenderRule::Require => "require",
            SenderRule::Flag => "flag",
            SenderRule::Off => "off",
        }
    }
}

/// Which receiving server's stamp decided a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `Authentication-Results` with one of `[trust] authserv_id`.
    AuthservId,
    /// Exchange Online's, for `[trust] exchange_online_tenant`.
    ExchangeOnline,
}

/// How a sender was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Dmarc,
    Dkim,
    Spf,
    Compauth,
}

/// The verdict on one message's sender (`inspect --json`'s `sender`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Sender {
    /// The `From:` address, lower case.
    pub address: Option<String>,
    /// Its domain.
    pub domain: Option<String>,
    pub authenticated: bool,
    pub method: Option<Method>,
    /// Whose stamp decided: `None` when no stamp of a receiving server of ours was found.
    #[serde(default)]
    pub rule: Option<Rule>,
    /// Why, in words staff read ("DMARC pass for inst.md by mx.egov.md", "no
    /// Authentication-Results from our server", …).
    pub reason: String,
}

impl Sender {
    /// The organizational domain of an authenticated sender: the institution identity
    /// a case belongs to. `None` when not authenticated.
    pub fn identity(&self) -> Option<String> {
        self.authenticated
            .then(|| self.domain.as_deref().map(domain::organizational))
            .flatten()
    }

    /// One line for timelines and the digest: `ion@inst.md (DMARC)` or
    /// `x@inst.md (not authenticated: …)`.
    pub fn describe(&self) -> String {
        let who = self.address.as_deref().unwrap_or("(no From address)");
        match (self.authenticated, self.method) {
            (true, Some(m)) => format!("{who} (authenticated: {})", m.label()),
            _ => format!("{who} (not authenticated: {})", self.reason),
        }
    }
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Dmarc => "DMARC",
            Method::Dkim => "DKIM",
            Method::Spf => "SPF",
            Method::Compauth => "compauth",
        }
    }
}

/// One header field at the top of a message, before the sender's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceField {
    /// An `Authentication-Results` field's value, unfolded.
    AuthResults(String),
    /// A `Received` field's value, unfolded: the boundary between two hops.
    Received(String),
    /// Another field receiving servers add (`Return-Path`, `Delivered-To`, `ARC-*`,
    /// Microsoft's `X-MS-*`, …).
    Other,
}

/// The header fields receiving servers put on top of a message, in order, and how many
/// `From:` fields the message has (DMARC does not judge a message with several).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    pub fields: Vec<TraceField>,
    pub from_fields: usize,
    /// What the whole header section shows of Exchange Online's stamps.
    pub exchange: exchange::ExchangeTrace,
}

impl Trace {
    /// When the topmost receiving server (ours) took the mail: the date of the first
    /// `Received:` field, if it has one that reads.
    pub fn received_at(&self) -> Option<time::OffsetDateTime> {
        let first = self.fields.iter().find_map(|f| match f {
            TraceField::Received(value) => Some(value),
            _ => None,
        })?;
        let date = first.rsplit(';').next()?.trim();
        time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc2822).ok()
    }

    /// Whether a hop of the trace took the mail from a user who logged in (RFC 3848's
    /// `with ESMTPA`/`ESMTPSA`…, Postfix's "Authenticated sender", a local `sendmail`
    /// "from userid", Exchange's `with HTTPS`/`with MAPI` of Outlook and the web app):
    /// mail a person submitted, not one a server made. (`LMTPA` is
    /// not: final delivery into the store, which Cyrus authenticates, is no submission.)
    /// The sender may add such lines of their own, never remove ours: it fails closed.
    pub fn submitted_by_a_user(&self) -> bool {
        static SUBMITTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r"(?i)\bwith\s+(?:utf8)?e?smtps?a\b|\bwith\s+(?:https|mapi)\b|\(authenticated\s+sender:|\bfrom\s+userid\s+\d",
            )
            .expect("valid pattern")
        });
        self.fields.iter().any(|f| match f {
            TraceField::Received(value) => SUBMITTED.is_match(value),
            _ => false,
        })
    }
}

/// Reads the trace at the top of a header section (raw bytes up to the blank line):
/// fields are taken until the first one that is not a trace field.
pub fn read_trace(header: &[u8]) -> Trace {
    let mut trace = Trace::default();
    let mut in_trace = true;
    let all: Vec<(String, String)> = fields(header).collect();
    trace.exchange = exchange::ExchangeTrace::read(all.iter().cloned());
    for (name, value) in all {
        let name = name.to_ascii_lowercase();
        if name == "from" {
            trace.from_fields += 1;
        }
        if !in_trace {
            continue;
        }
        let field = match name.as_str() {
            "authentication-results" => TraceField::AuthResults(value),
            "received" => TraceField::Received(value),
            n if is_trace_name(n) => TraceField::Other,
            _ => {
                in_trace = false;
                continue;
            }
        };
        if trace.fields.len() < MAX_TRACE_FIELDS {
            trace.fields.push(field);
        } else {
            in_trace = false;
        }
    }
    trace
}

/// Fields a receiving server adds above the sender's own.
fn is_trace_name(name: &str) -> bool {
    matches!(
        name,
        "return-path"
            | "delivered-to"
            | "x-original-to"
            | "received-spf"
            | "dkim-filter"
            | "dmarc-filter"
            // Cyrus IMAP's delivery adds these above everything else.
            | "x-cyrus-session-id"
            | "x-sieve"
    ) || [
        "arc-",
        "x-ms-",
        "x-microsoft-",
        "x-forefront-",
        "x-eopattributedmessage",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// Header fields as `(name, unfolded value)`; lossy on invalid UTF-8.
fn fields(header: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    let text = String::from_utf8_lossy(header);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                if value.len() < auth_results::MAX_FIELD_CHARS * 2 {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.is_empty() && !name.contains(' ') => {
                out.push((name.to_string(), value.trim().to_string()))
            }
            // Not a field: the header section is over (as a mail parser would take it).
            _ => break,
        }
    }
    out.into_iter()
}

/// The verdict on a message's sender.
pub fn assess(trace: &Trace, from: Option<&str>, policy: &Policy) -> Sender {
    let address = from
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'));
    let from_domain = address.as_deref().and_then(domain::of_address);
    let verdict = |method: Option<Method>, rule: Option<Rule>, reason: String| Sender {
        address: address.clone(),
        domain: from_domain.clone(),
        authenticated: method.is_some(),
        method,
        rule,
        reason,
    };
    let Some(from_domain) = from_domain.clone() else {
        return verdict(None, None, "no From address".into());
    };
    if trace.from_fields > 1 {
        return verdict(None, None, "several From fields".into());
    }
    let classic =
        (!policy.authserv_ids.is_empty()).then(|| match our_results(trace, &policy.authserv_ids) {
            Ours::None => Err("no Authentication-Results from our receiving server".to_string()),
            Ours::Overflowed => {
                Err("Authentication-Results too long to be our server's".to_string())
            }
            Ours::Results(r) => Ok(judge_results(&r, &from_domain, Rule::AuthservId)),
        });
    let online = policy.exchange_tenant.as_deref().map(|tenant| {
        trace
            .exchange
            .results(tenant)
            .map(|r| judge_results(&r, &from_domain, Rule::ExchangeOnline))
            .map_err(|why| format!("Exchange Online: {why}"))
    });
    match (classic, online) {
        // Both kinds of stamp: Exchange's front door is the top of the message when
        // the mailbox is on Exchange, so it decides; stamps that disagree are not
        // believed at all.
        (Some(Ok((m1, r1))), Some(Ok((m2, r2)))) => {
            if m1.is_some() == m2.is_some() {
                verdict(m2, Some(Rule::ExchangeOnline), r2)
            } else {
                verdict(
                    None,
                    Some(Rule::ExchangeOnline),
                    format!("our receiving servers' stamps contradict each other ({r1}; Exchange Online: {r2})"),
                )
            }
        }
        (Some(Ok((m, r))), _) => verdict(m, Some(Rule::AuthservId), r),
        (_, Some(Ok((m, r)))) => verdict(m, Some(Rule::ExchangeOnline), r),
        (Some(Err(a)), Some(Err(b))) => verdict(None, None, format!("{a}; {b}")),
        (Some(Err(why)), None) | (None, Some(Err(why))) => verdict(None, None, why),
        (None, None) => verdict(
            None,
            None,
            "no receiving server of ours is configured".into(),
        ),
    }
}

/// What our server's results say of the From domain: the method that authenticates
/// it, or none, and why in words.
fn judge_results(
    results: &[MethodResult],
    from_domain: &str,
    rule: Rule,
) -> (Option<Method>, String) {
    let by = |m: &'static str| results.iter().filter(move |r| r.method == m);
    // DMARC judged the From domain itself: a failure, or results that disagree, end it
    // (a consistent verifier never reports aligned DKIM or SPF beside a DMARC fail).
    let dmarc: Vec<&MethodResult> = by("dmarc")
        .filter(|r| {
            r.property("header.from")
                .is_none_or(|d| d.eq_ignore_ascii_case(from_domain))
        })
        .collect();
    if let Some(failure) = dmarc_failure(&dmarc, from_domain) {
        return (None, failure);
    }
    if dmarc
        .iter()
        .any(|r| r.result == "pass" && r.property("header.from").is_some())
    {
        return (Some(Method::Dmarc), format!("DMARC pass for {from_domain}"));
    }
    if let Some(reason) = aligned_pass(by("dkim"), "header.d", from_domain, "DKIM") {
        return reason.map_or_else(|r| (None, r), |r| (Some(Method::Dkim), r));
    }
    // compauth names no domain: it speaks of the From domain only when the same
    // field's DMARC result names it (`header.from`).
    let about_from = dmarc.iter().any(|r| r.property("header.from").is_some());
    let compauth: Vec<&MethodResult> = if about_from {
        by("compauth").collect()
    } else {
        Vec::new()
    };
    if rule == Rule::ExchangeOnline {
        // Exchange Online: SPF alone is not enough; its composite verdict is, with a
        // pass reason ([`exchange::compauth_pass`]).
        if !compauth.is_empty() && compauth.iter().all(|r| exchange::compauth_pass(r)) {
            let reason = compauth[0].property("reason").unwrap_or("");
            return (
                Some(Method::Compauth),
                format!("compauth pass (reason {reason}) for {from_domain} by Exchange Online"),
            );
        }
    } else {
        if let Some(reason) = aligned_pass(by("spf"), "smtp.mailfrom", from_domain, "SPF") {
            return reason.map_or_else(|r| (None, r), |r| (Some(Method::Spf), r));
        }
        if !compauth.is_empty() && compauth.iter().all(|r| r.result == "pass") {
            return (Some(Method::Compauth), "compauth pass".into());
        }
    }
    (None, no_aligned_pass(results, from_domain))
}

/// A DMARC result for the From domain that is not a pass (or results that disagree):
/// what to say of it.
fn dmarc_failure(dmarc: &[&MethodResult], from_domain: &str) -> Option<String> {
    if !dmarc
        .iter()
        .any(|r| r.result != "pass" && r.result != "none")
    {
        return None;
    }
    let passes = dmarc.iter().any(|r| r.result == "pass");
    let failed = dmarc
        .iter()
        .find(|r| r.result != "pass" && r.result != "none")
        .map_or("fail", |r| r.result.as_str());
    let what = if passes {
        "contradictory DMARC results".to_string()
    } else if failed == "fail" {
        "DMARC fail".to_string()
    } else {
        format!("DMARC {failed} (not a pass)")
    };
    Some(format!("{what} for {from_domain}"))
}

/// Why no method vouched for `from_domain`: the first results, as staff read them.
fn no_aligned_pass(results: &[MethodResult], from_domain: &str) -> String {
    let seen: Vec<String> = results
        .iter()
        .take(6)
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    format!(
        "no aligned pass for {from_domain} ({})",
        if seen.is_empty() {
            "no results".into()
        } else {
            seen.join(", ")
        }
    )
}

/// For DKIM (`header.d`) or SPF (`smtp.mailfrom`): `Some(Ok(reason))` for a pass whose
/// domain is aligned with `from_domain`, `Some(Err(reason))` when another result for an
/// aligned domain contradicts it, `None` when there is no aligned pass.
fn aligned_pass<'a>(
    results: impl Iterator<Item = &'a MethodResult>,
    property: &str,
    from_domain: &str,
    label: &str,
) -> Option<Result<String, String>> {
    let aligned: Vec<&MethodResult> = results
        .filter(|r| {
            r.property(property)
                .and_then(|v| {
                    if v.contains('@') {
                        domain::of_address(v)
                    } else {
                        Some(v.trim_start_matches('@').to_ascii_lowercase())
                    }
                })
                .is_some_and(|d| domain::aligned(&d, from_domain))
        })
        .collect();
    let pass = aligned.iter().find(|r| r.result == "pass")?;
    if aligned.iter().any(|r| {
        matches!(
            r.result.as_str(),
            "fail" | "softfail" | "permerror" | "policy"
        )
    }) {
        return Some(Err(format!(
            "contradictory {label} results for {from_domain}"
        )));
    }
    let d = pass.property(property).unwrap_or(from_domain);
    Some(Ok(format!(
        "{label} pass for {d}, aligned with {from_domain}"
    )))
}

/// Whether one of our receiving servers stamped the message at all (mail made inside
/// our own mail system, such as our relay's delivery reports, carries no stamp).
pub fn stamped_by(trace: &Trace, ids: &[String]) -> bool {
    !matches!(our_results(trace, ids), Ours::None)
}

enum Ours {
    None,
    Overflowed,
    Results(Vec<MethodResult>),
}

/// The results our servers stamped: the `Authentication-Results` fields with one of our
/// authserv-ids at the top of the message, down to the first field that is not ours
/// (another server's results, or the `Received` of the hop that brought the mail in).
fn our_results(trace: &Trace, ids: &[String]) -> Ours {
    let mut results = Vec::new();
    let mut found = false;
    for field in &trace.fields {
        match field {
            TraceField::AuthResults(value) => {
                let parsed = auth_results::parse(value);
                if !ids
                    .iter()
                    .any(|id| id.eq_ignore_ascii_case(&parsed.authserv_id))
                    || parsed.authserv_id.is_empty()
                {
                    break;
                }
                if parsed.overflowed {
                    return Ours::Overflowed;
                }
                found = true;
                results.extend(parsed.results);
                if results.len() > auth_results::MAX_RESULTS_PER_FIELD {
                    return Ours::Overflowed;
                }
            }
            TraceField::Received(_) if found => break,
            TraceField::Received(_) | TraceField::Other => {}
        }
    }
    if found {
        Ours::Results(results)
    } else {
        Ours::None
    }
}

#[cfg(test)]
mod tests;
