//! Serial numbers and thumbprints quoted in e-mail text, and the one canonical form in
//! which every serial is compared.
//!
//! MNotify authenticates client systems by certificate serial number, so a serial typed
//! by a person must compare equal to the one in the certificate whatever separators,
//! case, `0x` prefix or invisible marks (copied from the Windows certificate dialog) it
//! carries.
//!
//! A word's ending is matched by `[a-zăâîșțşţа-яё]*` (with `(?i)`, both cases of the
//! Romanian, Russian and English letters), not Unicode `\w*`: the whole of Unicode's
//! word characters made these patterns the largest part of a short `inspect`.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// The longest serial RFC 5280 allows is 20 octets; one extra leading `00` octet is
/// tolerated because tools print the DER sign byte.
const MAX_SERIAL_DIGITS: usize = 42;
/// A SHA-1 thumbprint: 20 octets.
const SHA1_DIGITS: usize = 40;
/// A SHA-256 fingerprint: 32 octets.
const SHA256_DIGITS: usize = 64;
/// Shortest number taken when a keyword ("serial", "număr de serie", …) announces it.
const MIN_ANCHORED_DIGITS: usize = 6;
/// Shortest number taken with no keyword before it: long enough not to be a phone
/// number or a date, and it must mix letters and digits.
const MIN_BARE_DIGITS: usize = 16;
/// How far before a number a keyword may stand (characters).
const KEYWORD_WINDOW: usize = 80;

/// Canonical serial from the raw integer bytes (as in DER, sign byte included or not):
/// upper-case hex, no leading zero octets, at least one octet.
pub fn canonical_serial_from_bytes(bytes: &[u8]) -> String {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    if first == bytes.len() {
        return "00".to_string();
    }
    hex::encode_upper(&bytes[first..])
}

/// Canonical serial from hex digits as a person may write them (`00:b7:d1`, `0xB7D1`,
/// `b7 d1`). Returns `None` when what is left is not hex or is too long for a serial.
pub fn canonical_serial(text: &str) -> Option<String> {
    let digits = hex_digits(text)?;
    let trimmed = digits.trim_start_matches('0');
    if digits.len() > MAX_SERIAL_DIGITS || trimmed.len().div_ceil(2) > 20 {
        return None;
    }
    if trimmed.is_empty() {
        return Some("00".to_string());
    }
    let mut out = String::with_capacity(trimmed.len() + 1);
    if trimmed.len() % 2 == 1 {
        out.push('0');
    }
    out.push_str(trimmed);
    Some(out)
}

/// Canonical thumbprint (SHA-1 or SHA-256): all digits kept, upper case.
pub fn canonical_thumbprint(text: &str) -> Option<String> {
    let digits = hex_digits(text)?;
    matches!(digits.len(), SHA1_DIGITS | SHA256_DIGITS).then_some(digits)
}

/// The hex digits of `text`, upper case, with separators, `0x` and invisible marks
/// removed; `None` if anything else is left or nothing is.
fn hex_digits(text: &str) -> Option<String> {
    let cleaned = remove_invisible(text);
    let mut body = cleaned.trim();
    if let Some(rest) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        body = rest;
    }
    let mut out = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' | 'A'..='F' => out.push(c),
            'a'..='f' => out.push(c.to_ascii_uppercase()),
            ' ' | ':' | '-' | '\t' => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Drops the marks the Windows certificate dialog and some editors put around copied
/// numbers (bidi marks, BOM, zero-width characters, soft hyphen) and turns no-break
/// spaces into spaces.
pub fn remove_invisible(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !matches!(
                c,
                '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
                    | '\u{FEFF}' | '\u{00AD}'
            )
        })
        .map(|c| {
            if matches!(c, '\u{00A0}' | '\u{202F}' | '\u{2007}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// What the words before a number said it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    Serial,
    Thumbprint,
    None,
}

/// A number found in the sender's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedNumber {
    /// Exactly as written (invisible marks removed).
    pub as_written: String,
    /// Upper-case hex digits, separators removed, leading zeros kept.
    pub digits: String,
    pub hint: Hint,
}

/// One way to read a quoted number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    Serial,
    Sha1,
    Sha256,
}

