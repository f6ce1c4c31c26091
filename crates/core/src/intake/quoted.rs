//! Quoted earlier mail is not the sender's statement: a serial in a quoted reply of ours,
//! or in the message they answer, must not be read as theirs. This module cuts it out
//! of plain text and HTML bodies.

use std::sync::LazyLock;

use regex::Regex;

/// The line that opens a quoted reply, in the clients and languages AGE sees.
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?:wrote|a\s+scris|(?:на)?писал\(?а?\)?|пишет|написала?)\s*:\s*$
        |^-{2,}\s*(?:original\s+message|mesaj(?:ul)?\s+original|исходное\s+сообщение)\s*-{2,}",
    )
    .expect("attribution pattern is valid")
});

/// First line of an Outlook reply header block ("From: … Sent: … To: … Subject: …").
static OUTLOOK_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\**(?:from|de\s+la|от|expeditor)\s*:\**\s").expect("valid pattern")
});
static OUTLOOK_SENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\**(?:sent|date|trimis|data|отправлено|дата)\s*:\**\s")
        .expect("valid pattern")
});

/// How a wrapped attribution's first line starts ("On …", "În …", a date).
static ATTRIBUTION_OPENER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:on|în|in|la|pe)\s|^\s*\d").expect("valid pattern"));

/// Lines that follow an attribution's first line when a client wraps it ("On Tue, …
/// <a@b>" / "wrote:").
const ATTRIBUTION_WRAP_LINES: usize = 2;

