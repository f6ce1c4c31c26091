//! One test per decision and per problem code, on e-mails built like real ones.

use mnotify_intake::certificate::Certificate;
use mnotify_intake::decision::Decision;
use mnotify_intake::intake::Language;
use mnotify_intake::registry::{KnownCertificate, Status};
use mnotify_intake::serials::NumberKind;
use mnotify_intake::testkit::mail::Mail;
use mnotify_intake::testkit::pki::{self, pem, LeafSpec, Pki};
use time::Duration;

use crate::util::{codes, World, APPLICANT, NOW};

const SERIAL: [u8; 10] = [0x3A, 0x00, 0x00, 0x00, 0x12, 0xAB, 0xCD, 0xEF, 0x99, 0x01];

fn with_cert(der: &[u8]) -> Vec<u8> {
    Mail::new(APPLICANT, "Certificat de sistem")
        .text("Bună ziua, vă transmitem certificatul.")
        .attach("sistem.cer", "application/octet-stream", der)
        .build()
}

fn asking(text: &str) -> Vec<u8> {
    Mail::new(APPLICANT, "Conectare la MNotify")
        .text(text)
        .build()
}

#[test]
fn expired_and_not_yet_valid() {
    let w = World::new();
    let mut spec = LeafSpec::valid_at(NOW, "Vechi", &SERIAL);
    spec.not_before = NOW - Duration::days(800);
    spec.not_after = NOW - Duration::days(30);
    let a = w.analyse(&with_cert(&w.pki.leaf(&spec)));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["expired"])
    );

    spec.not_before = NOW + Duration::days(3);
    spec.not_after = NOW + Duration::days(700);
    let a = w.analyse(&with_cert(&w.pki.leaf(&spec)));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["not_yet_valid"])
    );
}

#[test]
fn untrusted_issuer_and_self_signed() {
    let w = World::new();
    let other = Pki::named("Other Root", "Other Issuing", NOW);
    let a = w.analyse(&with_cert(
        &other.leaf(&LeafSpec::valid_at(NOW, "X", &SERIAL)),
    ));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["untrusted_issuer"])
    );
    let a = w.analyse(&with_cert(&pki::self_signed(&LeafSpec::valid_at(
        NOW, "X", &SERIAL,
    ))));
    assert_eq!(codes(&a), vec!["untrusted_issuer"]);
}

#[test]
fn forged_issuer_is_a_bad_signature() {
    let w = World::new();
    // Same names as the real STISC CAs, different keys.
    let rogue = Pki::new(NOW);
    let a = w.analyse(&with_cert(
        &rogue.leaf(&LeafSpec::valid_at(NOW, "X", &SERIAL)),
    ));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["bad_signature"])
    );
}

#[test]
fn weak_rsa_is_rejected_and_rsa_2048_accepted() {
    let w = World::new();
    let mut spec = LeafSpec::valid_at(NOW, "RSA", &SERIAL);
    spec.rsa_bits = Some(1024);
    let a = w.analyse(&with_cert(&w.pki.leaf(&spec)));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["weak_key"])
    );
    spec.rsa_bits = Some(2048);
    let a = w.analyse(&with_cert(&w.pki.leaf(&spec)));
    assert_eq!(a.decision, Decision::NewCertificate, "{:?}", codes(&a));
    assert_eq!(
        (
            a.certificates[0].certificate.key.algorithm,
            a.certificates[0].certificate.key.bits
        ),
        ("RSA", 2048)
    );
}

#[test]
fn a_ca_certificate_alone_is_rejected() {
    let w = World::new();
    let a = w.analyse(&with_cert(&pki::lone_ca(NOW)));
    assert_eq!(a.decision, Decision::Rejected);
    assert!(codes(&a).contains(&"ca_certificate"));
    let a = w.analyse(&with_cert(&w.pki.issuing.der()));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["ca_certificate"])
    );
}

