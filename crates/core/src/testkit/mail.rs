//! E-mails built the way real clients build them: multipart/mixed with a text (or
//! HTML, or both) body, attachments base64-encoded, file names in RFC 2231 or RFC 2047,
//! bodies in the legacy charsets Moldovan offices still use.

use base64::Engine;

/// How an attachment's file name is written in the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameEncoding {
    Plain,
    /// `filename*=utf-8''...` (Thunderbird, Gmail).
    Rfc2231,
    /// `name="=?utf-8?B?...?="` (Outlook).
    Rfc2047,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub name_encoding: NameEncoding,
}

/// A message under construction.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub date: String,
    pub extra_headers: Vec<(String, String)>,
    /// Plain-text body as bytes in `charset`.
    pub text: Option<(Vec<u8>, String)>,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

impl Mail {
    pub fn new(from: &str, subject: &str) -> Mail {
        Mail {
            from: from.to_string(),
            to: "servicii@egov.md".to_string(),
            subject: subject.to_string(),
            message_id: format!("<{}.{}@client.example.md>", subject.len(), from.len()),
            date: "Tue, 24 Nov 2026 10:15:00 +0200".to_string(),
            extra_headers: Vec::new(),
            text: None,
            html: None,
            attachments: Vec::new(),
        }
    }

    pub fn text(mut self, body: &str) -> Mail {
        self.text = Some((body.as_bytes().to_vec(), "utf-8".to_string()));
        self
    }

    /// A plain-text body already encoded in `charset`.
    pub fn text_in(mut self, bytes: Vec<u8>, charset: &str) -> Mail {
        self.text = Some((bytes, charset.to_string()));
        self
    }

