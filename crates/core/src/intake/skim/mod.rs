//! Before the MIME parser: the bodies of base64 attachments that
//! [`super::attachment::examine`] would ignore anyway are cut out, so a 5 MB mail of
//! PDFs and photographs is not decoded only to be set aside. Those are the attachments
//! neither named nor typed as a certificate, request, key or archive, when they are
//! larger than it sniffs, or smaller and sniffed here already with nothing found.
//!
//! Conservative by construction: a part counts only after a delimiter line of a
//! boundary the message declared; its body ends only at the next delimiter line of a
//! declared boundary (where MIME ends it too); a name the skim cannot read plainly
//! (RFC 2231, encoded words) keeps the body. What is cut is never more than what the
//! parser would have handed to `examine` for nothing.

use std::borrow::Cow;

use memchr::memmem;

use super::attachment::{ignored_when_large, SNIFF_LIMIT};

/// Header blocks longer than this are not read (the part is kept whole).
const MAX_HEADER_BLOCK: usize = 16 * 1024;
/// Boundaries followed at most (a hostile message may declare thousands).
const MAX_BOUNDARIES: usize = 64;

/// `raw` with the bodies of large ignorable base64 attachments removed (borrowed as is
/// when there is nothing to cut).
pub fn skim(raw: &[u8]) -> Cow<'_, [u8]> {
    // Most mail is one text part: nothing to skim, nothing to read twice.
    let head = &raw[..raw.len().min(MAX_HEADER_BLOCK)];
    if memmem::find(head, b"oundary").is_none() && memmem::find(head, b"OUNDARY").is_none() {
        return Cow::Borrowed(raw);
    }
    let (top, body_start) = headers(raw, 0);
    let mut boundaries: Vec<Vec<u8>> = Vec::new();
    if let Some(b) = top.as_ref().and_then(|h| h.boundary.clone()) {
        boundaries.push(b);
    }
    if boundaries.is_empty() {
        return Cow::Borrowed(raw);
    }
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut at = body_start;
    while let Some(line) = next_delimiter(raw, at, &boundaries) {
        let after = line_end(raw, line);
        let (part, mut body) = headers(raw, after);
        let Some(part) = part else {
            at = after;
            continue;
        };
        if let Some(b) = part.boundary.clone() {
            if boundaries.len() < MAX_BOUNDARIES && !boundaries.contains(&b) {
                boundaries.push(b);
            }
        }
        if part.message {
            // An attached message: its own header may declare a boundary.
            let (inner, inner_body) = headers(raw, body);
            if let Some(b) = inner.and_then(|h| h.boundary) {
                if boundaries.len() < MAX_BOUNDARIES && !boundaries.contains(&b) {
                    boundaries.push(b);
                }
            }
            body = inner_body;
        }
        let end = next_delimiter(raw, body, &boundaries).unwrap_or(raw.len());
        let content = &raw[body..end];
        if part.skippable()
            && !starts_tnef(content)
            && (decodes_past(content, SNIFF_LIMIT) || holds_nothing(content))
        {
            cuts.push((body, end));
        }
        at = end.max(after);
    }
    if cuts.is_empty() {
        return Cow::Borrowed(raw);
    }
    let kept = raw.len() - cuts.iter().map(|(s, e)| e - s).sum::<usize>();
    let mut out = Vec::with_capacity(kept);
    let mut from = 0;
    for (start, end) in cuts {
        out.extend_from_slice(&raw[from..start]);
        from = end;
    }
    out.extend_from_slice(&raw[from..]);
    Cow::Owned(out)
}

/// What the skim needs of one header block.
#[derive(Debug, Default)]
struct Part {
    boundary: Option<Vec<u8>>,
    content_type: String,
    base64: bool,
    name: Option<String>,
    /// A name in a form the skim does not decode (RFC 2231, encoded words).
    name_unreadable: bool,
    message: bool,
}

impl Part {
    fn skippable(&self) -> bool {
        let main = self.content_type.split('/').next().unwrap_or("");
        self.base64
            && !self.name_unreadable
            && !matches!(main, "" | "text" | "message" | "multipart")
            && ignored_when_large(self.name.as_deref().unwrap_or(""), &self.content_type)
    }
}

/// Whether a base64 body decodes to a TNEF stream (a `winmail.dat` under another
/// name), which `examine` opens whatever its size.
fn starts_tnef(body: &[u8]) -> bool {
    let head: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(8)
        .collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, head)
        .is_ok_and(|bytes| super::tnef::is_tnef(&bytes))
}