#[test]
fn pfx_and_pasted_private_key_are_private_key_sent() {
    let w = World::new();
    let mail = Mail::new(APPLICANT, "Certificat")
        .text("Atașat")
        .attach(
            "sistem.pfx",
            "application/x-pkcs12",
            b"\x30\x82\x01\x00not really",
        )
        .build();
    let a = w.analyse(&mail);
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["private_key_sent"])
    );
    assert!(a.private_key_detected());

    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
    let body = format!(
        "Certificatul și cheia:\n{}\n{key}",
        pem("CERTIFICATE", &w.leaf(&SERIAL))
    );
    let a = w.analyse(&Mail::new(APPLICANT, "MNotify").text(&body).build());
    assert_eq!(
        a.decision,
        Decision::Rejected,
        "a valid certificate with its key is compromised"
    );
    assert!(a.private_key_detected());
}

#[test]
fn csr_and_garbage() {
    let w = World::new();
    use mnotify_intake::testkit::rcgen;
    let key = rcgen::KeyPair::generate().expect("key");
    let csr = rcgen::CertificateParams::new(vec!["si.gov.md".to_string()])
        .expect("params")
        .serialize_request(&key)
        .expect("csr");
    let mail = Mail::new(APPLICANT, "Cerere")
        .text("CSR")
        .attach("sistem.csr", "application/pkcs10", csr.der())
        .build();
    assert_eq!(codes(&w.analyse(&mail)), vec!["csr_not_certificate"]);
    // The same CSR misnamed .cer is still recognised as a CSR.
    let mail = Mail::new(APPLICANT, "Cerere")
        .text("CSR")
        .attach("sistem.cer", "application/octet-stream", csr.der())
        .build();
    assert_eq!(codes(&w.analyse(&mail)), vec!["csr_not_certificate"]);
    let a = w.analyse(&with_cert(b"this is not a certificate at all"));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["not_a_certificate"])
    );
}

#[test]
fn a_known_certificate_attached_is_reuse_and_revoked_is_rejected() {
    let mut w = World::new();
    let der = w.leaf(&SERIAL);
    w.know(&der, "MPass", Status::Active);
    let a = w.analyse(&with_cert(&der));
    assert_eq!(a.decision, Decision::ReuseConfirmed);
    assert!(a.certificates[0]
        .known
        .as_ref()
        .is_some_and(|k| k.services.contains("MPass")));

    let mut w2 = World::new();
    let der = w2.leaf(&SERIAL);
    w2.know(&der, "MSign", Status::Revoked);
    let a = w2.analyse(&with_cert(&der));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["revoked"])
    );
}

#[test]
fn quoted_serial_with_windows_marks_confirms_reuse() {
    let mut w = World::new();
    let der = w.leaf(&SERIAL);
    w.know(&der, "MPass", Status::Active);
    let a = w.analyse(&asking(
        "Bună ziua,\nNumărul de serie: \u{200e}3a 00 00 00 12 ab cd ef 99 01\u{200f}\nMulțumim",
    ));
    assert_eq!(a.decision, Decision::ReuseConfirmed);
    assert_eq!(a.numbers[0].kind, NumberKind::Serial);
    assert_eq!(a.numbers[0].value, "3A00000012ABCDEF9901");
    assert_eq!(
        a.numbers[0].number.as_written,
        "3a 00 00 00 12 ab cd ef 99 01"
    );
}

#[test]
fn quoted_thumbprint_and_twenty_octet_serial() {
    let mut w = World::new();
    let der = w.leaf(&SERIAL);
    w.know(&der, "MDocs", Status::Active);
    let sha1 = w.registry.entries()[0].sha1.clone().expect("sha1 known");
    let a = w.analyse(&asking(&format!("Thumbprint: {}", sha1.to_lowercase())));
    assert_eq!(a.decision, Decision::ReuseConfirmed);
    assert_eq!(a.numbers[0].kind, NumberKind::Sha1);

    // AGE's own PKI issues 20-octet serials: 40 digits, like a thumbprint.
    let long = [0x5Fu8; 20];
    let der = w.leaf(&long);
    w.know(&der, "MPass", Status::Active);
    let a = w.analyse(&asking(&format!(
        "Seria certificatului {}",
        "5F".repeat(20)
    )));
    assert_eq!(a.decision, Decision::ReuseConfirmed);
    assert_eq!(a.numbers[0].kind, NumberKind::Serial);
}

