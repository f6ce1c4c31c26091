//! Which services a mail asks to connect to: the names, spellings and descriptions of
//! each procedure found in the sender's own text (the subject first, quoted mail
//! already removed), in order of first mention, without those named only as where a
//! certificate is already registered, used or was issued ("deja înregistrat pentru
//! MPass", "avem certificat pentru MDocs, seria …", "certificat MPass existent", a
//! service beside a serial as its origin) and without names inside addresses
//! (`mpass.staging.egov.md`).
//!
//! A word's ending is matched by `[a-zăâîșțşţа-яё]*` (with `(?i)`, both cases of the
//! Romanian, Russian and English letters), not Unicode `\w*`: the whole of Unicode's
//! word characters made these patterns the largest part of a short `inspect`.
//!
//! A service is asked for when the mail says so (connect, integrate, request, want,
//! near its name, or in a list with one that is), or when the subject names it alone.
//! When the mail names several and it is not clear which it asks for, the first is
//! asked for and the others are only mentioned: staff see them on the case, and no
//! case is opened that may be wrong.

use std::sync::LazyLock;

use regex::Regex;

use super::{Catalogue, Procedure};

/// One service's pattern: its tag, other spellings and phrases.
#[derive(Debug, Clone)]
pub(super) struct Matcher {
    pub(super) code: String,
    pattern: Regex,
}

/// What may stand between the words of a name or phrase: spaces (the no-break and
/// narrow ones people paste from documents too), line breaks and hyphens. Listed, not
/// Unicode's `\s`: the five services' patterns compiled in 6 ms with it, 40% of that
/// without.
const BETWEEN_WORDS: &str = r"[\t\n\x0B\x0C\r \x{85}\x{A0}\x{2000}-\x{200A}\x{202F}\-]+";

impl Matcher {
    pub(super) fn new(p: &Procedure) -> Matcher {
        let mut alternatives: Vec<String> = Vec::new();
        for written in std::iter::once(&p.tag)
            .chain(&p.reading.names)
            .chain(&p.reading.phrases)
        {
            let words: Vec<String> = written.split_whitespace().map(regex::escape).collect();
            if !words.is_empty() {
                alternatives.push(words.join(BETWEEN_WORDS));
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
        (?:(?:înregistrat|inregistrat|emis|зарегистрирован|выдан)[a-zăâîșțşţа-яё]*|registered|issued)
        \b[^.\n!?]{0,40}?
        \b(?:pentru|la|for|with|in|în|для|в|на|при)\s+
        (?:(?:(?:сервис|платформ)[a-zăâîșțşţа-яё]*|serviciul|serviciului|service|sistemul)\s+)?$
        # The name a system has in another service (MNotify's integration data asks for
        # the system's name in MPass): denumirea sistemului în MPass, system name in
        # MPass, название системы в MPass.
        |(?:(?:sistem|систем)[a-zăâîșțşţа-яё]*|system)\b[^.\n!?]{0,30}?\b(?:în|in|в)\s+$
        # An existing certificate, with or without a preposition: certificat existent
        # MPass, our existing MSign certificate.
        |(?:(?:existent|actual|существующ|действующ|имеющ)[a-zăâîșțşţа-яё]*|existing|current)
        \s+(?:(?:(?:certificat|сертификат)[a-zăâîșțşţа-яё]*|certificate)\s+)?
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
        (?:(?:utilizat|folosit|использу|применя)[a-zăâîșțşţа-яё]*|folosim|utiliz[aă]m|used|use)
        \b[^.\n!?]{0,40}?
        \b(?:pentru|la|for|with|in|în|для|в|на|при)\s+
        (?:(?:(?:сервис|платформ)[a-zăâîșțşţа-яё]*|serviciul|serviciului|service|sistemul)\s+)?$",
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
        |\breutiliz|\breus|\bповторно\b",
    )
    .expect("valid pattern")
});

/// Between two names of one list ("for MPass, MSign and MDocs").
static LIST_GLUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[\s,;/()+&]|\band\b|\bși\b|\bsi\b|\bsau\b|\bor\b|\bи\b|\bили\b)*$")
        .expect("valid pattern")
});

/// Between two names a request lists, prepositions too ("la MPass și la MSign",
/// "к MLog и к MDocs"); not for a prior registration, where "registered for MPass for
/// MSign" names two different things.
static ASKED_GLUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:[\s,;/()+&]|\band\b|\bși\b|\bsi\b|\bsau\b|\bor\b|\bи\b|\bили\b
        |\bla\b|\bcu\b|\bpentru\b|\bto\b|\bwith\b|\bк\b|\bв\b|\bдля\b|\bс\b)*$",
    )
    .expect("valid pattern")
});