/// Whether a small base64 body `examine` would sniff is certainly no certificate,
/// request or key: it decodes cleanly (here, with a decoder several times faster than
/// the MIME parser's) and the certificate reader finds nothing in those bytes. Most
/// small attachments are letters and scans; decoding each in the parser cost a fifth
/// of `inspect`. Anything this decoder refuses (a stray character, padding inside) is
/// kept for the parser's lenient decoder, as before.
fn holds_nothing(body: &[u8]) -> bool {
    let mut clean = Vec::with_capacity(body.len());
    for line in body.split(|b| *b == b'\n') {
        clean.extend_from_slice(line.trim_ascii());
    }
    match base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &clean) {
        Ok(bytes) => crate::certificate::decode::decode(&bytes).is_empty(),
        Err(_) => false,
    }
}

/// Whether a base64 body decodes to more than `limit` bytes (line breaks do not
/// count). Reads only as far as it must: counting the breaks of a whole 3 MB body
/// took a tenth of `inspect`'s time.
fn decodes_past(body: &[u8], limit: usize) -> bool {
    // More than this many characters besides the breaks decode past the limit.
    let needed = (limit / 3 + 1) * 4;
    if body.len() < needed {
        return false;
    }
    let mut breaks = 0;
    for at in memchr::memchr2_iter(b'\r', b'\n', body) {
        breaks += 1;
        if at + 1 - breaks >= needed {
            return true;
        }
    }
    body.len() - breaks >= needed
}

/// The start of the next line at or after `from` that is a delimiter of one of
/// `boundaries` (`--boundary`, at the start of a line).
fn next_delimiter(raw: &[u8], from: usize, boundaries: &[Vec<u8>]) -> Option<usize> {
    let at = from;
    let line_start = at == 0 || raw.get(at.wrapping_sub(1)) == Some(&b'\n');
    if line_start && is_delimiter(&raw[at..], boundaries) {
        return Some(at);
    }
    // One byte is looked for, not "\n--": base64 has no '-', and a one-byte search
    // reads a 4 MB body in half the time (it was as long as reading the file).
    for dash in memchr::memchr_iter(b'-', &raw[at..]) {
        let line = at + dash;
        if line > 0 && raw[line - 1] == b'\n' && is_delimiter(&raw[line..], boundaries) {
            return Some(line);
        }
    }
    None
}

fn is_delimiter(line: &[u8], boundaries: &[Vec<u8>]) -> bool {
    line.starts_with(b"--")
        && boundaries
            .iter()
            .any(|b| line[2..].starts_with(b.as_slice()))
}

/// The index just past the line starting at `at`.
fn line_end(raw: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &raw[at..]).map_or(raw.len(), |n| at + n + 1)
}

/// The header block starting at `at`: what the skim needs of it (`None` when it is too
/// long or never ends) and where the body starts.
fn headers(raw: &[u8], at: usize) -> (Option<Part>, usize) {
    let window = &raw[at..raw.len().min(at + MAX_HEADER_BLOCK)];
    let end = [b"\r\n\r\n".as_slice(), b"\n\n"]
        .iter()
        .filter_map(|e| memmem::find(window, e).map(|n| (n, n + e.len())))
        .min();
    // A part with no header at all starts with its blank line.
    let (block_len, body) = match end {
        _ if window.starts_with(b"\r\n") => (0, at + 2),
        _ if window.starts_with(b"\n") => (0, at + 1),
        Some((n, past)) => (n, at + past),
        None => return (None, at),
    };
    let text = String::from_utf8_lossy(&window[..block_len]);
    let mut part = Part::default();
    for field in unfold(&text) {
        let Some((name, value)) = field.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => {
                part.content_type = value
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                part.message = part.content_type == "message/rfc822";
                part.boundary = parameter(value, "boundary").map(String::into_bytes);
                read_name(&mut part, value, "name");
            }
            "content-transfer-encoding" => {
                part.base64 = value.eq_ignore_ascii_case("base64");
            }
            "content-disposition" => read_name(&mut part, value, "filename"),
            _ => {}
        }
    }
    (Some(part), body)
}

fn read_name(part: &mut Part, value: &str, key: &str) {
    let lower = value.to_ascii_lowercase();
    if lower.contains(&format!("{key}*")) {
        part.name_unreadable = true;
        return;
    }
    if let Some(name) = parameter(value, key) {
        if name.contains("=?") {
            part.name_unreadable = true;
        } else if part.name.is_none() || key == "filename" {
            part.name = Some(name);
        }
    }
}

/// Header fields with their continuation lines joined.
fn unfold(text: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for line in text.lines() {
        match fields.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => fields.push(line.to_string()),
        }
    }
    fields
}

/// A parameter's value (`key=value` or `key="value"`), case-insensitive key.
fn parameter(value: &str, key: &str) -> Option<String> {
    for item in value.split(';').skip(1) {
        let Some((k, v)) = item.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case(key) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .map_or(v, |q| q.split('"').next().unwrap_or(q));
            return Some(v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests;
