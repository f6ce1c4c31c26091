//! Every way a certificate reaches us: DER, PEM, bare base64, PKCS#7, zip, pasted in the
//! body, under odd names and wrong content types. Each must be found and accepted.

use std::io::{Cursor, Write};

use base64::Engine;
use mnotify_intake::analysis::Role;
use mnotify_intake::certificate::Certificate;
use mnotify_intake::decision::Decision;
use mnotify_intake::testkit::mail::{wrapped_base64, Mail, NameEncoding};
use mnotify_intake::testkit::pki::{pem, pkcs7};
use zip::write::SimpleFileOptions;

use crate::util::{codes, World, APPLICANT};

const SERIAL: [u8; 8] = [0x4A, 0x3B, 0x2C, 0x1D, 0x00, 0xFF, 0x10, 0x01];

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, SimpleFileOptions::default())
            .expect("start entry");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// Mails `data` as one attachment and checks that the leaf is found and accepted.
fn accepted(world: &World, mail: Mail) {
    let a = world.analyse(&mail.build());
    assert_eq!(
        a.decision,
        Decision::NewCertificate,
        "problems {:?}, findings {:?}",
        codes(&a),
        a.findings
    );
    let leaf = a
        .certificates
        .iter()
        .find(|c| c.role == Role::EndEntity)
        .expect("a leaf");
    assert_eq!(leaf.certificate.serial, "4A3B2C1D00FF1001");
    assert!(leaf.problems.is_empty());
}

fn base(subject: &str) -> Mail {
    Mail::new(APPLICANT, subject).text("Bună ziua, atașăm certificatul pentru MNotify.")
}

#[test]
fn der_cer_as_octet_stream() {
    let w = World::new();
    accepted(
        &w,
        base("Certificat").attach("sistem.cer", "application/octet-stream", &w.leaf(&SERIAL)),
    );
}

#[test]
fn pem_crt_declared_text_plain() {
    let w = World::new();
    let pem = pem("CERTIFICATE", &w.leaf(&SERIAL));
    accepted(
        &w,
        base("Certificat").attach("sistem.crt", "text/plain", pem.as_bytes()),
    );
}

#[test]
fn bare_base64_without_armour() {
    let w = World::new();
    let b64 = wrapped_base64(&w.leaf(&SERIAL));
    accepted(
        &w,
        base("Certificat").attach("sistem.cer", "application/x-x509-ca-cert", b64.as_bytes()),
    );
}

#[test]
fn der_with_a_wrong_content_type() {
    let w = World::new();
    accepted(
        &w,
        base("Certificat").attach("sistem.der", "image/jpeg", &w.leaf(&SERIAL)),
    );
}

#[test]
fn no_extension_is_sniffed() {
    let w = World::new();
    accepted(
        &w,
        base("Certificat").attach(
            "certificat_sistem",
            "application/octet-stream",
            &w.leaf(&SERIAL),
        ),
    );
}

#[test]
fn pkcs7_chain_with_its_cas() {
    let w = World::new();
    let p7b = pkcs7(&[w.pki.root.der(), w.pki.issuing.der(), w.leaf(&SERIAL)]);
    let mail = base("Certificat").attach("lant.p7b", "application/x-pkcs7-certificates", &p7b);
    let a = w.analyse(&mail.build());
    assert_eq!(a.decision, Decision::NewCertificate, "{:?}", codes(&a));
    let roles: Vec<Role> = a.certificates.iter().map(|c| c.role).collect();
    assert_eq!(roles.iter().filter(|r| **r == Role::Chain).count(), 2);
    assert!(
        a.problems.is_empty(),
        "CAs accompanying a leaf are fine: {:?}",
        codes(&a)
    );
}

#[test]
fn pem_pkcs7() {
    let w = World::new();
    let p7 = pem("PKCS7", &pkcs7(&[w.leaf(&SERIAL)]));
    accepted(
        &w,
        base("Certificat").attach("cert.p7c", "application/pkcs7-mime", p7.as_bytes()),
    );
}

#[test]
fn rfc2231_name_with_diacritics() {
    let w = World::new();
    accepted(
        &w,
        base("Certificat").attach_named(
            "Certificat_Agenția_Servicii_Publice.cer",
            "application/octet-stream",
            &w.leaf(&SERIAL),
            NameEncoding::Rfc2231,
        ),
    );
}