#[test]
fn serial_known_at_two_issuers_is_ambiguous() {
    let mut w = World::new();
    w.know_serial("0A1B2C3D4E5F", "CN=STISC CA, O=STISC, C=MD", "MPass");
    w.know_serial("0A1B2C3D4E5F", "CN=Other CA, C=MD", "MSign");
    let a = w.analyse(&asking("Serial number: 0a1b2c3d4e5f"));
    assert_eq!(a.decision, Decision::Ambiguous);
    assert_eq!(a.numbers[0].matches.len(), 2);
}

#[test]
fn unknown_serial_is_not_found() {
    let w = World::new();
    let a = w.analyse(&asking(
        "Серийный номер сертификата: 7f 00 11 22 33 44 55 66",
    ));
    assert_eq!(a.decision, Decision::SerialNotFound);
    assert_eq!(a.facts.language, Language::Ru);
}

#[test]
fn quoted_serial_of_a_revoked_or_expired_known_certificate_is_rejected() {
    let mut w = World::new();
    let der = w.leaf(&SERIAL);
    w.know(&der, "MPass", Status::Revoked);
    let a = w.analyse(&asking("Seria: 3A00000012ABCDEF9901"));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["revoked"])
    );

    let mut w = World::new();
    let mut spec = LeafSpec::valid_at(NOW, "Vechi", &SERIAL);
    spec.not_after = NOW - Duration::days(1);
    w.know(&w.pki.leaf(&spec), "MPass", Status::Active);
    let a = w.analyse(&asking("Seria: 3A00000012ABCDEF9901"));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["expired"])
    );
}

#[test]
fn a_suspended_certificate_is_refused_until_the_suspension_is_lifted() {
    let mut w = World::new();
    let der = w.leaf(&SERIAL);
    w.know(&der, "MPass", Status::Suspended);
    for mail in [with_cert(&der), asking("Seria: 3A00000012ABCDEF9901")] {
        let a = w.analyse(&mail);
        assert_eq!(
            (a.decision, codes(&a)),
            (Decision::Rejected, vec!["suspended"])
        );
    }
    // The registry's newer statement lifts it: the same mails confirm reuse.
    w.know(&der, "MPass", Status::Active);
    for mail in [with_cert(&der), asking("Seria: 3A00000012ABCDEF9901")] {
        assert_eq!(w.analyse(&mail).decision, Decision::ReuseConfirmed);
    }
}

#[test]
fn a_crl_of_the_issuer_rejects_revoked_and_held_and_unknown_is_not_good() {
    use mnotify_intake::revocation::{Crl, Revocation, Revocations};
    let mut w = World::new();
    let revoked = w.leaf(&[0x5E, 0x01, 0xA1, 0xB2, 0xC3, 0xD4]);
    let held = w.leaf(&[0x5E, 0x02, 0xA1, 0xB2, 0xC3, 0xD4]);
    let good = w.leaf(&[0x5E, 0x03, 0xA1, 0xB2, 0xC3, 0xD4]);
    let crl = w.pki.crl(
        &[
            (&[0x5E, 0x01, 0xA1, 0xB2, 0xC3, 0xD4], false),
            (&[0x5E, 0x02, 0xA1, 0xB2, 0xC3, 0xD4], true),
        ],
        NOW - Duration::days(1),
        NOW + Duration::days(6),
    );
    w.revocations = Revocations::checking();
    // Nothing read yet: a good certificate is still new, but not called good.
    let a = w.analyse(&with_cert(&good));
    assert_eq!(a.decision, Decision::NewCertificate);
    assert!(matches!(
        a.certificates[0].revocation,
        Some(Revocation::Unknown { .. })
    ));
    w.revocations
        .insert(Crl::read(&crl, "stisc.crl", &w.anchors).expect("our CA's CRL"));
    let a = w.analyse(&with_cert(&revoked));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["revoked"])
    );
    let a = w.analyse(&with_cert(&held));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["suspended"])
    );
    let a = w.analyse(&with_cert(&good));
    assert_eq!(a.decision, Decision::NewCertificate);
    assert!(matches!(
        a.certificates[0].revocation,
        Some(Revocation::Good { .. })
    ));
    // A number quoted from the registry, which still says active: the CA's list wins.
    w.know(&revoked, "MPass", Status::Active);
    w.know(&held, "MSign", Status::Active);
    let a = w.analyse(&asking("Seria certificatului: 5E 01 A1 B2 C3 D4"));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["revoked"])
    );
    let a = w.analyse(&asking("Seria certificatului: 5E 02 A1 B2 C3 D4"));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["suspended"])
    );
}

