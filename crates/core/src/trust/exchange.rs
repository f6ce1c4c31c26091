//! Exchange Online as our receiving server (`[trust] exchange_online_tenant`).
//!
//! Exchange Online stamps its `Authentication-Results` without an authserv-id (the
//! value starts at `spf=`), so the rule of [`super::our_results`] cannot find them.
//! What tells its stamps from a sender's is position and the tenant:
//! - the front door: the topmost `Received: … by <host>.mail.protection.outlook.com …
//!   via Frontend Transport`, the hop where Exchange took the mail from outside;
//!   everything below it was written by the sender (another tenant's id-less
//!   `Authentication-Results` and ARC sets included) and proves nothing;
//! - above the front door only what Exchange writes: Microsoft's own hops (`by` a host
//!   of outlook.com, office365.com, exchangelabs.com or microsoft.com), its ARC set,
//!   `Received-SPF`, `X-MS-*`/`X-Microsoft-*`/`X-Forefront-*` stamps, the delivery
//!   fields (`Return-Path`, `Delivered-To`); anything else there means the mail did
//!   not come straight from Exchange Online, and nothing is believed;
//! - exactly one id-less `Authentication-Results` above the front door (none, or two,
//!   is not believed);
//! - the tenant: Exchange appends `X-MS-Exchange-CrossTenant-Id` of the receiving
//!   tenant at the end of the header section, after anything the sender wrote, so the
//!   last such field must name ours.
//!
//! Shapes verified on public captures of mail delivered into Microsoft 365 mailboxes
//! (see `tests/fixtures/exchange-online/README.md`).

use std::sync::LazyLock;

use regex::Regex;

use super::auth_results::{self, MethodResult};

/// Header fields read at most for this rule; a header section with more is not
/// believed (a stranger's 100,000 fields cost a bounded read).
pub const MAX_HEADER_FIELDS: usize = 10_000;

/// The hop where Exchange Online took the mail from outside.
static FRONT_DOOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?is)\bby\s+[a-z0-9-]+\.mail\.protection\.outlook\.com\b.*\bvia\s+frontend\s+transport\b",
    )
    .expect("valid pattern")
});

/// The `by` host of a `Received` field.
static BY_HOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bby\s+([a-z0-9.-]+)").expect("valid pattern"));

/// Domains of Microsoft's own mail hosts.
const MICROSOFT_HOSTS: &[&str] = &[
    "outlook.com",
    "office365.com",
    "exchangelabs.com",
    "microsoft.com",
];

/// What a header section shows of Exchange Online's stamps, read without knowing the
/// tenant (the intake reads it; [`ExchangeTrace::results`] judges it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeTrace {
    /// The front door was found.
    pub front_door: bool,
    /// The first field above the front door Exchange does not write, if any.
    pub foreign_above: Option<String>,
    /// Values of the id-less `Authentication-Results` above the front door.
    pub idless_results: Vec<String>,
    /// The value of the last `X-MS-Exchange-CrossTenant-Id`.
    pub last_tenant: Option<String>,
    /// More fields than [`MAX_HEADER_FIELDS`].
    pub overflowed: bool,
}

