use super::*;
use crate::intake::{read_with, Skim};
use crate::testkit::mail::{noise, Mail, NameEncoding};
use crate::testkit::pki::{LeafSpec, Pki};
use proptest::prelude::*;
use time::macros::datetime;

fn leaf() -> Vec<u8> {
    let now = datetime!(2026-11-24 12:00 UTC);
    Pki::new(now).leaf(&LeafSpec::valid_at(now, "SI Skim", &[0x51, 0x52]))
}

/// What the skim must not change: everything `read` finds.
fn same_facts(raw: &[u8]) {
    let own = ["servicii@egov.md".to_string()];
    let skimmed = read_with(raw, &own, Skim::LargeIgnorable);
    let whole = read_with(raw, &own, Skim::Nothing);
    assert_eq!(skimmed.certificates, whole.certificates);
    assert_eq!(skimmed.findings, whole.findings);
    assert_eq!(skimmed.quoted, whole.quoted);
    assert_eq!(skimmed.subject, whole.subject);
    assert_eq!(skimmed.mentions_mnotify, whole.mentions_mnotify);
    assert_eq!(skimmed.question, whole.question);
}

#[test]
fn large_unrelated_attachments_are_cut_and_nothing_found_changes() {
    let cer = leaf();
    let raw = Mail::new("ion@asp.gov.md", "Documente MNotify")
        .text("Bună ziua, seria 0a 1b 2c 3d 4e 5f, certificatul e anexat.")
        .attach("raport.pdf", "application/pdf", &noise(2_000_000, 2))
        .attach("sistem.cer", "application/octet-stream", &cer)
        .attach("foto.jpg", "image/jpeg", &noise(1_700_000, 3))
        .build();
    let cut = skim(&raw);
    assert!(cut.len() < 20_000, "{} bytes left", cut.len());
    same_facts(&raw);
    let facts = crate::intake::read(&raw, &[]);
    assert_eq!(facts.certificates.len(), 1);
}

#[test]
fn what_examine_reads_is_kept_whole() {
    let big = noise(600_000, 7);
    for (name, ctype) in [
        ("arhiva.zip", "application/zip"),
        ("lant.cer", "application/octet-stream"),
        ("cheie.pfx", "application/octet-stream"),
        ("date", "application/x-zip-compressed"),
        ("cerere.csr", "application/octet-stream"),
        ("note.txt", "text/plain"),
    ] {
        let raw = Mail::new("a@b.md", "x")
            .text("salut")
            .attach(name, ctype, &big)
            .build();
        assert!(
            matches!(skim(&raw), Cow::Borrowed(_)),
            "{name} {ctype} must be kept"
        );
        same_facts(&raw);
    }
    // A name the skim cannot read plainly keeps the body.
    for enc in [NameEncoding::Rfc2231, NameEncoding::Rfc2047] {
        let raw = Mail::new("a@b.md", "x")
            .attach_named("certificat ș.cer", "application/octet-stream", &big, enc)
            .build();
        assert!(matches!(skim(&raw), Cow::Borrowed(_)), "{enc:?}");
        same_facts(&raw);
    }
}

#[test]
fn an_attached_message_is_skimmed_inside_and_its_certificate_found() {
    let cer = leaf();
    let inner = Mail::new("ion@asp.gov.md", "Certificat")
        .text("anexat")
        .attach("raport.pdf", "application/pdf", &noise(900_000, 4))
        .attach("sistem.cer", "application/pkix-cert", &cer)
        .build();
    let inner = String::from_utf8(inner).unwrap();
    let raw = format!(
        "From: ana@asp.gov.md\r\nTo: servicii@egov.md\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n\
         Content-Type: text/plain\r\n\r\nvezi mai jos\r\n--outer\r\n\
         Content-Type: message/rfc822\r\n\r\n{inner}\r\n--outer--\r\n"
    );
    let cut = skim(raw.as_bytes());
    assert!(cut.len() < raw.len() / 10, "{} of {}", cut.len(), raw.len());
    same_facts(raw.as_bytes());
    assert_eq!(
        crate::intake::read(raw.as_bytes(), &[]).certificates.len(),
        1
    );
}