impl QuotedNumber {
    /// Every reading of this number, each with its canonical value. A 40-digit number is
    /// both a possible serial (AGE's PKI issues 20-octet serials) and a SHA-1 thumbprint.
    pub fn readings(&self) -> Vec<(NumberKind, String)> {
        let mut out = Vec::new();
        if self.digits.len() == SHA1_DIGITS {
            out.push((NumberKind::Sha1, self.digits.clone()));
        }
        if self.digits.len() == SHA256_DIGITS {
            out.push((NumberKind::Sha256, self.digits.clone()));
        }
        if let Some(serial) = canonical_serial(&self.digits) {
            out.push((NumberKind::Serial, serial));
        }
        out
    }
}

/// The words that label a number (its word boundaries ASCII, as in [`NUMBER`]: a
/// Unicode `\b` keeps the regex engine off its fast path on any non-ASCII text).
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        (?P<thumb>(?:amprent|отпечат)[a-zăâîșțşţа-яё]*|thumb\s?print|finger\s?print|sha-?1|sha-?256|hash)
        |(?P<serial>(?:serial|(?-u:\b)serie|серийн|номер\s+сертификат)[a-zăâîșțşţа-яё]*|(?-u:\b)s/?n(?-u:\b)|(?-u:\b)seria(?-u:\b)|серии|
           num[aă]r[a-zăâîșțşţа-яё]*\s+de\s+serie|nr\.?\s+(?:de\s+)?serie|certificat[a-zăâîșțşţа-яё]*\s+nr|№)",
    )
    .expect("keyword pattern is valid")
});

/// A run of hex: pairs separated by one space, colon or dash (as certificate dialogs
/// print them), or one unbroken token, optionally after `0x`. Word boundaries are
/// ASCII: a number written against a Cyrillic or Romanian letter ("серия0A1B2C3D")
/// is still read, and the search stays on the regex engine's fast path.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        (?-u:\b)(?:0x)?(?:[0-9a-f]{2}(?:[\x20:\-][0-9a-f]{2}){3,}|[0-9a-f]{6,})(?-u:\b)",
    )
    .expect("number pattern is valid")
});

/// Short words in Romanian and English made only of hex letters; a spaced run of pairs
/// must not swallow them ("seria 4a 3b … de la STISC").
const HEX_WORDS: &[&str] = &["de", "ca", "da", "ce", "fa", "be", "ea", "ad", "ab"];

/// Finds the serial numbers and thumbprints in text the sender wrote (quoted earlier mail
/// must already be removed). Duplicates (same digits) are reported once.
pub fn extract(text: &str) -> Vec<QuotedNumber> {
    let text = remove_invisible(text);
    let mut found: Vec<QuotedNumber> = Vec::new();
    let mut spans = Vec::new();
    for m in NUMBER.find_iter(&text) {
        spans.push(m.range());
        if !is_standalone(&text, m.start(), m.end()) {
            continue;
        }
        let as_written = trim_trailing_words(m.as_str(), &text[m.end()..]);
        let Some(digits) = hex_digits(as_written) else {
            continue;
        };
        let before = window_before(&text, m.start());
        let hint = keyword_hint(before);
        if !acceptable(&digits, as_written, hint) {
            continue;
        }
        if found.iter().any(|q| q.digits == digits) {
            continue;
        }
        found.push(QuotedNumber {
            as_written: as_written.trim().to_string(),
            digits,
            hint,
        });
    }
    // Short serials count only right after a label ("Numărul de serie: 1A2B").
    for m in SHORT_NUMBER.find_iter(&text) {
        // Cheapest first: most matches are words ("de", "ce") with no digit.
        if !m.as_str().bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        let Some(digits) = hex_digits(m.as_str()).filter(|d| short_labelled(d)) else {
            continue;
        };
        let inside_a_longer = spans
            .iter()
            .any(|s| s.start <= m.start() && m.end() <= s.end);
        if inside_a_longer
            || !is_standalone(&text, m.start(), m.end())
            || found.iter().any(|q| q.digits == digits)
        {
            continue;
        }
        let before = window_before(&text, m.start());
        if keyword_hint(before) != Hint::Serial || !directly_labelled(before) {
            continue;
        }
        found.push(QuotedNumber {
            as_written: m.as_str().to_string(),
            digits,
            hint: Hint::Serial,
        });
    }
    found
}

/// A few hex digits: a serial only when a label says so.
static SHORT_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:0x)?[0-9a-f]{2,5}(?-u:\b)").expect("short number pattern is valid")
});