#[test]
fn a_registered_certificate_counts_only_for_its_system_and_environment() {
    use mnotify_intake::integration::Environment;
    let mut w = World::new();
    let der = w.leaf(&SERIAL);
    let cert = Certificate::from_der(&der).unwrap();
    let mut known = KnownCertificate::from_certificate(&cert, "MPass", Some("Agenția Test"));
    known.system = Some("SI Registrul Elevilor".into());
    known.environment = Some(Environment::Production);
    w.registry.merge(known);
    let quoting = |system: &str| {
        asking(&format!(
            "Seria: 3A00000012ABCDEF9901\nDenumirea sistemului în MPass: {system}"
        ))
    };
    let a = w.analyse(&quoting("SI Cantine"));
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["registered_for_other_system"])
    );
    let a = w.analyse(&quoting("si registrul  elevilor"));
    assert_eq!(a.decision, Decision::ReuseConfirmed);
    // Attached under a test name: registered for production, so not for test.
    let named_test = Mail::new(APPLICANT, "MNotify")
        .text("Certificatul pentru MNotify.")
        .attach("SI_test.cer", "application/pkix-cert", &der)
        .build();
    let a = w.analyse(&named_test);
    assert_eq!(
        (a.decision, codes(&a)),
        (Decision::Rejected, vec!["registered_for_other_environment"])
    );
    // The mail says nothing of system or environment: reuse stands.
    assert_eq!(
        w.analyse(&with_cert(&der)).decision,
        Decision::ReuseConfirmed
    );
}

#[test]
fn numbers_in_quoted_replies_are_not_the_senders() {
    let mut w = World::new();
    let der = w.leaf(&SERIAL);
    w.know(&der, "MPass", Status::Active);
    let text = "Am înțeles, revenim.\n\nÎn lun., 23 nov. 2026, 10:00 AGE <servicii@egov.md> a scris:\n> Seria: 3A00000012ABCDEF9901\n";
    let a = w.analyse(
        &Mail::new(APPLICANT, "Re: [MNotify #K7Q2M9] Certificat")
            .text(text)
            .build(),
    );
    assert!(a.numbers.is_empty());
    assert_eq!(a.decision, Decision::NeedCertificate);
    assert_eq!(a.facts.case_token.as_deref(), Some("K7Q2M9"));

    let html = "<div>Trimitem seria mai jos</div><div>Seria: 11 22 33 44 55 66 77 88</div>\
                <blockquote type=\"cite\">Seria: 3A00000012ABCDEF9901</blockquote>";
    let a = w.analyse(&Mail::new(APPLICANT, "Re: MNotify").html(html).build());
    assert_eq!(a.numbers.len(), 1);
    assert_eq!(a.numbers[0].value, "1122334455667788");
}

#[test]
fn serial_of_the_attached_certificate_refers_to_it() {
    let w = World::new();
    let mail = Mail::new(APPLICANT, "Certificat MNotify")
        .text("Seria certificatului atașat: 3A:00:00:00:12:AB:CD:EF:99:01")
        .attach("sistem.cer", "application/octet-stream", &w.leaf(&SERIAL))
        .build();
    let a = w.analyse(&mail);
    assert_eq!(a.decision, Decision::NewCertificate);
    assert!(a.numbers[0].refers_to_attached);
}

