//! Replies' HTML part, made from their text.

/// The plain text as simple HTML: paragraphs kept, links clickable, nothing injected.
pub fn text_to_html(text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let link = |escaped: String| match escaped.find("https://") {
        Some(i) => {
            let end = escaped[i..].find(' ').map_or(escaped.len(), |e| i + e);
            let url = &escaped[i..end];
            format!(
                "{}<a href=\"{url}\" style=\"color:#0b4f8a\">{url}</a>{}",
                &escaped[..i],
                &escaped[end..]
            )
        }
        None => escaped,
    };
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
                format!("{pad}{mark}{}", link(escape(rest)))
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