fn acceptable(digits: &str, as_written: &str, hint: Hint) -> bool {
    let len = digits.len();
    let plausible_length = len <= MAX_SERIAL_DIGITS || len == SHA256_DIGITS;
    if !plausible_length {
        return false;
    }
    let has_letter = digits.bytes().any(|b| b.is_ascii_alphabetic());
    let has_digit = digits.bytes().any(|b| b.is_ascii_digit());
    if hint != Hint::None {
        // "decade" or "facade" after the word "serial" is prose, not a number.
        return len >= MIN_ANCHORED_DIGITS && (has_digit || len >= 12);
    }
    let spaced = as_written.contains([' ', ':', '-']);
    len >= MIN_BARE_DIGITS && (spaced || (has_letter && has_digit))
}

/// The number comes right after a serial keyword, as a label's value ("Numărul de
/// serie: 1A2B", "Serial number 0F"): then it is a serial whatever its length.
fn directly_labelled(before: &str) -> bool {
    let separator = |c: char| c.is_whitespace() || matches!(c, ':' | '-' | '–' | '—' | '=' | '#');
    KEYWORD.find_iter(before).last().is_some_and(|m| {
        let gap = before[m.end()..].trim_start_matches(separator);
        // "Serial number:", "Seria nr.", "Серийный номер".
        let gap = ["number", "nr.", "nr", "no.", "no", "номер"]
            .iter()
            .find_map(|w| {
                gap.get(..w.len())
                    .filter(|head| head.eq_ignore_ascii_case(w))
                    .map(|_| &gap[w.len()..])
            })
            .unwrap_or(gap);
        gap.chars().all(separator)
    })
}

/// A labelled serial may be short (STISC's early ones have a few hex digits), but not
/// a word: two digits or more, with a digit in it.
fn short_labelled(digits: &str) -> bool {
    digits.len() >= 2
        && digits.len() <= MAX_SERIAL_DIGITS
        && digits.bytes().any(|b| b.is_ascii_digit())
}

/// A number inside a URL, an e-mail address or a longer identifier is not a serial.
fn is_standalone(text: &str, start: usize, end: usize) -> bool {
    let prev = text[..start].chars().next_back();
    let next = text[end..].chars().next();
    let bad_prev = matches!(
        prev,
        Some('/' | '=' | '@' | '&' | '?' | '%' | '_' | '.' | '#' | '-')
    );
    let bad_next = matches!(next, Some('@' | '/' | '_' | '='))
        || (next == Some('.')
            && text[end..]
                .chars()
                .nth(1)
                .is_some_and(|c| c.is_alphanumeric()));
    !(bad_prev || bad_next)
}

/// Drops hex-looking words ("de", "ca") that a spaced run of pairs picked up from the
/// sentence that goes on after the number.
fn trim_trailing_words<'a>(run: &'a str, after: &str) -> &'a str {
    let mut run = run.trim_end();
    let mut rest = after.chars();
    let followed_by_word = rest.next() == Some(' ') && rest.next().is_some_and(char::is_alphabetic);
    if !followed_by_word {
        return run;
    }
    while let Some((head, last)) = run.rsplit_once(' ') {
        if !HEX_WORDS.contains(&last.to_ascii_lowercase().as_str()) {
            break;
        }
        run = head.trim_end();
    }
    run
}

fn window_before(text: &str, start: usize) -> &str {
    let mut from = start.saturating_sub(KEYWORD_WINDOW * 2);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let window = &text[from..start];
    let skip = window.chars().count().saturating_sub(KEYWORD_WINDOW);
    let offset = window
        .char_indices()
        .nth(skip)
        .map_or(window.len(), |(i, _)| i);
    &window[offset..]
}