#[test]
fn rfc2047_name_from_outlook() {
    let w = World::new();
    let mail = base("Certificat").attach_named(
        "Сертификат системы.cer",
        "application/pkix-cert",
        &w.leaf(&SERIAL),
        NameEncoding::Rfc2047,
    );
    let a = w.analyse(&mail.build());
    assert_eq!(a.decision, Decision::NewCertificate);
    assert_eq!(a.certificates[0].source, "Сертификат системы.cer");
}

#[test]
fn certificate_inside_zip_and_inside_zip_in_zip() {
    let w = World::new();
    let inner = zip_of(&[
        ("cert/sistem.cer", &w.leaf(&SERIAL)),
        ("readme.txt", b"hello"),
    ]);
    accepted(
        &w,
        base("Arhivă").attach("certificat.zip", "application/zip", &inner),
    );
    let outer = zip_of(&[("inner.zip", &inner)]);
    accepted(
        &w,
        base("Arhivă").attach("pachet.zip", "application/x-zip-compressed", &outer),
    );
}

#[test]
fn zip_bomb_is_a_problem_not_a_crash() {
    let w = World::new();
    let zeros = vec![0u8; 50 * 1024 * 1024];
    let bomb = zip_of(&[("a.cer", &zeros)]);
    assert!(bomb.len() < 200_000);
    let a = w.analyse(
        &base("Arhivă")
            .attach("bomb.zip", "application/zip", &bomb)
            .build(),
    );
    assert_eq!(a.decision, Decision::Rejected);
    assert_eq!(codes(&a), vec!["archive_too_large"]);
}

#[test]
fn pem_pasted_in_a_plain_text_body() {
    let w = World::new();
    let body = format!(
        "Bună ziua,\r\nmai jos certificatul:\r\n\r\n{}\r\nCu stimă",
        pem("CERTIFICATE", &w.leaf(&SERIAL))
    );
    accepted(&w, Mail::new(APPLICANT, "Certificat MNotify").text(&body));
}

#[test]
fn pem_pasted_in_an_html_only_body() {
    let w = World::new();
    let pem = pem("CERTIFICATE", &w.leaf(&SERIAL)).replace("\r\n", "<br>\r\n");
    let html = format!(
        "<html><body><p>Certificatul:</p><p style=\"font-family:Consolas\">{pem}</p></body></html>"
    );
    accepted(&w, Mail::new(APPLICANT, "Certificat MNotify").html(&html));
}

#[test]
fn certificate_in_a_forwarded_message_attachment() {
    let w = World::new();
    let forwarded = Mail::new("STISC <certificate@stisc.gov.md>", "Certificatul emis")
        .text("Certificatul dvs.")
        .attach("sistem.cer", "application/octet-stream", &w.leaf(&SERIAL))
        .build();
    let mail =
        base("Fwd: certificat").attach("Certificatul emis.eml", "message/rfc822", &forwarded);
    accepted(&w, mail);
}

#[test]
fn smime_signature_is_not_the_system_certificate() {
    let w = World::new();
    let p7s = pkcs7(&[w.leaf(&SERIAL)]);
    let mail = Mail::new(APPLICANT, "Conectare MNotify")
        .text("Dorim conectarea la MNotify.")
        .attach("smime.p7s", "application/pkcs7-signature", &p7s);
    let a = w.analyse(&mail.build());
    assert!(a.certificates.is_empty());
    assert_eq!(a.decision, Decision::NeedCertificate);
}

#[test]
fn the_same_certificate_twice_counts_once() {
    let w = World::new();
    let der = w.leaf(&SERIAL);
    let mail = base("Certificat")
        .attach("a.cer", "application/octet-stream", &der)
        .attach("a.pem", "text/plain", pem("CERTIFICATE", &der).as_bytes());
    let a = w.analyse(&mail.build());
    assert_eq!(a.certificates.len(), 1);
}

#[test]
fn certificate_facts_match_what_openssl_style_tools_print() {
    let w = World::new();
    let der = w.leaf(&[0x00, 0xB7, 0xD1, 0x22]);
    let cert = Certificate::from_der(&der).expect("parses");
    assert_eq!(cert.serial, "B7D122");
    use sha1::Digest;
    assert_eq!(cert.sha1, hex::encode_upper(sha1::Sha1::digest(&der)));
    assert!(cert.subject.contains("SI Test al Agenției"));
    assert!(cert.issuer.contains("STISC Issuing CA (test)"));
    let _ = base64::engine::general_purpose::STANDARD.encode(&der);
}