#[test]
fn lines_that_only_look_like_delimiters_cut_nothing_more() {
    // A text part quoting a fake part with a big blob: "--fake" is no declared boundary.
    let blob = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        noise(400_000, 9),
    );
    let raw = format!(
        "From: a@b.md\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"real\"\r\n\r\n--real\r\n\
         Content-Type: text/plain\r\n\r\nseria 0a1b2c3d4e5f\r\n--fake\r\n\
         Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{blob}\r\n--real--\r\n"
    );
    assert!(matches!(skim(raw.as_bytes()), Cow::Borrowed(_)));
    same_facts(raw.as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the mix of attachments and sizes, the skim changes nothing `read`
    /// finds.
    #[test]
    fn skimming_never_changes_the_facts(
        parts in proptest::collection::vec((0usize..6, 0usize..3, any::<u64>()), 0..4),
        serial_in_text in any::<bool>(),
    ) {
        let names = [
            ("raport.pdf", "application/pdf"),
            ("foto.jpg", "image/jpeg"),
            ("sistem.cer", "application/octet-stream"),
            ("arhiva.zip", "application/zip"),
            ("fara nume", "application/octet-stream"),
            ("scan.tif", "image/tiff"),
        ];
        let sizes = [10_000usize, 300_000, 700_000];
        let text = if serial_in_text { "Seria: 3A 00 12 AB" } else { "Bună ziua" };
        let mut mail = Mail::new("a@b.md", "MNotify").text(text);
        for (kind, size, seed) in parts {
            let (name, ctype) = names[kind];
            let data = if name == "sistem.cer" { leaf() } else { noise(sizes[size], seed) };
            mail = mail.attach(name, ctype, &data);
        }
        same_facts(&mail.build());
    }
}

#[test]
fn a_large_tnef_stream_under_any_name_is_kept() {
    let big = noise(600_000, 11);
    let tnef = crate::testkit::mail::winmail_dat(&[("scan.pdf", big.as_slice())]);
    let raw = Mail::new("a@b.md", "x")
        .attach("fisier.bin", "application/octet-stream", &tnef)
        .build();
    assert!(matches!(skim(&raw), Cow::Borrowed(_)));
    same_facts(&raw);
}

/// Reading only as far as it must says what counting every break says.
#[test]
fn decodes_past_agrees_with_counting_every_break() {
    let whole = |body: &[u8], limit: usize| {
        let breaks = body.iter().filter(|b| matches!(b, b'\r' | b'\n')).count();
        (body.len() - breaks) / 4 * 3 > limit
    };
    for limit in [0, 1, 2, 3, 5, 47, 48, 300] {
        for len in 0..500 {
            for line in [76, 3, 1] {
                let body: Vec<u8> = (0..len)
                    .map(|i| {
                        if i % (line + 2) >= line {
                            b"\r\n"[i % 2]
                        } else {
                            b'A'
                        }
                    })
                    .collect();
                assert_eq!(
                    super::decodes_past(&body, limit),
                    whole(&body, limit),
                    "limit {limit}, len {len}, line {line}"
                );
            }
        }
    }
}

/// A small attachment `examine` would sniff is cut only when the skim's own sniff finds
/// nothing in it; one that hides a certificate under another name is kept and found,
/// and one the strict decoder refuses is left to the parser.
#[test]
fn small_attachments_are_sniffed_before_they_are_cut() {
    let cer = leaf();
    let pem = format!(
        "Certificatul nostru:\r\n-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &cer)
    );
    let letter = Mail::new("a@b.md", "x")
        .text("salut")
        .attach("scrisoare.pdf", "application/pdf", &noise(100_000, 8))
        .build();
    let cut = skim(&letter);
    assert!(
        cut.len() < 5_000,
        "{} bytes left of {}",
        cut.len(),
        letter.len()
    );
    same_facts(&letter);
    for (name, data) in [("scan.pdf", cer.clone()), ("nota.doc", pem.into_bytes())] {
        let raw = Mail::new("a@b.md", "x")
            .text("salut")
            .attach(name, "application/octet-stream", &data)
            .build();
        assert!(
            matches!(skim(&raw), Cow::Borrowed(_)),
            "{name} must be kept"
        );
        same_facts(&raw);
        assert_eq!(
            crate::intake::read(&raw, &[]).certificates.len(),
            1,
            "{name}"
        );
    }
    // A stray character in the base64: the parser's lenient decoder reads it.
    let mut raw = String::from_utf8(letter).unwrap();
    let part = raw.find("scrisoare.pdf").unwrap();
    let body = part + raw[part..].find("\r\n\r\n").unwrap() + 4;
    raw.insert(body + 8, '!');
    assert!(matches!(skim(raw.as_bytes()), Cow::Borrowed(_)));
    same_facts(raw.as_bytes());
}