#[test]
fn about_mnotify_with_nothing_and_not_about_mnotify() {
    let w = World::new();
    let a = w.analyse(&asking(
        "Dorim să ne conectăm la MNotify. Ce trebuie să facem?",
    ));
    assert_eq!(a.decision, Decision::NeedCertificate);
    let a = w.analyse(
        &Mail::new(APPLICANT, "Factura nr. 2231")
            .text("Vă transmitem factura pentru luna octombrie, cod 0a1b2c3d4e5f6a7b.")
            .build(),
    );
    assert_eq!(a.decision, Decision::NotApplicable);
}

#[test]
fn auto_replies_and_our_own_mail_are_ignored_even_with_a_certificate() {
    let w = World::new();
    let der = w.leaf(&SERIAL);
    let auto = Mail::new(APPLICANT, "Automatic reply: Certificat")
        .header("Auto-Submitted", "auto-replied")
        .text("Sunt în concediu.")
        .attach("sistem.cer", "application/octet-stream", &der)
        .build();
    assert_eq!(w.analyse(&auto).decision, Decision::IgnoredAutomatic);
    let own = Mail::new(
        "AGE <servicii@egov.md>",
        "[MNotify #ABC123] Certificat primit",
    )
    .text("Seria: 11 22 33 44 55 66")
    .build();
    assert_eq!(w.analyse(&own).decision, Decision::IgnoredAutomatic);
    let exchange_oof = Mail::new(APPLICANT, "Răspuns automat: MNotify")
        .header("X-Auto-Response-Suppress", "All")
        .text("Lipsesc")
        .build();
    assert_eq!(
        w.analyse(&exchange_oof).decision,
        Decision::IgnoredAutomatic
    );
}

#[test]
fn legacy_charsets_are_decoded() {
    let mut w = World::new();
    w.know_serial("1F2E3D4C5B6A7980", "", "MPass");
    let cases: [(&str, &'static encoding_rs::Encoding, &str, Language); 5] = [
        (
            "windows-1251",
            encoding_rs::WINDOWS_1251,
            "Добрый день. Серийный номер: 1f 2e 3d 4c 5b 6a 79 80. Просим подключить к MNotify.",
            Language::Ru,
        ),
        (
            "koi8-r",
            encoding_rs::KOI8_R,
            "Добрый день. Серийный номер: 1f 2e 3d 4c 5b 6a 79 80. Просим подключить к MNotify.",
            Language::Ru,
        ),
        (
            "windows-1250",
            encoding_rs::WINDOWS_1250,
            "Bună ziua. Numărul de serie: 1f 2e 3d 4c 5b 6a 79 80. Solicităm conectarea.",
            Language::Ro,
        ),
        (
            "iso-8859-2",
            encoding_rs::ISO_8859_2,
            "Bună ziua. Numărul de serie: 1f 2e 3d 4c 5b 6a 79 80. Solicităm conectarea.",
            Language::Ro,
        ),
        (
            "iso-8859-16",
            encoding_rs::ISO_8859_16,
            "Bună ziua. Numărul de serie: 1f 2e 3d 4c 5b 6a 79 80. Solicităm conectarea în țară.",
            Language::Ro,
        ),
    ];
    for (charset, encoding, text, language) in cases {
        let (bytes, _, lossy) = encoding.encode(text);
        assert!(!lossy, "{charset} cannot carry the text");
        let raw = Mail::new(APPLICANT, "MNotify")
            .text_in(bytes.into_owned(), charset)
            .build();
        let a = w.analyse(&raw);
        assert_eq!(a.decision, Decision::ReuseConfirmed, "{charset}");
        assert_eq!(a.facts.language, language, "{charset}");
    }
}

#[test]
fn english_mail_is_answered_in_english() {
    let w = World::new();
    let a = w.analyse(&asking(
        "Hello, we would like to connect our system to MNotify. What do you need from us?",
    ));
    assert_eq!(a.facts.language, Language::En);
}