    pub fn html(mut self, body: &str) -> Mail {
        self.html = Some(body.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Mail {
        self.extra_headers
            .push((name.to_string(), value.to_string()));
        self
    }

    pub fn message_id(mut self, id: &str) -> Mail {
        self.message_id = id.to_string();
        self
    }

    pub fn attach(mut self, name: &str, content_type: &str, data: &[u8]) -> Mail {
        self.attachments.push(Attachment {
            name: name.to_string(),
            content_type: content_type.to_string(),
            data: data.to_vec(),
            name_encoding: NameEncoding::Plain,
        });
        self
    }

    pub fn attach_named(
        mut self,
        name: &str,
        content_type: &str,
        data: &[u8],
        enc: NameEncoding,
    ) -> Mail {
        self = self.attach(name, content_type, data);
        if let Some(last) = self.attachments.last_mut() {
            last.name_encoding = enc;
        }
        self
    }

    /// The raw RFC 5322 bytes, CRLF line ends.
    pub fn build(&self) -> Vec<u8> {
        let mut out = String::new();
        out += &format!("From: {}\r\nTo: {}\r\n", self.from, self.to);
        out += &format!("Subject: {}\r\n", encode_word(&self.subject));
        out += &format!(
            "Date: {}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\n",
            self.date, self.message_id
        );
        for (name, value) in &self.extra_headers {
            out += &format!("{name}: {value}\r\n");
        }
        let mut body = self.body_part();
        if !self.attachments.is_empty() {
            let boundary = "----=_Part_mixed_2026";
            let mut mixed =
                format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n");
            mixed += "This is a multi-part message in MIME format.\r\n";
            mixed += &format!("--{boundary}\r\n{body}\r\n");
            for a in &self.attachments {
                mixed += &format!("--{boundary}\r\n{}\r\n", attachment_part(a));
            }
            mixed += &format!("--{boundary}--\r\n");
            body = mixed;
        }
        out += &body;
        out.into_bytes()
    }

    fn body_part(&self) -> String {
        let text = self.text.as_ref().map(|(bytes, charset)| {
            format!(
                "Content-Type: text/plain; charset=\"{charset}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                wrapped_base64(bytes)
            )
        });
        let html = self.html.as_ref().map(|h| {
            format!(
                "Content-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                wrapped_base64(h.as_bytes())
            )
        });
        match (text, html) {
            (Some(t), Some(h)) => {
                let b = "----=_Part_alt_2026";
                format!("Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n--{b}\r\n{t}\r\n--{b}\r\n{h}\r\n--{b}--\r\n")
            }
            (Some(t), None) => t,
            (None, Some(h)) => h,
            (None, None) => "Content-Type: text/plain; charset=\"utf-8\"\r\n\r\n\r\n".to_string(),
        }
    }
}

fn attachment_part(a: &Attachment) -> String {
    let (ctype_name, disposition_name) = match a.name_encoding {
        NameEncoding::Plain => (
            format!("name=\"{}\"", a.name),
            format!("filename=\"{}\"", a.name),
        ),
        NameEncoding::Rfc2231 => {
            let encoded = percent_encode(&a.name);
            (
                format!("name*=utf-8''{encoded}"),
                format!("filename*=utf-8''{encoded}"),
            )
        }
        NameEncoding::Rfc2047 => {
            let w = encode_word(&a.name);
            (format!("name=\"{w}\""), format!("filename=\"{w}\""))
        }
    };
    format!(
        "Content-Type: {}; {ctype_name}\r\nContent-Disposition: attachment; {disposition_name}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        a.content_type,
        wrapped_base64(&a.data)
    )
}

/// Deterministic filler that does not compress or look like anything: the bytes of
/// attachments that are neither certificates nor archives.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A `winmail.dat` (TNEF) holding `files`, as Outlook writes one for a rich-text
/// mail: signature, key, then per file `attAttachRenddata`, `attAttachTitle`,
/// `attAttachData` and `attAttachment` with the long file name (PT_UNICODE).
pub fn winmail_dat(files: &[(&str, &[u8])]) -> Vec<u8> {
    fn attribute(out: &mut Vec<u8>, level: u8, field: u32, data: &[u8]) {
        out.push(level);
        out.extend(field.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
        let sum = data.iter().fold(0u16, |s, b| s.wrapping_add(u16::from(*b)));
        out.extend(sum.to_le_bytes());
    }
    let mut out = Vec::new();
    out.extend(0x223E_9F78u32.to_le_bytes());
    out.extend(0x0237u16.to_le_bytes());
    attribute(&mut out, 1, 0x0008_9006, &0x0001_0000u32.to_le_bytes()); // attTnefVersion
    for (name, data) in files {
        attribute(&mut out, 2, 0x0006_9002, &[0u8; 14]); // attAttachRenddata
        let mut title = name.as_bytes().to_vec();
        title.push(0);
        attribute(&mut out, 2, 0x0001_8010, &title);
        attribute(&mut out, 2, 0x0006_800F, data);
        let mut props = Vec::new();
        props.extend(1u32.to_le_bytes());
        props.extend(0x001Fu16.to_le_bytes()); // PT_UNICODE
        props.extend(0x3707u16.to_le_bytes()); // PR_ATTACH_LONG_FILENAME
        props.extend(1u32.to_le_bytes());
        let mut utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        utf16.extend([0, 0]);
        props.extend((utf16.len() as u32).to_le_bytes());
        let padding = (4 - utf16.len() % 4) % 4;
        props.extend(utf16);
        props.extend(std::iter::repeat_n(0u8, padding));
        attribute(&mut out, 2, 0x0006_9005, &props);
    }
    out
}

/// RFC 2047 encoded word when the text is not plain ASCII.
pub fn encode_word(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    format!(
        "=?utf-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Base64 in 76-column lines, as MIME wants.
pub fn wrapped_base64(data: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(b64.len() + b64.len() / 38);
    for chunk in b64.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out
}

/// Mail number `i` of a realistic mix from `from`, as the benches send it: a third with
/// a certificate attached, a third quoting a serial, a third asking about MNotify with
/// neither. The caller sets its Message-ID and `To`.
pub fn applicant_mix(
    i: usize,
    from: &str,
    pki: &crate::testkit::pki::Pki,
    now: time::OffsetDateTime,
) -> Mail {
    match i % 3 {
        0 => {
            let serial = (i as u32 + 0x1000).to_be_bytes();
            let leaf = pki.leaf(&crate::testkit::pki::LeafSpec::valid_at(
                now, "SI Bench", &serial,
            ));
            Mail::new(from, "Certificat MNotify")
                .text("Bună ziua, anexăm certificatul de sistem pentru conectarea la MNotify.")
                .attach("certificat.cer", "application/pkix-cert", &leaf)
        }
        1 => Mail::new(from, "MNotify").text(&format!(
            "Folosim certificatul existent, numărul de serie {:08X}.",
            i * 7919
        )),
        _ => Mail::new(from, "Conectare MNotify")
            .text("Ce trebuie să trimitem pentru conectarea la MNotify?"),
    }
}
