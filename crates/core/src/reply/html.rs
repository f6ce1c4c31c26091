//! Replies' HTML part, made from their text.

/// The plain text as simple HTML: paragraphs kept, nothing injected, and links made
/// only of `ours`, the addresses the agency's own texts carry (its web address, the
/// procedures' links): an address the applicant wrote and a reply echoes stays text.
pub fn text_to_html(text: &str, ours: &[&str]) -> String {
    let link = |line: &str| with_links(line, ours);
    let mut html = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:Segoe UI,Arial,sans-serif;font-size:14px;line-height:1.5;color:#1f2933;margin:0;padding:16px\">\
         <div style=\"max-width:680px\">",
    );
    for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let para = para.trim_matches('\n');
        let lines: Vec<String> = para
            .lines()
            .map(|l| {
                let indent = l.len() - l.trim_start().len();
                let t = l.trim_start();
                // The case checklist: a mark instead of "[x]" / "[ ]".
                let (mark, rest) = if let Some(rest) = t.strip_prefix("[x] ") {
                    (
                        "<span style=\"color:#1a7f37;font-weight:bold\">&#10004;</span>&nbsp; ",
                        rest,
                    )
                } else if let Some(rest) = t.strip_prefix("[ ] ") {
                    ("<span style=\"color:#8a94a0\">&#9675;</span>&nbsp; ", rest)
                } else {
                    ("", t)
                };
                let pad = if indent > 0 {
                    "<span style=\"display:inline-block;width:1.5em\"></span>"
                } else {
                    ""
                };
                format!("{pad}{mark}{}", link(rest))
            })
            .collect();
        // The next step stands out: it is the one thing the applicant must do.
        let strong = ["Pasul următor:", "Next step:", "Следующий шаг:"]
            .iter()
            .any(|p| para.trim_start().starts_with(p));
        let style = if strong {
            "margin:0 0 12px 0;padding:8px 12px;background:#eef5fc;border-left:3px solid #0b4f8a;font-weight:600"
        } else {
            "margin:0 0 12px 0"
        };
        html += &format!("<p style=\"{style}\">{}</p>", lines.join("<br>"));
    }
    html += "</div></body></html>";
    html
}

/// `line` escaped, each of `ours` standing whole in it (not the start of a longer
/// address) made a link; the longest first where two start at the same place.
fn with_links(line: &str, ours: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = line;
    'scan: while !rest.is_empty() {
        for (at, _) in rest.match_indices("https://") {
            let tail = &rest[at..];
            let found = ours
                .iter()
                .filter(|url| !url.is_empty() && tail.starts_with(**url))
                .filter(|url| ends_address(&tail[url.len()..]))
                .max_by_key(|url| url.len());
            if let Some(url) = found {
                let shown = crate::html::escape(url);
                out += &crate::html::escape(&rest[..at]);
                out += &format!("<a href=\"{shown}\" style=\"color:#0b4f8a\">{shown}</a>");
                rest = &tail[url.len()..];
                continue 'scan;
            }
        }
        out += &crate::html::escape(rest);
        break;
    }
    out
}

/// Whether an address ends where `after` starts: at the end of the line, a space,
/// or a punctuation mark that ends a sentence or closes a bracket before one.
fn ends_address(after: &str) -> bool {
    let mut chars = after.chars();
    match chars.next() {
        None => true,
        Some(c) if c.is_whitespace() => true,
        Some('.' | ',' | ';' | ':' | ')' | '!' | '?' | '»' | '"') => {
            chars.next().is_none_or(|c| c.is_whitespace() || c == ')')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::text_to_html;

    const OURS: [&str; 2] = ["https://egov.md", "https://forms.example.md/f?id=1&x=2"];

    #[test]
    fn only_the_agencys_addresses_are_links() {
        let html = text_to_html(
            "Formularul: https://forms.example.md/f?id=1&x=2.\nSite: https://egov.md",
            &OURS,
        );
        assert!(
            html.contains(
                "<a href=\"https://forms.example.md/f?id=1&amp;x=2\" style=\"color:#0b4f8a\">https://forms.example.md/f?id=1&amp;x=2</a>."
            ),
            "{html}"
        );
        assert!(html.contains("<a href=\"https://egov.md\""), "{html}");
        assert_eq!(html.matches("<a ").count(), 2, "{html}");
    }

    #[test]
    fn an_address_the_applicant_wrote_stays_text() {
        for hostile in [
            "Sistem: https://evil.test/\"onmouseover=\"alert(1)",
            "https://egov.md.evil.test/login",
            "https://egov.md/../evil",
            "https://egov.mdx",
            "<a href=\"https://evil.test\">https://egov.md</a>x",
        ] {
            let html = text_to_html(hostile, &OURS);
            assert!(!html.contains("<a "), "{hostile}: {html}");
            assert!(!html.contains("\"onmouseover"), "{hostile}: {html}");
            assert!(
                !html.contains("<a href=\"https://evil"),
                "{hostile}: {html}"
            );
        }
    }
}