impl ExchangeTrace {
    /// Reads every header field, in order (name and unfolded value).
    pub fn read(fields: impl Iterator<Item = (String, String)>) -> ExchangeTrace {
        let mut trace = ExchangeTrace::default();
        let mut above: Vec<(String, String)> = Vec::new();
        for (n, (name, value)) in fields.enumerate() {
            if n >= MAX_HEADER_FIELDS {
                trace.overflowed = true;
                break;
            }
            let lower = name.to_ascii_lowercase();
            if lower == "x-ms-exchange-crosstenant-id" {
                trace.last_tenant = Some(value.trim().to_ascii_lowercase());
            }
            if trace.front_door {
                continue;
            }
            if lower == "received" && FRONT_DOOR.is_match(&value) {
                trace.front_door = true;
                trace.foreign_above = above
                    .iter()
                    .find(|(name, value)| !written_by_exchange(name, value))
                    .map(|(name, _)| name.clone());
                trace.idless_results = above
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case("authentication-results"))
                    .filter(|(_, value)| auth_results::parse(value).authserv_id.is_empty())
                    .map(|(_, value)| value.clone())
                    .collect();
                above.clear();
                continue;
            }
            // Only the fields before the front door are kept, and a real one has a
            // few dozen: past that the rule will not believe it anyway.
            if above.len() < 200 {
                above.push((name, value));
            } else {
                trace.foreign_above = Some("(too many fields)".into());
            }
        }
        if trace.foreign_above.is_none() && above.len() >= 200 && !trace.front_door {
            trace.foreign_above = Some("(too many fields)".into());
        }
        trace
    }

    /// The results Exchange Online stamped for `tenant`, or why none are believed.
    pub fn results(&self, tenant: &str) -> Result<Vec<MethodResult>, NotBelieved> {
        if self.overflowed {
            return Err(NotBelieved::TooManyFields);
        }
        if !self.front_door {
            return Err(NotBelieved::NoFrontDoor);
        }
        if let Some(name) = &self.foreign_above {
            return Err(NotBelieved::ForeignAbove(name.clone()));
        }
        match self.last_tenant.as_deref() {
            None => return Err(NotBelieved::NoTenant),
            Some(t) if !t.eq_ignore_ascii_case(tenant.trim()) => {
                return Err(NotBelieved::OtherTenant(t.to_string()))
            }
            Some(_) => {}
        }
        match self.idless_results.as_slice() {
            [] => Err(NotBelieved::NoResults),
            [one] => {
                let parsed = auth_results::parse(one);
                if parsed.overflowed {
                    Err(NotBelieved::ResultsTooLong)
                } else {
                    Ok(parsed.results)
                }
            }
            _ => Err(NotBelieved::TwoResults),
        }
    }
}

/// Why no stamp of Exchange Online is believed for a mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotBelieved {
    #[error("a header section of more than {MAX_HEADER_FIELDS} fields is not Exchange Online's")]
    TooManyFields,
    #[error("no Exchange Online front door (Received … by …mail.protection.outlook.com … via Frontend Transport)")]
    NoFrontDoor,
    #[error("a field Exchange Online does not write ({0}) stands above its front door")]
    ForeignAbove(String),
    #[error("no X-MS-Exchange-CrossTenant-Id: not delivered by our tenant")]
    NoTenant,
    #[error("stamped by tenant {0}, not ours")]
    OtherTenant(String),
    #[error("no Authentication-Results of Exchange Online above its front door")]
    NoResults,
    #[error("Exchange Online's Authentication-Results are too long to be its own")]
    ResultsTooLong,
    #[error("two Authentication-Results of Exchange Online above its front door")]
    TwoResults,
}

