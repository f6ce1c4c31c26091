//! Organizational domains (the registrable part of a domain name, from the Public
//! Suffix List: `mail.primaria.gov.md` → `primaria.gov.md`) and the relaxed alignment
//! of DMARC (RFC 7489 §3.1): two domains are aligned when their organizational domains
//! are the same.

/// The domain of an address, lower case, without a trailing dot (`None` without `@`).
pub fn of_address(address: &str) -> Option<String> {
    let (_, domain) = address.trim().rsplit_once('@')?;
    let domain = domain
        .trim()
        .trim_end_matches('>')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

/// Suffixes under which every name is a separate organization but that the Public
/// Suffix List does not list: each Moldovan public institution has its own name under
/// `gov.md` (`asp.gov.md`, `mf.gov.md`), and one of them must never pass for another.
const EXTRA_SUFFIXES: &[&str] = &["gov.md"];

/// The organizational domain of `domain`; a name the list does not know is taken under
/// the list's default rule (its last label is the suffix).
pub fn organizational(domain: &str) -> String {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    for suffix in EXTRA_SUFFIXES {
        if let Some(rest) = domain
            .strip_suffix(suffix)
            .and_then(|r| r.strip_suffix('.'))
        {
            let label = rest.rsplit('.').next().unwrap_or(rest);
            return format!("{label}.{suffix}");
        }
    }
    match psl::domain(domain.as_bytes()) {
        Some(d) => String::from_utf8_lossy(d.as_bytes()).into_owned(),
        None => domain,
    }
}

/// Relaxed alignment: the same organizational domain.
pub fn aligned(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && !b.is_empty() && organizational(a) == organizational(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizational_domains_follow_the_public_suffix_list() {
        assert_eq!(organizational("mail.primaria.gov.md"), "primaria.gov.md");
        assert_eq!(organizational("Asp.GOV.md."), "asp.gov.md");
        assert_eq!(organizational("mail.inst-a.test"), "inst-a.test");
        assert!(aligned("mail.primaria.md", "primaria.md"));
        assert!(
            !aligned("primaria.gov.md", "asp.gov.md"),
            "gov.md is a public suffix"
        );
        assert!(!aligned("", ""));
    }

    #[test]
    fn address_domains() {
        assert_eq!(
            of_address("Ion@Inst-A.test").as_deref(),
            Some("inst-a.test")
        );
        assert_eq!(of_address("nobody"), None);
        assert_eq!(of_address("x@"), None);
    }
}