/// Plain text without `>` lines and without everything after a reply attribution or an
/// Outlook header block.
pub fn strip_plain(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if ATTRIBUTION.is_match(line.trim_end()) {
            end = attribution_start(&lines, i);
            break;
        }
        if OUTLOOK_FROM.is_match(line)
            && lines[i + 1..]
                .iter()
                .take(4)
                .any(|next| OUTLOOK_SENT.is_match(next))
        {
            end = i;
            break;
        }
    }
    let mut out = String::with_capacity(text.len());
    for line in &lines[..end] {
        if line.trim_start().starts_with('>') {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// "On Mon, 1 Jan 2026 at 10:00, Ion Popescu <ion@example.md>" may stand on the lines
/// before the one ending in "wrote:".
fn attribution_start(lines: &[&str], at: usize) -> usize {
    let mut start = at;
    for back in 1..=ATTRIBUTION_WRAP_LINES {
        let Some(prev) = at.checked_sub(back) else {
            break;
        };
        if lines[prev].trim().is_empty() {
            break;
        }
        if ATTRIBUTION_OPENER.is_match(lines[prev]) && !ATTRIBUTION_OPENER.is_match(lines[at]) {
            start = prev;
        }
    }
    start
}

/// Markers after which an HTML body is quoted mail (Gmail, Outlook, Thunderbird).
const HTML_QUOTE_STARTS: &[&str] = &[
    "<div class=\"gmail_quote",
    "<div id=\"divrplyfwdmsg\"",
    "<div id=\"appendonsend\"",
    "<div class=\"moz-cite-prefix\"",
    "<hr id=\"stopspelling\"",
];

/// HTML without `<blockquote>` elements and without what follows a client's quote marker.
///
/// Linear in the input: each search for the next opening and closing tag starts where
/// the last one found it, never again from every opening tag (a stranger's 80,000
/// unclosed `<blockquote>` tags took 30 s that way).
pub fn strip_html(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let cut = HTML_QUOTE_STARTS
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(html.len());
    let (html, lower) = (&html[..cut], &lower[..cut]);
    let mut opens = memchr::memmem::find_iter(lower.as_bytes(), b"<blockquote").peekable();
    let mut closes = memchr::memmem::find_iter(lower.as_bytes(), b"</blockquote").peekable();
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    let mut depth = 0usize;
    loop {
        // Tags inside one already passed (the `>` search skipped them) do not count.
        while opens.next_if(|&o| o < pos).is_some() {}
        while closes.next_if(|&c| c < pos).is_some() {}
        match (opens.peek().copied(), closes.peek().copied()) {
            (Some(o), c) if c.is_none_or(|c| o < c) => {
                if depth == 0 {
                    out.push_str(&html[pos..o]);
                }
                depth += 1;
                pos = o + "<blockquote".len();
            }
            (_, Some(c)) => {
                if depth == 0 {
                    out.push_str(&html[pos..c]);
                }
                depth = depth.saturating_sub(1);
                pos =
                    memchr::memchr(b'>', &lower.as_bytes()[c..]).map_or(html.len(), |i| c + i + 1);
            }
            _ => {
                if depth == 0 {
                    out.push_str(&html[pos..]);
                }
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_style_reply_is_cut() {
        let text = "Numărul nou: AA BB\n\nOn Mon, 23 Nov 2026 at 10:00, AGE <servicii@egov.md>\nwrote:\n> Serial 11 22 33 44\n";
        let kept = strip_plain(text);
        assert!(kept.contains("AA BB"));
        assert!(!kept.contains("11 22"), "{kept}");
        assert!(!kept.contains("On Mon"), "{kept}");
    }

    #[test]
    fn romanian_and_russian_attributions() {
        assert_eq!(
            strip_plain("Salut\nÎn lun., 23 nov. 2026, Ion a scris:\nseria 12 34\n"),
            "Salut\n"
        );
        assert_eq!(
            strip_plain("Привет\n23.11.2026 10:00, Иван пишет:\nномер\n"),
            "Привет\n"
        );
        assert_eq!(strip_plain("Да\nИван Петров писал(а):\nномер\n"), "Да\n");
    }

    #[test]
    fn outlook_header_block_is_cut() {
        let text = "Vedeți atașat.\n\nFrom: AGE <servicii@egov.md>\nSent: Monday, November 23, 2026\nTo: x\nSubject: y\n\nSerial 12 34 56 78";
        assert_eq!(strip_plain(text), "Vedeți atașat.\n\n");
    }

    #[test]
    fn from_line_without_sent_is_kept() {
        let text = "From: our IT department\nthe serial is 12 34 56 78";
        assert_eq!(strip_plain(text), format!("{text}\n"));
    }

    #[test]
    fn nested_blockquotes_are_removed() {
        let html = "<p>mine</p><blockquote>a<blockquote>b</blockquote>c</blockquote><p>after</p>";
        assert_eq!(strip_html(html), "<p>mine</p><p>after</p>");
    }

    #[test]
    fn gmail_quote_div_cuts_the_rest() {
        let html = "<div>new</div><div class=\"gmail_quote\"><div>On … wrote:</div>old</div>";
        assert_eq!(strip_html(html), "<div>new</div>");
    }

    /// The algorithm before it was made linear (a search from every opening tag), kept
    /// as the reference the linear one must agree with.
    fn strip_html_reference(html: &str) -> String {
        let lower = html.to_ascii_lowercase();
        let cut = HTML_QUOTE_STARTS
            .iter()
            .filter_map(|m| lower.find(m))
            .min()
            .unwrap_or(html.len());
        let (html, lower) = (&html[..cut], &lower[..cut]);
        let mut out = String::new();
        let (mut pos, mut depth) = (0, 0usize);
        while pos < html.len() {
            let open = lower[pos..].find("<blockquote").map(|i| i + pos);
            let close = lower[pos..].find("</blockquote").map(|i| i + pos);
            match (open, close) {
                (Some(o), c) if c.is_none_or(|c| o < c) => {
                    if depth == 0 {
                        out.push_str(&html[pos..o]);
                    }
                    depth += 1;
                    pos = o + "<blockquote".len();
                }
                (_, Some(c)) => {
                    if depth == 0 {
                        out.push_str(&html[pos..c]);
                    }
                    depth = depth.saturating_sub(1);
                    pos = lower[c..].find('>').map_or(html.len(), |i| c + i + 1);
                }
                _ => {
                    if depth == 0 {
                        out.push_str(&html[pos..]);
                    }
                    break;
                }
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn the_linear_stripping_agrees_with_the_reference(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "<blockquote>", "<BLOCKQUOTE type=cite>", "</blockquote>", "</blockquote",
                    ">", "<", "text ", "ș", "<p>", "<div class=\"gmail_quote\">", "\n",
                ]),
                0..40,
            )
        ) {
            let html: String = pieces.concat();
            proptest::prop_assert_eq!(strip_html(&html), strip_html_reference(&html));
        }
    }

    #[test]
    fn eighty_thousand_unclosed_tags_leave_nothing() {
        let html = format!("<p>mine</p>{}", "<blockquote>".repeat(80_000));
        assert_eq!(strip_html(&html), "<p>mine</p>");
    }
}