/// The hint of the keyword nearest before the number, if any.
fn keyword_hint(before: &str) -> Hint {
    // The last keyword is found without captures (the slower engine they need ran for
    // every number of every mail), then read once.
    let Some(last) = KEYWORD.find_iter(before).last() else {
        return Hint::None;
    };
    match KEYWORD.captures_at(before, last.start()) {
        Some(caps) if caps.name("thumb").is_some() => Hint::Thumbprint,
        _ => Hint::Serial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_serial_strips_separators_and_leading_zero_octets() {
        assert_eq!(canonical_serial("00:b7:d1").as_deref(), Some("B7D1"));
        assert_eq!(canonical_serial("0x0b7d1").as_deref(), Some("B7D1"));
        assert_eq!(canonical_serial("b7d").as_deref(), Some("0B7D"));
        assert_eq!(
            canonical_serial("\u{200e}4a 3b 2c\u{200f}").as_deref(),
            Some("4A3B2C")
        );
        assert_eq!(canonical_serial("000").as_deref(), Some("00"));
        assert_eq!(canonical_serial("xyz"), None);
        assert_eq!(canonical_serial(&"11".repeat(21)), None);
    }

    #[test]
    fn canonical_from_bytes_drops_sign_byte() {
        assert_eq!(canonical_serial_from_bytes(&[0x00, 0xb7, 0xd1]), "B7D1");
        assert_eq!(canonical_serial_from_bytes(&[0x00]), "00");
        assert_eq!(canonical_serial_from_bytes(&[0x01, 0x00]), "0100");
    }

    #[test]
    fn finds_romanian_serial_after_keyword() {
        let found = extract(
            "Bună ziua, numărul de serie al certificatului: 4a 3b 2c 1d 00 ff de la STISC.",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].digits, "4A3B2C1D00FF");
        assert_eq!(found[0].hint, Hint::Serial);
    }

    #[test]
    fn finds_russian_serial_and_thumbprint() {
        let text =
            "Серийный номер: 0x1F2E3D4C5B6A\nОтпечаток: a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
        let found = extract(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].hint, Hint::Serial);
        assert_eq!(found[1].hint, Hint::Thumbprint);
        assert_eq!(found[1].digits.len(), 40);
    }

    #[test]
    fn windows_dialog_marks_are_ignored() {
        let found = extract("Serial number: \u{200e}3a 00 00 00 12 ab cd ef 99 00 01");
        assert_eq!(found[0].digits, "3A00000012ABCDEF990001");
    }

    #[test]
    fn phone_numbers_dates_and_urls_are_not_serials() {
        let text = "Tel. +373 (22) 820 026, 2026-11-24, IDNO 1003600012345, \
                    https://forms.office.com/Pages/x?id=Z4f8jWsRaEKDxfvIWTRtODb3a1b2c3d4e5f6a7b8c9";
        assert!(extract(text).is_empty(), "{:?}", extract(text));
    }

    #[test]
    fn forty_digits_read_both_ways() {
        let q = QuotedNumber {
            as_written: String::new(),
            digits: "00".to_string() + &"AB".repeat(19),
            hint: Hint::None,
        };
        let kinds: Vec<NumberKind> = q.readings().into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, vec![NumberKind::Sha1, NumberKind::Serial]);
    }

    #[test]
    fn a_short_serial_counts_right_after_its_label_only() {
        let one = |text: &str| {
            extract(text)
                .into_iter()
                .map(|q| q.digits)
                .collect::<Vec<_>>()
        };
        assert_eq!(one("Numărul de serie: 1A2B"), ["1A2B"]);
        assert_eq!(one("Serial number 0F"), ["0F"]);
        assert_eq!(one("Серийный номер - 7c3"), ["7C3"]);
        // Not after a label, or a word rather than a number: nothing.
        assert!(one("Numărul de serie este în anexă, pagina 12").is_empty());
        assert!(one("We have 12 certificates and 3A rooms").is_empty());
        assert!(one("Seria AB").is_empty());
        // The label's long serial is read whole, not also its first pair.
        assert_eq!(one("Serial: 4A 3F 00 12 7B C9"), ["4A3F00127BC9"]);
    }

    proptest! {
        #[test]
        fn any_formatting_of_a_serial_canonicalises_the_same(
            bytes in proptest::collection::vec(any::<u8>(), 1..20),
            sep in prop_oneof![Just(""), Just(" "), Just(":"), Just("-")],
            lower in any::<bool>(),
            prefix in prop_oneof![Just(""), Just("0x"), Just("\u{200e}"), Just("\u{feff}")],
        ) {
            let pairs: Vec<String> = bytes.iter().map(|b| if lower { format!("{b:02x}") } else { format!("{b:02X}") }).collect();
            let written = format!("{prefix}{}", pairs.join(sep));
            prop_assert_eq!(canonical_serial(&written), Some(canonical_serial_from_bytes(&bytes)));
        }

        #[test]
        fn extraction_never_panics(text in "\\PC{0,300}") {
            let _ = extract(&text);
        }

        #[test]
        fn a_serial_after_a_keyword_is_found(
            bytes in proptest::collection::vec(any::<u8>(), 8..20),
            keyword in prop_oneof![Just("Serial number:"), Just("Numărul de serie"), Just("Серийный номер -"), Just("S/N")],
        ) {
            let written: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let text = format!("Salut!\n{keyword} {}\nMulțumesc", written.join(" "));
            let found = extract(&text);
            prop_assert_eq!(found.len(), 1);
            prop_assert_eq!(canonical_serial(&found[0].digits), Some(canonical_serial_from_bytes(&bytes)));
        }
    }
}