/// How far back a mention's sentence is read for [`PRIOR`].
const PRIOR_WINDOW: usize = 120;

/// How far after a mention [`EXISTING_AFTER`] and [`SERIAL_AFTER`] read.
const AFTER_WINDOW: usize = 80;

/// A certificate the institution already has for the service, up to the preposition
/// before its name: "avem certificat pentru MDocs", "we have a certificate for
/// MSign", "у нас есть сертификат для MPass".
static HELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:avem|deținem|detinem|dispunem|posedăm|have|hold|имеем|есть)\b[^.\n!?]*?
        \b(?:certificat(?:ul|e)?|сертификат(?:а|ом|ы)?)\b[^.\n!?]*?
        \b(?:pentru|la|for|from|для|от|в)\s+
        (?:(?:serviciul|serviciului|service|сервис[аеу]?|платформ[аеуы]?)\s+)?$",
    )
    .expect("valid pattern")
});

/// Right after a service's name, words that make it the origin of a certificate:
/// "certificat MPass existent", "MSign certificate already registered",
/// "MPass существующий".
static EXISTING_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^[\s,:;|()\-–]*
        (?:(?:certificat(?:ul|e)?|сертификат(?:а|ом|ы)?)\s+)?
        (?:existent(?:ul|e|ă)?|existing|actual(?:ul|e|ă)?
        |deja\s+(?:înregistrat|inregistrat|emis)(?:ul|e|ă)?
        |(?:is\s+)?already\s+(?:registered|issued|in\s+use)
        |уже\s+(?:зарегистрирован|выдан)(?:ный|ная|ное|ные|ы|а)?
        |(?:существующ|действующ)(?:ий|ая|ее|ие|его|ему|им)?)",
    )
    .expect("valid pattern")
});

/// What may stand between words of [`EXISTING_AFTER`] and the next name when they
/// are that name's: "действующий сертификат MPass", "existent pentru MPass".
static TO_NEXT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:(?:certificat(?:ul|e)?|сертификат(?:а|ом|ы)?)\s*)?(?:(?:pentru|de\s+la|for|of|для|от)\s+)?$",
    )
    .expect("valid pattern")
});

/// A serial number's label close after a service's name: the service is where that
/// certificate comes from ("pentru MDocs, seria 5C0FFEE5", "Serviciu | MPass" over
/// "Număr de serie | …").
static SERIAL_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^[^.!?]{0,25}?
        \b(?:seria|serie|seriei|nr\.?\s+de\s+serie|num[aă]r(?:ul)?\s+de\s+serie|serial
        |серийн[a-zăâîșțşţа-яё]*|серия|номер\s+сертификата)\b",
    )
    .expect("valid pattern")
});

/// Words that ask for a service, before its name: connect, integrate, request,
/// want, in Romanian, Russian and English ([`INTENT`] too).
static ASKING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:conect|integr|solicit|aderare|connect|onboard|request|join|apply
        |подключ|интеграц|присоедин|заявк)
        |\b(?:cerere|dorim|dorește|vrem|ne\s+intereseaz[aă]|want|wish|would\s+like
        |просим|хотим|va|vor|ar\s+fi|will)\b",
    )
    .expect("valid pattern")
});

/// Compiles the reader's patterns now, so the first mail after a start does not pay
/// for them while it is being read (the daemon calls it before its first pass).
pub fn warm_up() {
    LazyLock::force(&PRIOR);
    LazyLock::force(&HELD);
    LazyLock::force(&EXISTING_AFTER);
    LazyLock::force(&SERIAL_AFTER);
    LazyLock::force(&TO_NEXT_NAME);
    LazyLock::force(&ASKING);
    LazyLock::force(&USED);
    LazyLock::force(&INTENT);
    LazyLock::force(&LIST_GLUE);
    LazyLock::force(&ASKED_GLUE);
}

/// What a mail says about services: those it asks to connect to, and those it only
/// mentions (codes, in order of first mention; never one that is only where a
/// certificate is already registered).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub asked: Vec<String>,
    pub mentioned: Vec<String>,
}

/// One name of a service in the text, read.
struct Mention<'c> {
    code: &'c str,
    start: usize,
    /// Named only as where a certificate is registered or comes from.
    prior: bool,
    /// Beside a serial number as its origin: prior, unless nothing else is asked.
    beside_serial: bool,
    /// Words of asking before it, or in a list with one that has them.
    intent: bool,
}