/// Thousands of broken attachments: the reply lists a readable number of problems, and
/// the good certificate after them is still found.
#[test]
fn thousands_of_broken_files_are_capped_and_the_good_one_still_counts() {
    let w = World::new();
    let mut mail = base("Certificate");
    for i in 0..3000 {
        mail = mail.attach(
            &format!("copie{i}.cer"),
            "application/octet-stream",
            b"nu e certificat",
        );
    }
    mail = mail.attach("sistem.cer", "application/octet-stream", &w.leaf(&SERIAL));
    let a = w.analyse(&mail.build());
    assert!(a.findings.len() <= 50, "{} findings kept", a.findings.len());
    assert!(a
        .findings
        .iter()
        .all(|f| f.problem.code() == "not_a_certificate"));
    assert!(
        a.certificates
            .iter()
            .any(|c| c.certificate.serial == "4A3B2C1D00FF1001"),
        "the good certificate is found"
    );
}

/// A message built of a huge number of MIME parts would make the parser hold a record
/// per part (25 MB of empty parts took 480 MB): only its header is read, and it is left
/// for people.
#[test]
fn a_message_of_countless_parts_is_read_by_its_header_only() {
    let mut raw = String::from(
        "From: ion@primaria.md\r\nTo: servicii@egov.md\r\nSubject: Certificat MNotify\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n",
    );
    for _ in 0..60_000 {
        raw.push_str("--x\r\n\r\n\r\n");
    }
    raw.push_str("--x--\r\n");
    let facts = mnotify_intake::intake::read(raw.as_bytes(), &[]);
    assert!(facts.unparseable);
    assert_eq!(facts.from.as_deref(), Some("ion@primaria.md"));
    assert!(
        facts.mentions_mnotify,
        "the subject still says what it is about"
    );

    // The same lines before any blank line (all "header"): nothing read, no loop.
    let headless = "--x\r\n".repeat(60_000);
    let facts = mnotify_intake::intake::read(headless.as_bytes(), &[]);
    assert!(facts.unparseable && facts.from.is_none());

    // A normal message with a few parts is read in full.
    let few = raw.replacen("--x\r\n\r\n\r\n", "", 59_990);
    assert!(!mnotify_intake::intake::read(few.as_bytes(), &[]).unparseable);
}

/// A page of numbers gets a reply about the first twenty; a subject of megabytes is kept
/// to its first thousand characters.
#[test]
fn pages_of_numbers_and_endless_subjects_are_capped() {
    let numbers: Vec<String> = (0..500u64)
        .map(|i| format!("serial {:016X}", 0x1000_0000_0000_0000 + i * 7919))
        .collect();
    let raw = format!(
        "From: ion@primaria.md\r\nSubject: MNotify {}\r\n\r\n{}\r\n",
        "x".repeat(100_000),
        numbers.join("\r\n")
    );
    let facts = mnotify_intake::intake::read(raw.as_bytes(), &[]);
    assert_eq!(facts.quoted.len(), 20);
    assert_eq!(
        facts.quoted[0].digits, "1000000000000000",
        "the first ones are kept"
    );
    assert_eq!(
        facts.subject.as_ref().map(|s| s.chars().count()),
        Some(1000)
    );
    assert!(facts.mentions_mnotify);
}

#[test]
fn inside_outlooks_winmail_dat() {
    let w = World::new();
    let letter = b"{\\rtf1 Scrisoare}".as_slice();
    let leaf = w.leaf(&SERIAL);
    let tnef = mnotify_intake::testkit::mail::winmail_dat(&[
        ("scrisoare.rtf", letter),
        ("Certificat sistem.cer", leaf.as_slice()),
    ]);
    accepted(
        &w,
        base("Certificat").attach("winmail.dat", "application/ms-tnef", &tnef),
    );
    // Under another name, found by its signature.
    accepted(
        &w,
        base("Certificat").attach("ATT00001.dat", "application/octet-stream", &tnef),
    );
}
