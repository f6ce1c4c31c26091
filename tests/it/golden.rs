//! Golden texts of the replies: every language × every reply the bot sends, rendered
//! from the built-in templates with a fixed case and checked against the files in
//! `tests/golden/`. A wording change shows up as a diff to review; after reviewing, run
//! with `UPDATE_GOLDEN=1` to accept it.

use std::path::Path;

use mnotify_intake::case::{apply, Case, Event, Step};
use mnotify_intake::decision::Decision;
use mnotify_intake::intake::Language;
use mnotify_intake::integration::extract;
use mnotify_intake::reply::{
    CertificateView, IntegrationView, NumberView, ReplyContext, Templates,
};
use time::macros::datetime;

#[allow(dead_code)]
fn mn() -> &'static mnotify_intake::procedure::Procedure {
    mnotify_intake::procedure::Catalogue::built_in().mnotify()
}

#[allow(dead_code)]
fn cat() -> &'static mnotify_intake::procedure::Catalogue {
    mnotify_intake::procedure::Catalogue::built_in()
}

fn case() -> Case {
    let now = datetime!(2026-11-24 12:00 UTC);
    let mut c = Case::open("5N0E6F".into(), "ion.rusu@ialoveni.md", Language::Ro, now);
    c = apply(
        mn(),
        &c,
        Event::StepDone {
            step: Step::FORM,
            by: "ana",
            note: None,
        },
        now,
    )
    .0;
    c
}

/// The case once its certificate was accepted.
fn cert_case() -> Case {
    let mut c = case();
    c.record_decision(
        mn(),
        Decision::NewCertificate,
        "<m1@ialoveni.md>",
        "serial 5A17330C9E41",
        c.updated_at,
    );
    c
}

/// The reply to a follow-up carrying integration data `text`, in the case that has
/// its certificate.
fn integration_reply(text: &str) -> ReplyContext {
    let data = extract(text);
    let case = cert_case();
    let c = apply(mn(), &case, Event::Integration(&data), case.updated_at).0;
    let mut ctx = ReplyContext::for_case(Decision::NeedCertificate.into(), &c, cat());
    ctx.integration = Some(IntegrationView::of(&data));
    ctx
}

fn certificate() -> CertificateView {
    CertificateView {
        subject: "C=MD, O=Primăria Ialoveni, CN=SI Primaria Ialoveni".into(),
        serial: "5A17330C9E41".into(),
        sha1: "CDA81AB9A4650513E60431F49A030D2AB5081EE1".into(),
        not_after: "2036-01-15".into(),
        environment: None,
    }
}

fn number(kind: &str) -> NumberView {
    NumberView {
        as_written: "4a 3f 00 12 7b c9".into(),
        value: "4A3F00127BC9".into(),
        kind: kind.into(),
    }
}