/// What `text` (the subject, a line break, the sender's own text) says of services.
pub fn read(catalogue: &Catalogue, text: &str) -> Reading {
    let mut found: Vec<(usize, usize, &str)> = Vec::new();
    for m in catalogue.matchers() {
        for hit in m.pattern.find_iter(text) {
            if !inside_address(text, hit.start(), hit.end()) {
                found.push((hit.start(), hit.end(), m.code.as_str()));
            }
        }
    }
    found.sort();
    let mut mentions: Vec<Mention> = Vec::new();
    let mut previous_end = 0;
    for (i, &(start, end, code)) in found.iter().enumerate() {
        if start < previous_end {
            // Overlaps the previous mention (a phrase and a name in it).
            continue;
        }
        let next_start = found[i + 1..]
            .iter()
            .map(|f| f.0)
            .find(|&s| s >= end)
            .unwrap_or(text.len());
        let last = mentions.last();
        let between = &text[previous_end.min(start)..start];
        let glued = last.is_some() && LIST_GLUE.is_match(between);
        let listed = last.is_some() && ASKED_GLUE.is_match(between);
        // The words before it, back to the previous mention at most: "used for MDocs,
        // we want it for MNotify" does not make MNotify a prior registration.
        let window = window_before(text, previous_end, start);
        let after = sentence_after(text, end);
        let prior = (glued && last.is_some_and(|m| m.prior))
            || PRIOR.is_match(window)
            || in_use_before(window)
            || HELD.is_match(window)
            || EXISTING_AFTER.find(after).is_some_and(|e| {
                // "MNotify - certificat existent MPass": the words are the next name's.
                let to_next = text.get(end + e.end()..next_start).unwrap_or("");
                !TO_NEXT_NAME.is_match(to_next)
            });
        let intent = (listed && last.is_some_and(|m| m.intent)) || ASKING.is_match(window);
        mentions.push(Mention {
            code,
            start,
            prior,
            beside_serial: !intent && SERIAL_AFTER.is_match(after),
            intent,
        });
        previous_end = end;
    }
    decide(&mentions, text.find('\n').unwrap_or(text.len()))
}

/// From the mentions read, what is asked for and what only mentioned.
fn decide(mentions: &[Mention], subject_end: usize) -> Reading {
    let named = |m: &&Mention| !m.prior;
    // A service beside a serial is its origin when something else is asked for.
    let others_asked = |m: &Mention| {
        mentions
            .iter()
            .any(|o| o.code != m.code && !o.prior && !o.beside_serial)
    };
    let standing: Vec<&Mention> = mentions
        .iter()
        .filter(named)
        .filter(|m| !(m.beside_serial && others_asked(m)))
        .collect();
    let in_subject: Vec<&str> = dedup(
        standing
            .iter()
            .filter(|m| m.start < subject_end)
            .map(|m| m.code),
    );
    let clear = |m: &&&Mention| m.intent || (in_subject.len() == 1 && in_subject[0] == m.code);
    let mut asked = dedup(standing.iter().filter(clear).map(|m| m.code));
    if asked.is_empty() {
        asked.extend(standing.first().map(|m| m.code));
    }
    let mentioned = dedup(standing.iter().map(|m| m.code))
        .into_iter()
        .filter(|c| !asked.contains(c))
        .collect::<Vec<_>>();
    Reading {
        asked: asked.into_iter().map(str::to_string).collect(),
        mentioned: mentioned.into_iter().map(str::to_string).collect(),
    }
}

fn dedup<'c>(codes: impl Iterator<Item = &'c str>) -> Vec<&'c str> {
    let mut out: Vec<&str> = Vec::new();
    for c in codes {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The services `text` asks to connect to (codes, in order of first mention).
pub fn services(catalogue: &Catalogue, text: &str) -> Vec<String> {
    read(catalogue, text).asked
}

/// The rest of the sentence after `at` (to the next full stop or line break,
/// [`AFTER_WINDOW`] bytes at most).
fn sentence_after(text: &str, at: usize) -> &str {
    let mut to = (at + AFTER_WINDOW).min(text.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let rest = &text[at..to];
    // The next line counts too: an Outlook table puts the serial's row under the
    // service's ("Serviciu | MPass" / "Număr de serie | …").
    let mut lines = rest.splitn(3, '\n');
    let first = lines.next().unwrap_or("");
    match lines.next() {
        Some(second) => &rest[..first.len() + 1 + second.len()],
        None => first,
    }
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
