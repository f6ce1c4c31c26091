//! HTML escaping, one way for every HTML the product writes (replies, the digest):
//! safe in element text and in a quoted attribute alike.

/// `text` with `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Unicode's bidirectional formatting characters and marks (what must not reach a
/// page or a log line from a stranger's text: they reorder what people read).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with its control and bidirectional characters shown as `[U+202E]`, so that
/// what a stranger wrote cannot reorder or rewrite what staff read
/// (`\u{202e}gpj.exe` would read as an image's name); line breaks and tabs stay when
/// `keep_lines` (a mail's text).
pub fn visible(text: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let kept = keep_lines && (c == '\n' || c == '\t');
        if !kept && (c.is_control() || is_bidi_control(c)) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_for_text_and_attributes() {
        assert_eq!(
            super::escape(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(super::escape("Bună ziua, ИНН"), "Bună ziua, ИНН");
    }
}
