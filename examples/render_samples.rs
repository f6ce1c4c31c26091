//! Writes one staff digest and one applicant reply as HTML files, for looking at them
//! in a browser (`scripts/screenshot` renders them with headless Chromium):
//!
//!     cargo run --example render_samples -- OUT_DIR

use std::path::PathBuf;

use mnotify_intake::case::{apply, Case, Event, Step};
use mnotify_intake::decision::Decision;
use mnotify_intake::digest::{self, DigestSettings};
use mnotify_intake::intake::Language;
use mnotify_intake::record::{AcceptedCertificate, SeenRecord};
use mnotify_intake::registry::{KnownCertificate, Registry, Status};
use mnotify_intake::reply::{text_to_html, CertificateView, ReplyContext, Templates};
use time::macros::datetime;
use time::Duration;

#[allow(dead_code)]
fn mn() -> &'static mnotify_intake::procedure::Procedure {
    mnotify_intake::procedure::Catalogue::built_in().mnotify()
}

#[allow(dead_code)]
fn cat() -> &'static mnotify_intake::procedure::Catalogue {
    mnotify_intake::procedure::Catalogue::built_in()
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/samples".into()),
    );
    std::fs::create_dir_all(&out).expect("create the output directory");
    let now = datetime!(2026-11-25 06:30 UTC);

    // The reply to a certificate accepted, in Romanian.
    let mut case = Case::open("5N0E6F".into(), "ion.rusu@ialoveni.md", Language::Ro, now);
    case.record_decision(
        mn(),
        Decision::NewCertificate,
        "<demo-01@ialoveni.md>",
        "serial 5A17330C9E41",
        now,
    );
    let mut ctx = ReplyContext::for_case(
        mnotify_intake::decision::Decision::NewCertificate.into(),
        &case,
        cat(),
    );
    ctx.certificates = vec![CertificateView {
        subject: "C=MD, O=Serviciul Tehnologia Informației și Securitate Cibernetică, CN=SI Primaria Ialoveni".into(),
        serial: "5A17330C9E41".into(),
        sha1: "CDA81AB9A4650513E60431F49A030D2AB5081EE1".into(),
        not_after: "2036-01-15".into(),
        environment: None,
    }];
    let text = Templates::embedded()
        .render(Language::Ro, &ctx)
        .expect("template renders");
    let templates = Templates::embedded();
    let ours = templates.own_links(cat());
    std::fs::write(out.join("reply.html"), text_to_html(&text, &ours)).expect("write reply.html");

    // A digest with something in every section.
    let record =
        |outcome: &str, hours: i64, from: &str, subject: &str, case: Option<&str>| SeenRecord {
            identity: format!("{from}/{hours}"),
            uid_validity: 1,
            uid: 1,
            outcome: outcome.parse().expect("an outcome code"),
            case: case.map(str::to_string),
            destination: Some(
                if outcome == "not_applicable" {
                    "Needs-Human"
                } else {
                    "Processed"
                }
                .into(),
            ),
            reply: None,
            note: None,
            at: now - Duration::hours(hours),
            from: Some(from.into()),
            subject: Some(subject.into()),
            problems: Vec::new(),
            accepted: Vec::new(),
            sender: None,
            held: false,
            flagged: false,
            warnings: Vec::new(),
            remarks: Vec::new(),
            warned: Vec::new(),
            digest: None,
        };
    let mut accepted = record(
        "new_certificate",
        20,
        "ion.rusu@ialoveni.md",
        "Conectare MNotify",
        Some("5N0E6F"),
    );
    accepted.accepted = vec![AcceptedCertificate {
        serial: "5A17330C9E41".into(),
        sha1: Some("CDA81AB9A4650513E60431F49A030D2AB5081EE1".into()),
        sha256: None,
        subject: Some("CN=SI Primaria Ialoveni".into()),
        issuer: "CN=STISC Issuing CA".into(),
        not_after: Some(datetime!(2036-01-15 0:00 UTC)),
        services: Vec::new(),
        institution: None,
        der: None,
        environment: None,
    }];
    let mut reused = record(
        "reuse_confirmed",
        18,
        "maria.ceban@asp.gov.md",
        "MNotify - certificat existent",
        Some("232EWZ"),
    );
    reused.accepted = vec![AcceptedCertificate {
        serial: "4A3F00127BC9".into(),
        sha1: Some("9F1C0A77E0B4D2C38A6B5E1F0D9C2B7A4E3D1C0B".into()),
        sha256: None,
        subject: Some("CN=SI Agentia Servicii Publice".into()),
        issuer: "CN=STISC Issuing CA".into(),
        not_after: Some(datetime!(2036-06-01 0:00 UTC)),
        services: vec!["MPass".into(), "MSign".into()],
        institution: Some("Agenția Servicii Publice".into()),
        der: None,
        environment: None,
    }];
    let mut rejected = record(
        "rejected",
        15,
        "e.morari@spitalcahul.md",
        "Подключение к MNotify",
        Some("XXMRJ0"),
    );
    rejected.problems = vec![mnotify_intake::problem::Problem::Expired];
    let unrelated = record(
        "not_applicable",
        10,
        "contabil@furnizor.md",
        "Factura nr. 1187 din 20.11.2026",
        None,
    );
    let new_case = Case::open(
        "5N0E6F".into(),
        "ion.rusu@ialoveni.md",
        Language::Ro,
        now - Duration::hours(20),
    );
    let mut at_age = Case::open(
        "Q7M2KD".into(),
        "it@cnas.gov.md",
        Language::Ro,
        now - Duration::days(30),
    );
    for step in [
        Step::FORM,
        Step::CONTRACT,
        Step::CERTIFICATE,
        Step::INTEGRATION_DATA,
    ] {
        at_age = apply(
            mn(),
            &at_age,
            Event::StepDone {
                step,
                by: "ana",
                note: None,
            },
            now - Duration::days(3),
        )
        .0;
    }
    let stalled = Case::open(
        "H4T9PB".into(),
        "secretariat@primaria-orhei.md",
        Language::Ro,
        now - Duration::days(12),
    );
    let registry = Registry::from_entries([KnownCertificate {
        serial: "3F0011AA".into(),
        issuer: "CN=STISC Issuing CA".into(),
        sha1: None,
        sha256: None,
        subject: Some("CN=SI Registrul Bunurilor Imobile".into()),
        not_after: Some(now + Duration::days(41)),
        status: Status::Active,
        services: ["MPass".to_string()].into_iter().collect(),
        institution: Some("Agenția Servicii Publice".into()),
        environment: None,
        system: None,
        domain: None,
    }]);
    let d = digest::build(
        &[accepted, reused, rejected, unrelated],
        &[new_case, at_age, stalled],
        &registry,
        now - Duration::days(1),
        now,
        DigestSettings {
            stalled_days: 7,
            expiring_days: 60,
            needs_human_folder: Some("Needs-Human".into()),
            agency: "AGE".into(),
            language: mnotify_intake::intake::Language::Ro,
            response: Default::default(),
            procedures: cat().clone(),
            service: None,
        },
    );
    std::fs::write(out.join("digest.html"), digest::render_html(&d)).expect("write digest.html");
    std::fs::write(out.join("digest.txt"), digest::render_text(&d)).expect("write digest.txt");
    println!("{}", out.display());
}