/// Whether a field above the front door is one Exchange Online writes.
fn written_by_exchange(name: &str, value: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if name == "received" {
        return BY_HOST.captures(value).is_some_and(|c| {
            let host = c[1].trim_end_matches('.').to_ascii_lowercase();
            MICROSOFT_HOSTS
                .iter()
                .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        });
    }
    matches!(
        name.as_str(),
        "authentication-results"
            | "arc-seal"
            | "arc-message-signature"
            | "arc-authentication-results"
            | "received-spf"
            | "return-path"
            | "delivered-to"
            | "x-original-to"
    ) || ["x-ms-", "x-microsoft-", "x-forefront-", "x-eop"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Whether a `compauth` result is a pass we take: `pass` with a reason of 1xx or 7xx,
/// but not 130 (ARC overrode a failed DMARC: the From domain's own check failed, and
/// which sealers count is the tenant's setting, not evidence). `softpass`, `none` and
/// `bestguesspass` are not passes.
pub fn compauth_pass(result: &MethodResult) -> bool {
    if result.result != "pass" {
        return false;
    }
    let reason = result.property("reason").unwrap_or("");
    reason != "130" && (reason.starts_with('1') || reason.starts_with('7')) && reason.len() == 3
}

#[cfg(test)]
mod tests {
    use super::super::{assess, read_trace, Method, Policy, Rule, SenderRule};

    const TENANT: &str = "72f988bf-0000-4000-8000-00000000a6e0";

    fn fixture(name: &str) -> &'static str {
        match name {
            "inbound-pass" => {
                include_str!("../../../../tests/fixtures/exchange-online/inbound-pass.eml")
            }
            "from-other-tenant" => {
                include_str!("../../../../tests/fixtures/exchange-online/from-other-tenant.eml")
            }
            "stray-tenant-tokens" => {
                include_str!("../../../../tests/fixtures/exchange-online/stray-tenant-tokens.eml")
            }
            "forged" => include_str!("../../../../tests/fixtures/exchange-online/forged.eml"),
            "arc-override" => {
                include_str!("../../../../tests/fixtures/exchange-online/arc-override.eml")
            }
            "softpass" => include_str!("../../../../tests/fixtures/exchange-online/softpass.eml"),
            "bestguesspass" => {
                include_str!("../../../../tests/fixtures/exchange-online/bestguesspass.eml")
            }
            "other-tenant" => {
                include_str!("../../../../tests/fixtures/exchange-online/other-tenant.eml")
            }
            "behind-our-mx" => {
                include_str!("../../../../tests/fixtures/exchange-online/behind-our-mx.eml")
            }
            _ => unreachable!("no fixture {name}"),
        }
    }

    fn policy(authserv: &[&str]) -> Policy {
        Policy {
            authserv_ids: authserv.iter().map(|s| s.to_string()).collect(),
            exchange_tenant: Some(TENANT.into()),
            senders: SenderRule::Require,
        }
    }

    fn judge(raw: &str, from: &str) -> super::super::Sender {
        assess(&read_trace(raw.as_bytes()), Some(from), &policy(&[]))
    }

    #[test]
    fn an_institution_s_mail_through_our_tenant_is_authenticated() {
        let s = judge(fixture("inbound-pass"), "ion.rusu@primaria-ialoveni.md");
        assert!(s.authenticated, "{}", s.reason);
        assert_eq!(s.method, Some(Method::Dmarc));
        assert_eq!(s.rule, Some(Rule::ExchangeOnline));
        let stray = judge(
            fixture("stray-tenant-tokens"),
            "ion.rusu@primaria-ialoveni.md",
        );
        assert!(stray.authenticated, "{}", stray.reason);
    }

    #[test]
    fn an_institution_on_microsoft_365_is_judged_by_our_front_door_only() {
        let s = judge(fixture("from-other-tenant"), "maria.ceban@asp.gov.md");
        assert!(s.authenticated, "{}", s.reason);
        assert_eq!(s.rule, Some(Rule::ExchangeOnline));
    }

    #[test]
    fn what_a_sender_wrote_below_the_front_door_proves_nothing() {
        let s = judge(fixture("forged"), "ion.rusu@primaria-ialoveni.md");
        assert!(!s.authenticated);
        assert!(s.reason.contains("DMARC fail"), "{}", s.reason);
    }

    #[test]
    fn no_pass_without_a_pass_reason() {
        for (name, why) in [
            ("arc-override", "DMARC fail"),
            ("softpass", "no aligned pass"),
            ("bestguesspass", "DMARC bestguesspass (not a pass)"),
        ] {
            let s = judge(fixture(name), "ion.rusu@primaria-ialoveni.md");
            assert!(!s.authenticated, "{name}: {}", s.reason);
            assert!(s.reason.contains(why), "{name}: {}", s.reason);
        }
    }

    #[test]
    fn another_tenant_or_another_server_on_top_is_not_believed() {
        let s = judge(fixture("other-tenant"), "ion.rusu@primaria-ialoveni.md");
        assert!(
            !s.authenticated && s.reason.contains("not ours"),
            "{}",
            s.reason
        );
        let s = judge(fixture("behind-our-mx"), "ion.rusu@primaria-ialoveni.md");
        assert!(
            !s.authenticated && s.reason.contains("does not write (Received)"),
            "{}",
            s.reason
        );
        assert_eq!(s.rule, None);
    }

    #[test]
    fn a_doubled_stamp_or_a_missing_front_door_fails_closed() {
        let base = fixture("inbound-pass");
        let doubled = base.replacen(
            "Received-SPF:",
            "Authentication-Results: spf=pass smtp.mailfrom=primaria-ialoveni.md; dmarc=pass header.from=primaria-ialoveni.md\nReceived-SPF:",
            1,
        );
        let s = judge(&doubled, "ion.rusu@primaria-ialoveni.md");
        assert!(!s.authenticated && s.reason.contains("two"), "{}", s.reason);
        let no_door = base.replace(
            "via Frontend Transport; Tue, 1 Dec 2026 09:12:05",
            "; Tue, 1 Dec 2026 09:12:05",
        );
        let s = judge(&no_door, "ion.rusu@primaria-ialoveni.md");
        assert!(!s.authenticated, "{}", s.reason);
        let no_tenant = base.replace(
            "X-MS-Exchange-CrossTenant-Id: 72f988bf-0000-4000-8000-00000000a6e0\n",
            "",
        );
        let s = judge(&no_tenant, "ion.rusu@primaria-ialoveni.md");
        assert!(
            !s.authenticated && s.reason.contains("CrossTenant-Id"),
            "{}",
            s.reason
        );
        let s = judge(base, "someone@other.md");
        assert!(
            !s.authenticated,
            "a pass for another From domain: {}",
            s.reason
        );
    }

    #[test]
    fn both_rules_configured_and_only_exchange_stamped() {
        let s = assess(
            &read_trace(fixture("inbound-pass").as_bytes()),
            Some("ion.rusu@primaria-ialoveni.md"),
            &policy(&["mx.egov.md"]),
        );
        assert!(
            s.authenticated && s.rule == Some(Rule::ExchangeOnline),
            "{}",
            s.reason
        );
    }

    #[test]
    fn ten_thousand_fields_are_read_within_a_bound_and_not_believed() {
        let mut raw = String::from(fixture("inbound-pass"));
        let at = raw.find("From: Ion").unwrap();
        raw.insert_str(at, &"X-Filler: x\n".repeat(10_001));
        let s = judge(&raw, "ion.rusu@primaria-ialoveni.md");
        assert!(
            !s.authenticated && s.reason.contains("10000"),
            "{}",
            s.reason
        );
    }

    proptest::proptest! {
        #[test]
        fn any_header_gives_a_verdict_and_junk_never_authenticates(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "Received: from x by AB1.mail.protection.outlook.com via Frontend Transport; d",
                    "received: from y by ab2.MAIL.PROTECTION.OUTLOOK.COM (1) with Microsoft SMTP Server via frontend transport",
                    "Received: from z by mx.evil.test with ESMTP",
                    "Authentication-Results: spf=pass smtp.mailfrom=a.md; dmarc=pass header.from=a.md;compauth=pass reason=100",
                    "authentication-results: dmarc=pass header.from=a.md",
                    "X-MS-Exchange-CrossTenant-Id: 72f988bf-0000-4000-8000-00000000a6e0",
                    "X-MS-Exchange-CrossTenant-id: 11111111-0000-4000-8000-000000000000",
                    " folded continuation",
                    "\tdmarc=pass",
                    "From: ion@a.md",
                    "Subject: MNotify",
                    "ARC-Seal: i=1; d=microsoft.com",
                ]),
                0..60,
            )
        ) {
            let raw = lines.join("\r\n") + "\r\n\r\nbody";
            let s = assess(&read_trace(raw.as_bytes()), Some("ion@a.md"), &policy(&[]));
            // Authenticated only with the tenant stamp last and one id-less pass above a
            // front door with nothing foreign above it.
            if s.authenticated {
                let trace = read_trace(raw.as_bytes());
                proptest::prop_assert!(trace.exchange.front_door);
                proptest::prop_assert_eq!(trace.exchange.last_tenant.as_deref(), Some(TENANT));
                proptest::prop_assert_eq!(trace.exchange.idless_results.len(), 1);
                proptest::prop_assert!(trace.exchange.foreign_above.is_none());
            }
        }
    }
}
