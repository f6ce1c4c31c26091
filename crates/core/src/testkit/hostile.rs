//! Hostile mail of a chosen size, one shape for each text pass and parser a mail goes
//! through: the inputs that show whether a pass stays linear (the hostile bench prints
//! the time per shape against the size; the unit tests read the largest ones).

use super::mail::Mail;

/// A named shape of hostile mail, built to about `bytes` bytes.
pub struct Shape {
    pub name: &'static str,
    pub build: fn(usize) -> Vec<u8>,
}

/// Every shape, each aimed at one pass.
pub const SHAPES: &[Shape] = &[
    Shape {
        name: "unclosed <blockquote> (quoted-text stripping)",
        build: unclosed_blockquotes,
    },
    Shape {
        name: "nested <blockquote>…</blockquote>",
        build: nested_blockquotes,
    },
    Shape {
        name: "closing </blockquote without >",
        build: unterminated_closes,
    },
    Shape {
        name: "HTML of < and tags (HTML to text)",
        build: angle_soup,
    },
    Shape {
        name: "table cells (block separation)",
        build: table_cells,
    },
    Shape {
        name: "one line of hex pairs (serials)",
        build: hex_line,
    },
    Shape {
        name: "lines of digits and colons (serials)",
        build: digit_lines,
    },
    Shape {
        name: "attribution-like lines (quoted text)",
        build: attribution_lines,
    },
    Shape {
        name: "Outlook From: lines (quoted text)",
        build: from_lines,
    },
    Shape {
        name: "question marks (question)",
        build: question_marks,
    },
    Shape {
        name: "IP-like and system lines (integration data)",
        build: integration_lines,
    },
    Shape {
        name: "PEM markers (pasted certificates)",
        build: pem_markers,
    },
    Shape {
        name: "header of 10,000+ fields (trace, trust)",
        build: many_fields,
    },
    Shape {
        name: "folded Subject (header decoding)",
        build: folded_subject,
    },
    Shape {
        name: "encoded words (RFC 2047)",
        build: encoded_words,
    },
    Shape {
        name: "MIME parts (walk)",
        build: many_parts,
    },
];

fn html_mail(body: String) -> Vec<u8> {
    Mail::new("stranger@evil.test", "MNotify")
        .html(&body)
        .build()
}

fn text_mail(body: String) -> Vec<u8> {
    Mail::new("stranger@evil.test", "MNotify")
        .text(&body)
        .build()
}

fn repeat_to(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes / unit.len().max(1) + 1)
}

fn unclosed_blockquotes(bytes: usize) -> Vec<u8> {
    html_mail(repeat_to("<blockquote>", bytes))
}

fn nested_blockquotes(bytes: usize) -> Vec<u8> {
    let half = repeat_to("<blockquote>a", bytes / 2);
    let close = repeat_to("</blockquote>", bytes / 2);
    html_mail(format!("{half}{close}"))
}

fn unterminated_closes(bytes: usize) -> Vec<u8> {
    html_mail(repeat_to("<blockquote></blockquote ", bytes))
}

fn angle_soup(bytes: usize) -> Vec<u8> {
    html_mail(repeat_to("<<a <b x=\"<\" <!-- <p <", bytes))
}

fn table_cells(bytes: usize) -> Vec<u8> {
    html_mail(repeat_to("<td>AB</td><tr>", bytes))
}

fn hex_line(bytes: usize) -> Vec<u8> {
    text_mail(repeat_to("AB ", bytes))
}

fn digit_lines(bytes: usize) -> Vec<u8> {
    text_mail(repeat_to("seria: 01:02:03:04:05:06:07:08:09:0a\n", bytes))
}

fn attribution_lines(bytes: usize) -> Vec<u8> {
    text_mail(repeat_to("On Mon 1 Jan 2026 Ion\n", bytes) + "a scris:\n")
}

fn from_lines(bytes: usize) -> Vec<u8> {
    text_mail(repeat_to("From: x\n", bytes))
}

fn question_marks(bytes: usize) -> Vec<u8> {
    text_mail(repeat_to("ce? http://a?b ", bytes))
}

fn integration_lines(bytes: usize) -> Vec<u8> {
    text_mail(repeat_to(
        "IP test: 10.0.0.1, 10.0.0.2 Sistemul: x\n",
        bytes,
    ))
}

fn pem_markers(bytes: usize) -> Vec<u8> {
    text_mail(repeat_to("-----BEGIN CERTIFICATE-----\nMIIB\n", bytes))
}

fn many_fields(bytes: usize) -> Vec<u8> {
    let mut head = String::new();
    let field = "Received: from a.test by mx.egov.test; Tue, 24 Nov 2026 10:00:00 +0000\r\nAuthentication-Results: mx.egov.test; dmarc=pass header.from=a.test\r\n";
    head.push_str(&repeat_to(field, bytes));
    format!("{head}From: stranger@evil.test\r\nSubject: MNotify\r\n\r\nMNotify\r\n").into_bytes()
}

fn folded_subject(bytes: usize) -> Vec<u8> {
    let folds = repeat_to(" MNotify\r\n", bytes);
    format!("From: stranger@evil.test\r\nSubject:{folds}\r\nMNotify\r\n").into_bytes()
}

fn encoded_words(bytes: usize) -> Vec<u8> {
    let words = repeat_to(" =?utf-8?B?TU5vdGlmeQ==?=", bytes);
    format!("From: stranger@evil.test\r\nSubject:{words}\r\n\r\nMNotify\r\n").into_bytes()
}

fn many_parts(bytes: usize) -> Vec<u8> {
    let part = "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n";
    // Under the boundary-line limit, which reads only the header past it.
    let count = (bytes / part.len()).min(45_000);
    let parts = part.repeat(count);
    format!("From: stranger@evil.test\r\nSubject: MNotify\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{parts}--b--\r\n").into_bytes()
}