/// Each reply the bot can send, with the context it is sent with.
fn replies() -> Vec<(&'static str, ReplyContext)> {
    let mut c = case();
    // The case as it stands after the message: an accepted certificate completes step 3.
    let with = |decision: &str, f: &dyn Fn(&mut ReplyContext)| {
        let mut c = case();
        if let Some(d) = Decision::ALL.iter().find(|d| d.code() == decision) {
            c.record_decision(
                mn(),
                *d,
                "<m1@ialoveni.md>",
                "serial 5A17330C9E41",
                c.updated_at,
            );
        }
        let mut ctx = ReplyContext::for_case(decision.parse().unwrap(), &c, cat());
        f(&mut ctx);
        ctx
    };
    let mut out = vec![
        (
            "new_certificate",
            with(Decision::NewCertificate.code(), &|x| {
                x.certificates = vec![certificate()]
            }),
        ),
        (
            "reuse_confirmed",
            with(Decision::ReuseConfirmed.code(), &|x| {
                x.services = vec!["MPass".into(), "MSign".into()];
                x.numbers = vec![number("serial")];
            }),
        ),
        (
            "rejected_expired",
            with(Decision::Rejected.code(), &|x| {
                x.problems = vec!["expired".into()];
                x.certificates = vec![certificate()];
            }),
        ),
        (
            "rejected_private_key",
            with(Decision::Rejected.code(), &|x| {
                x.problems = vec!["private_key_sent".into()]
            }),
        ),
        (
            "serial_not_found",
            with(Decision::SerialNotFound.code(), &|x| {
                x.numbers = vec![number("serial")]
            }),
        ),
        (
            "ambiguous",
            with(Decision::Ambiguous.code(), &|x| {
                x.numbers = vec![number("serial")]
            }),
        ),
        (
            "need_certificate",
            with(Decision::NeedCertificate.code(), &|_| {}),
        ),
        ("acknowledged", {
            let c = cert_case();
            ReplyContext::for_case(Decision::NeedCertificate.into(), &c, cat())
        }),
        (
            "integration_complete",
            integration_reply(
                "Denumirea sistemului în MPass: SIA Registrul Cadastral\n\
                 IP testare: 176.123.4.10\nIP producție: 176.123.4.11, 2a02:2f0c:8000::15\n\
                 Canale de notificare: e-mail, SMS",
            ),
        ),
        (
            "integration_same_certificate",
            integration_reply(
                "Certificatul pentru testare: seria 4A3F00127BC9\n\
                 Certificatul pentru producție: seria 4A3F00127BC9",
            ),
        ),
        (
            "integration_to_correct",
            integration_reply("IP testare: 176.123.4.10\nIP producție: 176.123.4.10"),
        ),
        ("oversized", with("oversized", &|x| x.limit_mb = 25)),
    ];
    c = apply(
        mn(),
        &c,
        Event::StepDone {
            step: Step::CONTRACT,
            by: "ana",
            note: None,
        },
        datetime!(2026-11-25 9:00 UTC),
    )
    .0;
    let (done, actions) = apply(
        mn(),
        &c,
        Event::StepDone {
            step: Step::PRODUCTION,
            by: "ana",
            note: None,
        },
        datetime!(2026-11-26 9:00 UTC),
    );
    let step_done = ReplyContext::for_staff_action(
        mnotify_intake::case::Action::TellStepDone(Step::CONTRACT),
        &c,
        cat(),
    );
    out.push(("step_done", step_done));
    out.push((
        "completed",
        ReplyContext::for_staff_action(actions[0], &done, cat()),
    ));
    // Every other service: the answer to its certificate, in a case of its own, and
    // the neutral "which service?" answer; two certificates for MPass's environments.
    for service in ["mpass", "msign", "mlog", "mdocs"] {
        let procedure = cat().get(service).unwrap();
        let mut c = Case::open(
            "7K2M9Q".into(),
            "ion.rusu@ialoveni.md",
            Language::Ro,
            datetime!(2026-11-24 12:00 UTC),
        );
        c.service = service.into();
        c.record_decision(
            procedure,
            Decision::NewCertificate,
            "<m1@ialoveni.md>",
            "serial 5A17330C9E41",
            c.updated_at,
        );
        let mut ctx = ReplyContext::for_case(Decision::NewCertificate.into(), &c, cat());
        ctx.certificates = vec![certificate()];
        out.push((
            Box::leak(format!("{service}_new_certificate").into_boxed_str()),
            ctx,
        ));
    }
    let mut both = ReplyContext::for_case(
        Decision::NewCertificate.into(),
        &{
            let mut c = Case::open(
                "7K2M9Q".into(),
                "ion.rusu@ialoveni.md",
                Language::Ro,
                datetime!(2026-11-24 12:00 UTC),
            );
            c.service = "mpass".into();
            c
        },
        cat(),
    );
    both.certificates = vec![
        CertificateView {
            environment: Some("test"),
            ..certificate()
        },
        CertificateView {
            serial: "5A17330C9E42".into(),
            environment: Some("production"),
            ..certificate()
        },
    ];
    out.push(("mpass_two_certificates", both));
    out.push((
        "which_service",
        ReplyContext::without_case(
            mnotify_intake::reply::ReplyKind::WhichService,
            cat().mnotify(),
            cat(),
        ),
    ));
    out.push((
        "reminder",
        ReplyContext::for_staff_action(mnotify_intake::case::Action::TellReminder, &c, cat()),
    ));
    out
}

#[test]
fn replies_match_the_golden_texts() {
    let templates = Templates::embedded();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut differ = Vec::new();
    for lang in [Language::Ro, Language::Ru, Language::En] {
        for (name, ctx) in replies() {
            let text = templates.render(lang, &ctx).expect("renders");
            let path = dir.join(lang.code()).join(format!("{name}.txt"));
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display())
            });
            if expected != text {
                differ.push(format!(
                    "{}:\n--- expected\n{expected}\n--- got\n{text}",
                    path.display()
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "replies changed (review, then UPDATE_GOLDEN=1):\n{}",
        differ.join("\n\n")
    );
}

#[test]
fn every_golden_file_is_still_produced() {
    // A reply removed from the list must not leave a stale golden text behind.
    let names: Vec<String> = replies().iter().map(|(n, _)| format!("{n}.txt")).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for lang in ["ro", "ru", "en"] {
        for entry in std::fs::read_dir(dir.join(lang)).expect("golden dir") {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(names.contains(&name), "stale golden file {lang}/{name}");
        }
    }
}
