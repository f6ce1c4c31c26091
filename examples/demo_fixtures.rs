//! Writes the demo's fixed sample data into `demo/`: a STISC-like test PKI (root and
//! issuing CA), the certificate already registered for MPass, and the applicants'
//! e-mails `scripts/demo` sends. The files are checked in; run this only to remake them:
//!
//!     cargo run --example demo_fixtures --features testkit
//!
//! The certificates are valid until 2036 (the expired one on purpose in 2025), so the
//! demo keeps working for years without regenerating anything.

use std::path::Path;

use base64::Engine;
use mnotify_intake::testkit::mail::encode_word;
use mnotify_intake::testkit::pki::{LeafSpec, Pki};
use time::macros::datetime;

fn base64_lines(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    b64.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A mail as a desktop client writes it: UTF-8 text sent 8-bit, so the file reads
/// well, plus an optional `.cer` attachment.
fn mail(headers: &[(&str, &str)], body: &str, attachment: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in headers {
        // Non-ASCII header text as RFC 2047 encoded words, as mail clients write it.
        let value = match value.split_once(" <") {
            Some((display, addr)) => format!("{} <{addr}", encode_word(display)),
            None => encode_word(value),
        };
        out += &format!("{name}: {value}\r\n");
    }
    out += "MIME-Version: 1.0\r\n";
    let text = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        body.trim().replace('\n', "\r\n")
    );
    match attachment {
        None => out += &text,
        Some((name, der)) => {
            let b = "=_demo_boundary";
            out += &format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n");
            out += &format!("--{b}\r\n{text}--{b}\r\n");
            out += &format!(
                "Content-Type: application/x-x509-ca-cert; name=\"{name}\"\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--{b}--\r\n",
                base64_lines(der)
            );
        }
    }
    out.into_bytes()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("create demo dirs");
    std::fs::write(path, bytes).expect("write demo file");
    println!("wrote {}", path.display());
}

fn main() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    // CAs valid 2021–2041.
    let pki = Pki::named(
        "STISC Demo Root CA",
        "STISC Demo Issuing CA",
        datetime!(2031-01-01 00:00 UTC),
    );
    let spec = |cn: &str, serial: &[u8], from, to| LeafSpec {
        common_name: cn.to_string(),
        serial: serial.to_vec(),
        not_before: from,
        not_after: to,
        rsa_bits: None,
        email: None,
        crl_url: None,
    };
    let ialoveni = pki.leaf(&spec(
        "SI Primaria Ialoveni",
        &[0x5A, 0x17, 0x33, 0x0C, 0x9E, 0x41],
        datetime!(2026-01-15 00:00 UTC),
        datetime!(2036-01-15 00:00 UTC),
    ));
    let asp = pki.leaf(&spec(
        "SI Agentia Servicii Publice",
        &[0x4A, 0x3F, 0x00, 0x12, 0x7B, 0xC9],
        datetime!(2025-06-01 00:00 UTC),
        datetime!(2036-06-01 00:00 UTC),
    ));
    let expired = pki.leaf(&spec(
        "SI IMSP Spitalul Raional Cahul",
        &[0x61, 0x02, 0xAA, 0x54],
        datetime!(2023-03-01 00:00 UTC),
        datetime!(2025-03-01 00:00 UTC),
    ));

    write(&out.join("pki/stisc-root.pem"), pki.root.pem().as_bytes());
    write(
        &out.join("pki/stisc-issuing.pem"),
        pki.issuing.pem().as_bytes(),
    );
    write(&out.join("known/asp-mpass.cer"), &asp);

    let to = "servicii@egov.md";
    write(
        &out.join("mail/01-ialoveni-certificate.eml"),
        &mail(
            &[
                ("From", "Ion Rusu <ion.rusu@ialoveni.md>"),
                ("To", to),
                ("Subject", "Conectare MNotify - certificat de sistem"),
                ("Date", "Mon, 23 Nov 2026 09:12:00 +0200"),
                ("Message-ID", "<demo-01@ialoveni.md>"),
            ],
            "Bună ziua,

Primăria orașului Ialoveni dorește conectarea la MNotify.
Anexăm certificatul de sistem emis de STISC.

Cu stimă,
Ion Rusu
Specialist IT, Primăria Ialoveni",
            Some(("Primaria_Ialoveni_MNotify.cer", &ialoveni)),
        ),
    );
    write(
        &out.join("mail/02-asp-serial.eml"),
        &mail(
            &[
                ("From", "Maria Ceban <maria.ceban@asp.gov.md>"),
                ("To", to),
                ("Subject", "MNotify - certificat existent MPass"),
                ("Date", "Mon, 23 Nov 2026 10:40:00 +0200"),
                ("Message-ID", "<demo-02@asp.gov.md>"),
            ],
            "Bună ziua,

Pentru MNotify dorim să folosim certificatul de sistem deja înregistrat la MPass.
Numărul de serie al certificatului: 4a 3f 00 12 7b c9

Mulțumim,
Maria Ceban
Agenția Servicii Publice",
            None,
        ),
    );
    write(
        &out.join("mail/03-cahul-expired.eml"),
        &mail(
            &[
                ("From", "Елена Морарь <e.morari@spitalcahul.md>"),
                ("To", to),
                ("Subject", "Подключение к MNotify"),
                ("Date", "Mon, 23 Nov 2026 11:05:00 +0200"),
                ("Message-ID", "<demo-03@spitalcahul.md>"),
            ],
            "Добрый день,

Просим подключить нашу больницу к сервису MNotify.
Во вложении сертификат информационной системы.

С уважением,
Елена Морарь
IMSP Spitalul Raional Cahul",
            Some(("certificat_spital.cer", &expired)),
        ),
    );
    write(
        &out.join("mail/04-question-en.eml"),
        &mail(
            &[
                ("From", "Andrei Lungu <andrei.lungu@moldatsa.md>"),
                ("To", to),
                ("Subject", "MNotify onboarding question"),
                ("Date", "Mon, 23 Nov 2026 12:30:00 +0200"),
                ("Message-ID", "<demo-04@moldatsa.md>"),
            ],
            "Hello,

We would like to send notifications to citizens through MNotify.
What do we need to send you to get connected?

Best regards,
Andrei Lungu",
            None,
        ),
    );
    write(
        &out.join("mail/05-out-of-office.eml"),
        &mail(
            &[
                ("From", "Victor Sârbu <victor.sarbu@orhei.md>"),
                ("To", to),
                ("Subject", "Răspuns automat: MNotify"),
                ("Date", "Mon, 23 Nov 2026 13:00:00 +0200"),
                ("Message-ID", "<demo-05@orhei.md>"),
                ("Auto-Submitted", "auto-replied"),
                ("X-Auto-Response-Suppress", "All"),
            ],
            "Sunt în concediu până la 30 noiembrie. Pentru urgențe: 022 000 000.",
            None,
        ),
    );
    write(
        &out.join("mail/06-unrelated.eml"),
        &mail(
            &[
                ("From", "Contabilitate <contabil@furnizor.md>"),
                ("To", to),
                ("Subject", "Factura nr. 1187 din 20.11.2026"),
                ("Date", "Mon, 23 Nov 2026 14:20:00 +0200"),
                ("Message-ID", "<demo-06@furnizor.md>"),
            ],
            "Bună ziua,

Vă transmitem factura pentru serviciile de mentenanță din luna noiembrie.

Contabilitate",
            None,
        ),
    );
}
