//! Which services a mail asks to connect to: the names, spellings and descriptions of
//! each procedure found in the sender's own text (quoted mail already removed), in
//! order of first mention, without those named only as where a certificate is already
//! registered ("deja înregistrat pentru MPass" in an MNotify request is not an MPass
//! request) and without names inside addresses (`mpass.staging.egov.md`).

use std::sync::LazyLock;

use regex::Regex;

use super::{Catalogue, Procedure};

/// One service's pattern: its tag, other spellings and phrases.
#[derive(Debug, Clone)]
pub(super) struct Matcher {
    pub(super) code: String,
    pattern: Regex,
}

impl Matcher {
    pub(super) fn new(p: &Procedure) -> Matcher {
        let mut alternatives: Vec<String> = Vec::new();
        for written in std::iter::once(&p.tag)
            .chain(&p.reading.names)
            .chain(&p.reading.phrases)
        {
            let words: Vec<String> = written.split_whitespace().map(regex::escape).collect();
            if !words.is_empty() {
                alternatives.push(words.join(r"[\s\-]+"));
            }
        }
        // Longest first, so a phrase wins over a name inside it.
        alternatives.sort_by_key(|a| std::cmp::Reverse(a.len()));
        let pattern = Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|")))
            .expect("escaped alternatives form a valid pattern");
        Matcher {
            code: p.code.clone(),
            pattern,
        }
    }
}

/// Words that say a certificate already serves a service, up to the preposition right
/// before its name: "înregistrat (deja) pentru", "registered with AGE for",
/// "зарегистрирован для", an existing certificate of it, the system's name in it.
static PRIOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?:înregistrat\w*|inregistrat\w*|registered|emis\w*|issued|зарегистрирован\w*|выдан\w*)
        \b[^.\n!?]{0,40}?
        \b(?:pentru|la|for|with|in|în|для|в|на|при)\s+
        (?:(?:serviciul|serviciului|service|сервис\w*|платформ\w*|sistemul)\s+)?$
        # The name a system has in another service (MNotify's integration data asks for
        # the system's name in MPass): denumirea sistemului în MPass, system name in
        # MPass, название системы в MPass.
        |(?:sistem\w*|system|систем\w*)\b[^.\n!?]{0,30}?\b(?:în|in|в)\s+$
        # An existing certificate, with or without a preposition: certificat existent
        # MPass, our existing MSign certificate.
        |(?:existent\w*|existing|current|actual\w*|существующ\w*|действующ\w*|имеющ\w*)
        \s+(?:(?:certificat\w*|certificate|сертификат\w*)\s+)?
        (?:(?:pentru|la|for|în|in|для|в|от|de\s+la)\s+)?$",
    )
    .expect("valid pattern")
});

/// A certificate in use for a service ("folosit pentru MPass", "used for MSign",
/// "используется в MLog"): a prior registration, unless words of [`INTENT`] come
/// right before the verb ("va fi folosit și pentru MNotify" asks for MNotify).
static USED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?:utilizat\w*|folosit\w*|folosim|utiliz[aă]m|used|use|использу\w*|применя\w*)
        \b[^.\n!?]{0,40}?
        \b(?:pentru|la|for|with|in|în|для|в|на|при)\s+
        (?:(?:serviciul|serviciului|service|сервис\w*|платформ\w*|sistemul)\s+)?$",
    )
    .expect("valid pattern")
});

/// How far before a [`USED`] verb words of intent count.
const INTENT_REACH: usize = 24;

/// Words of intent that make "used for X" a request: "va fi folosit și pentru
/// MNotify", "we want to reuse it for MSign", "будет использоваться для MLog".
static INTENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:va|vor|ar)\s+fi\b|\bsă\s+fie\b|\bsa\s+fie\b|\bwill\b|\bto\s+be\b|\bdorim\b
        |\bsolicit[aă]m\b|\bwant\b|\bwish\b|\bwould\s+like\b|\bхотим\b|\bбудет\b|\bпросим\b
        |\breutiliz\w*|\breus\w*|\bповторно\b",
    )
    .expect("valid pattern")
});

/// Between two names of one list ("for MPass, MSign and MDocs").
static LIST_GLUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[\s,;/()+&]|\band\b|\bși\b|\bsi\b|\bsau\b|\bor\b|\bи\b|\bили\b)*$")
        .expect("valid pattern")
});

/// How far back a mention's sentence is read for [`PRIOR`].
const PRIOR_WINDOW: usize = 120;

/// Compiles the reader's patterns now, so the first mail after a start does not pay
/// for them while it is being read (the daemon calls it before its first pass).
pub fn warm_up() {
    LazyLock::force(&PRIOR);
    LazyLock::force(&USED);
    LazyLock::force(&INTENT);
    LazyLock::force(&LIST_GLUE);
}

/// The services `text` asks to connect to (codes, in order of first mention).
pub fn services(catalogue: &Catalogue, text: &str) -> Vec<String> {
    let mut mentions: Vec<(usize, usize, &str)> = Vec::new();
    for m in catalogue.matchers() {
        for found in m.pattern.find_iter(text) {
            if inside_address(text, found.start(), found.end()) {
                continue;
            }
            mentions.push((found.start(), found.end(), m.code.as_str()));
        }
    }
    mentions.sort();
    let mut asked: Vec<String> = Vec::new();
    let mut previous_prior_end: Option<usize> = None;
    let mut previous_end = 0;
    for (start, end, code) in mentions {
        if start < previous_end {
            // Overlaps the previous mention (a phrase and a name in it).
            continue;
        }
        let glued =
            previous_prior_end.is_some_and(|e| e <= start && LIST_GLUE.is_match(&text[e..start]));
        // The words before it, back to the previous mention at most: "used for MDocs,
        // we want it for MNotify" does not make MNotify a prior registration.
        let window = window_before(text, previous_end, start);
        let prior = glued || PRIOR.is_match(window) || in_use_before(window);
        previous_end = end;
        if prior {
            previous_prior_end = Some(end);
            continue;
        }
        previous_prior_end = None;
        if !asked.iter().any(|c| c == code) {
            asked.push(code.to_string());
        }
    }
    asked
}

/// `window` ends with a certificate in use for the service, and no intent precedes it.
fn in_use_before(window: &str) -> bool {
    let Some(used) = USED.find(window) else {
        return false;
    };
    let mut from = used.start().saturating_sub(INTENT_REACH);
    while !window.is_char_boundary(from) {
        from += 1;
    }
    !INTENT.is_match(&window[from..used.start()])
}

/// The text before `at`, from `floor` and at most [`PRIOR_WINDOW`] bytes.
fn window_before(text: &str, floor: usize, at: usize) -> &str {
    let mut from = at.saturating_sub(PRIOR_WINDOW).max(floor);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..at]
}

/// A name that is part of a host name, an address or a path (`mpass.staging.egov.md`,
/// `mnotify@…`, `/mpass/`), not a mention.
fn inside_address(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let mut after = text[end..].chars();
    let next = after.next();
    let next_next = after.next();
    matches!(before, Some('.' | '/' | '@' | '_' | '\\'))
        || matches!(next, Some('@' | '_' | '/'))
        || (next == Some('.') && next_next.is_some_and(char::is_alphanumeric))
}
