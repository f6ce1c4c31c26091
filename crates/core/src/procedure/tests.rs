use crate::case::{strands, strands_message};
use std::collections::BTreeMap;

use super::*;

fn built_in() -> &'static Catalogue {
    Catalogue::built_in()
}

fn services(text: &str) -> Vec<String> {
    built_in().services_in(text)
}

#[test]
fn the_built_in_procedures_are_the_five_published_ones() {
    let codes: Vec<&str> = built_in().iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["mnotify", "mpass", "msign", "mlog", "mdocs"]);
    let steps = |code: &str| built_in().get(code).unwrap().steps.len();
    assert_eq!(steps("mnotify"), 8);
    assert_eq!(steps("msign"), 8);
    assert_eq!(steps("mlog"), 9, "step 3 in two parts");
    assert_eq!(steps("mpass"), 10);
    // MDocs skips the number 4, as published.
    let mdocs = built_in().get("mdocs").unwrap();
    let numbers: Vec<u32> = mdocs.steps.iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1, 2, 3, 3, 5, 6, 7, 8, 9, 10]);
}

#[test]
fn mnotify_keeps_the_step_codes_its_cases_store() {
    let codes: Vec<&str> = built_in()
        .mnotify()
        .steps
        .iter()
        .map(|s| s.code.code())
        .collect();
    let engine: Vec<&str> = crate::case::Step::MNOTIFY
        .iter()
        .map(|s| s.code())
        .collect();
    assert_eq!(codes, engine);
    let parties: Vec<Party> = built_in().mnotify().steps.iter().map(|s| s.party).collect();
    use Party::{Age, Applicant};
    assert_eq!(
        parties,
        [Applicant, Applicant, Applicant, Applicant, Age, Applicant, Age, Age]
    );
}

#[test]
fn mpass_asks_a_certificate_per_environment() {
    let mpass = built_in().get("mpass").unwrap();
    let steps: Vec<(u32, Option<Environment>)> = mpass
        .certificate_steps()
        .map(|s| (s.number, s.environment))
        .collect();
    assert_eq!(
        steps,
        [
            (4, Some(Environment::Test)),
            (8, Some(Environment::Production))
        ]
    );
}

#[test]
fn every_applicant_step_that_needs_a_form_has_its_link() {
    for p in built_in().iter() {
        let form = p
            .step("form")
            .expect("every procedure starts with the form");
        let link = p.link_of(form).expect("the form's link");
        assert!(link.starts_with("https://forms.office.com/"), "{link}");
    }
    let mnotify = built_in().mnotify();
    let data = mnotify.step("integration_data").unwrap();
    // The response page applicants can open, not the form's edit page.
    assert_eq!(
        mnotify.link_of(data),
        Some("https://forms.office.com/e/G8V03HGYje")
    );
}

#[test]
fn agency_placeholder_is_filled() {
    let mnotify = built_in().mnotify();
    let step = mnotify.step("test_access").unwrap();
    assert_eq!(
        mnotify.step_text(step, Language::Ro, "AGE"),
        "Configurarea accesului în mediul de testare (AGE)"
    );
}

fn file_with(edit: impl Fn(&str) -> String) -> String {
    edit(BUILT_IN[1].1)
}

fn error_of(text: &str) -> String {
    parse("test.toml", text).unwrap_err().to_string()
}

#[test]
fn bad_files_are_refused_with_what_to_change() {
    assert!(error_of("code = ").contains("not a procedure file"));
    assert!(error_of(&file_with(
        |t| t.replace("code = \"mpass\"", "code = \"M Pass\"")
    ))
    .contains("code `M Pass`"));
    assert!(error_of(&file_with(|t| t.replacen(
        "party = \"applicant\"",
        "party = \"citizen\"",
        1
    )))
    .contains("party `citizen`"));
    assert!(error_of(&file_with(|t| t.replace(
        "staging = \"https://mpass.staging.egov.md\"",
        "staging = \"http://mpass.staging.egov.md\""
    )))
    .contains("https://"));
    assert!(error_of(&file_with(|t| t.replace(
        "after = [\"compliance_tests\", \"certificate_production\"]",
        "after = [\"nothing\"]"
    )))
    .contains("`after` names `nothing`"));
    assert!(error_of(&file_with(
        |t| t.replace("environment = \"production\"\n", "environment = \"test\"\n")
    ))
    .contains("its own environment"));
    assert!(error_of(&file_with(|t| t.replacen(
        "text.en = \"The MPass contract and/or annex\"",
        "text.en = \"\"",
        1
    )))
    .contains("`en` text is empty"));
    assert!(error_of(&file_with(
        |t| t.replace("code = \"functional_tests\"", "code = \"contract\"")
    ))
    .contains("listed twice"));
    assert!(error_of(&file_with(|t| t.replace(
        "[[steps]]\ncode = \"form\"",
        "[[steps]]\nnumber = 0\ncode = \"form\""
    )))
    .contains("do not go down"));
    assert!(error_of(&file_with(
        |t| t.replace("link = \"staging\"", "link = \"elsewhere\"")
    ))
    .contains("link `elsewhere`"));
    assert!(error_of(&file_with(
        |t| t.replace("unknown", "x") + "\nsurprise = 1\n"
    ))
    .contains("surprise"));
}

#[test]
fn a_sixth_service_is_a_file() {
    let sixth = BUILT_IN[2]
        .1
        .replace("code = \"msign\"", "code = \"mpay\"")
        .replace("tag = \"MSign\"", "tag = \"MPay\"");
    let catalogue = Catalogue::with_operator_files(
        [(
            "/etc/mnotify-intake/procedures/mpay.toml".to_string(),
            sixth,
        )],
        &BTreeMap::new(),
        Unnamed::Ask,
    )
    .unwrap();
    assert_eq!(catalogue.iter().count(), 6);
    assert_eq!(catalogue.by_tag("mpay").unwrap().code, "mpay");
    assert_eq!(
        catalogue.services_in("Solicităm conectarea la MPay"),
        ["mpay"]
    );
}

#[test]
fn an_operator_file_replaces_the_built_in_one_of_its_code() {
    let edited = BUILT_IN[0].1.replace(
        "integration_form = \"https://forms.office.com/e/G8V03HGYje\"",
        "integration_form = \"https://forms.example.md/mnotify\"",
    );
    let catalogue = Catalogue::with_operator_files(
        [("mnotify.toml".to_string(), edited)],
        &BTreeMap::new(),
        Unnamed::Ask,
    )
    .unwrap();
    assert_eq!(catalogue.iter().count(), 5);
    assert_eq!(
        catalogue.mnotify().links["integration_form"],
        "https://forms.example.md/mnotify"
    );
}

#[test]
fn links_are_overridden_by_the_configuration() {
    let links = BTreeMap::from([(
        "mpass".to_string(),
        BTreeMap::from([(
            "connection_form".to_string(),
            "https://forms.example.md/connect".to_string(),
        )]),
    )]);
    let catalogue = Catalogue::with_operator_files([], &links, Unnamed::Ask).unwrap();
    assert_eq!(
        catalogue.get("mpass").unwrap().links["connection_form"],
        "https://forms.example.md/connect"
    );
    let unknown = BTreeMap::from([("mpay".to_string(), BTreeMap::new())]);
    let err = Catalogue::with_operator_files([], &unknown, Unnamed::Ask).unwrap_err();
    assert!(err.to_string().contains("no service `mpay`"), "{err}");
    let err = Catalogue::with_operator_files([], &BTreeMap::new(), Unnamed::Service("mpay".into()))
        .unwrap_err();
    assert!(err.to_string().contains("unnamed"), "{err}");
}

#[test]
fn two_services_may_not_share_a_tag() {
    let twin = BUILT_IN[2]
        .1
        .replace("code = \"msign\"", "code = \"msign2\"");
    let err = Catalogue::with_operator_files(
        [("twin.toml".to_string(), twin)],
        &BTreeMap::new(),
        Unnamed::Ask,
    )
    .unwrap_err();
    assert!(err.to_string().contains("tag `MSign`"), "{err}");
}

#[test]
fn the_reader_finds_services_in_three_languages() {
    assert_eq!(
        services("Conectare MPass – certificat TEST pentru pasul 4"),
        ["mpass"]
    );
    assert_eq!(
        services("Просим подключить нашу систему к MSign"),
        ["msign"]
    );
    assert_eq!(
        services("We would like to connect our system to MLog."),
        ["mlog"]
    );
    assert_eq!(
        services("Conectarea la serviciul guvernamental de notificare electronică"),
        ["mnotify"]
    );
    assert_eq!(services("Подключение к МПасс"), ["mpass"]);
    assert_eq!(services("conectare M-Notify"), ["mnotify"]);
    assert_eq!(
        services("Bună ziua, atașăm certificatul."),
        Vec::<String>::new()
    );
}

#[test]
fn the_reader_keeps_the_order_of_first_mention_and_counts_each_once() {
    assert_eq!(
        services("Solicităm conectarea la MSign și MLog. Pentru MSign atașăm certificatul."),
        ["msign", "mlog"]
    );
}

#[test]
fn a_service_named_only_as_where_a_certificate_is_registered_is_not_asked_for() {
    assert_eq!(
        services("Conectare MNotify: certificatul este deja înregistrat pentru MPass, nr. 1A2B"),
        ["mnotify"]
    );
    assert_eq!(
        services(
            "For MNotify: our certificate is already registered with AGE for MPass and MSign."
        ),
        ["mnotify"]
    );
    assert_eq!(
        services("Подключение к MNotify. Сертификат уже зарегистрирован для MPass."),
        ["mnotify"]
    );
    assert_eq!(
        services("Certificatul folosit și la MDocs îl dorim pentru MNotify"),
        ["mnotify"]
    );
    // Named as a request elsewhere in the same mail, it is asked for.
    assert_eq!(
        services("Solicităm conectarea la MPass. Certificatul e înregistrat pentru MSign."),
        ["mpass"]
    );
}

#[test]
fn names_inside_addresses_are_not_mentions() {
    assert_eq!(
        services("Am testat pe https://mpass.staging.egov.md și scriem la mnotify@example.md"),
        Vec::<String>::new()
    );
}

#[test]
fn a_case_token_names_its_service() {
    assert_eq!(services("Re: [MPass #ABC123] certificat"), ["mpass"]);
}

#[test]
fn an_existing_certificate_of_a_service_is_not_a_request_for_it() {
    assert_eq!(services("MNotify - certificat existent MPass"), ["mnotify"]);
    assert_eq!(
        services("MNotify: we will reuse our existing MSign certificate"),
        ["mnotify"]
    );
    assert_eq!(
        services("Подключение MNotify, действующий сертификат MPass"),
        ["mnotify"]
    );
}

#[test]
fn the_system_s_name_in_mpass_is_mnotify_s_integration_data_not_an_mpass_request() {
    assert_eq!(
        services("Conectare MNotify\nDenumirea sistemului în MPass: SI Registrul Elevilor"),
        ["mnotify"]
    );
    assert_eq!(
        services("MNotify onboarding. System name in MPass: SI Cantine"),
        ["mnotify"]
    );
    assert_eq!(
        services("Подключение к MNotify. Название системы в MPass: СИ Кантины"),
        ["mnotify"]
    );
}

fn edited_mnotify(edit: impl Fn(&str) -> String) -> Catalogue {
    Catalogue::with_operator_files(
        [("mnotify.toml".to_string(), edit(BUILT_IN[0].1))],
        &BTreeMap::new(),
        Unnamed::Ask,
    )
    .unwrap()
}

fn case_with(done: &[Step]) -> crate::case::Case {
    let now = time::macros::datetime!(2026-11-24 12:00 UTC);
    let mut c = crate::case::Case::open("STR001".into(), "a@b.md", Language::Ro, now);
    for step in done {
        c.done.insert(
            *step,
            crate::case::StepDone {
                at: now,
                by: "ana".into(),
                evidence: "x".into(),
            },
        );
    }
    c
}

#[test]
fn an_edit_that_drops_a_step_open_cases_recorded_strands_them() {
    let renamed = |t: &str| {
        t.replace("code = \"contract\"", "code = \"annex\"")
            .replace(
                "after = [\"form\", \"contract\",",
                "after = [\"form\", \"annex\",",
            )
    };
    let catalogue = edited_mnotify(renamed);
    let open = case_with(&[Step::FORM, Step::CONTRACT]);
    let strands = strands(&catalogue, std::slice::from_ref(&open));
    assert_eq!(strands.len(), 1);
    assert_eq!(strands[0].step, Some(Step::CONTRACT));
    let message = strands_message(&strands);
    assert!(
        message.contains("case #STR001") && message.contains("[renamed]"),
        "{message}"
    );
    // A completed case is history: nothing to strand.
    let closed = case_with(&[Step::CONTRACT, Step::COMPLETED]);
    assert!(crate::case::strands(&catalogue, &[closed]).is_empty());
}

#[test]
fn a_renamed_step_is_mapped_and_carried_over() {
    let catalogue = edited_mnotify(|t| {
        t.replace("code = \"contract\"", "code = \"annex\"")
            .replace(
                "after = [\"form\", \"contract\",",
                "after = [\"form\", \"annex\",",
            )
            + "\n[renamed]\ncontract = \"annex\"\n"
    });
    let mut case = case_with(&[Step::FORM, Step::CONTRACT]);
    assert!(strands(&catalogue, std::slice::from_ref(&case)).is_empty());
    assert!(case.carry_renamed_steps(catalogue.mnotify()));
    assert!(case.done.contains_key(&Step::named("annex")));
    assert!(!case.done.contains_key(&Step::CONTRACT));
    assert!(!case.carry_renamed_steps(catalogue.mnotify()), "once");
}

#[test]
fn a_service_whose_file_is_gone_strands_its_cases() {
    let mut case = case_with(&[]);
    case.service = "mpay".into();
    let found = strands(Catalogue::built_in(), &[case]);
    assert_eq!(found[0].step, None);
    assert!(found[0].to_string().contains("no procedure file provides"));
}

#[test]
fn renamed_must_name_a_step_that_exists_and_one_that_does_not() {
    let err = error_of(&file_with(|t| {
        t.to_string() + "\n[renamed]\nform = \"contract\"\n"
    }));
    assert!(err.contains("still a step"), "{err}");
    let err = error_of(&file_with(|t| {
        t.to_string() + "\n[renamed]\nold = \"nowhere\"\n"
    }));
    assert!(err.contains("`nowhere` is not a step"), "{err}");
}

#[test]
fn a_certificate_to_be_used_for_a_service_is_a_request_for_it() {
    assert_eq!(
        services("Certificatul utilizat în prezent pentru MPass va fi folosit și pentru MNotify."),
        ["mnotify"]
    );
    assert_eq!(
        services("We would like to reuse the certificate registered for MPass for MSign."),
        ["msign"]
    );
    assert_eq!(
        services("Сертификат, зарегистрированный для MPass, будет использоваться для MLog."),
        ["mlog"]
    );
}

#[test]
fn requests_phrased_as_institutions_write_them() {
    assert_eq!(
        services("Solicitare conectare la serviciul MPass"),
        ["mpass"]
    );
    assert_eq!(services("Cerere de integrare cu MSign"), ["msign"]);
    assert_eq!(
        services("În continuarea demersului privind conectarea la serviciile MPass și MSign"),
        ["mpass", "msign"]
    );
    assert_eq!(
        services("Referitor la conectarea la platforma MLog (pasul 3)"),
        ["mlog"]
    );
}

#[test]
fn the_registry_s_service_column_is_matched_by_its_spellings() {
    let tag = |text: &str| built_in().service_named(text).map(|p| p.tag.as_str());
    assert_eq!(tag("M-Pass"), Some("MPass"));
    assert_eq!(tag("mpass"), Some("MPass"));
    assert_eq!(tag("MSIGN"), Some("MSign"));
    assert_eq!(tag("m notify"), Some("MNotify"));
    assert_eq!(tag("МПасс"), Some("MPass"));
    assert_eq!(tag("eCabinet"), None);
    assert_eq!(tag(""), None);
}

fn reading(text: &str) -> (Vec<String>, Vec<String>) {
    let r = mention::read(built_in(), text);
    (r.asked, r.mentioned)
}

fn codes(c: &[&str]) -> Vec<String> {
    c.iter().map(|s| s.to_string()).collect()
}

/// Where a certificate is held, used or comes from, said in the ways people write it
/// (the subject on the first line): not a service asked for.
#[test]
fn a_service_a_certificate_comes_from_is_not_asked_for() {
    for text in [
        "MNotify - Primaria Balti\nAvem certificat pentru MDocs, seria 5C0FFEE5.",
        "MNotify - certificat MPass existent\nSeria: 4A3F00127BC9",
        "MNotify\nServiciu | MPass\nNumăr de serie | 4A 3F 00 12 7B C9",
        "MNotify\nServiciu\tMPass\nNumăr de serie\t4A3F00127BC9",
        "Подключение MNotify\nУ нас есть сертификат для MSign, серия 4A3F00127BC9.",
        "MNotify onboarding\nWe have a certificate for MLog, serial 4A3F00127BC9.",
        "MNotify\nOur MPass certificate is already registered, serial 4A3F00127BC9.",
        "Conectare MNotify\nCertificatul emis pentru MSign are seria 4A3F00127BC9.",
    ] {
        assert_eq!(reading(text), (codes(&["mnotify"]), codes(&[])), "{text}");
    }
}

/// Asked for in words, each service of a list: every one asked.
#[test]
fn services_asked_for_in_words_are_each_asked_for() {
    for (text, asked) in [
        (
            "Conectare\nSolicităm conectarea la MPass și la MSign.",
            &["mpass", "msign"][..],
        ),
        (
            "Re: servicii\nПросим подключить систему к MLog и MDocs.",
            &["mlog", "mdocs"],
        ),
        (
            "Onboarding\nWe would like to connect to MNotify and MSign.",
            &["mnotify", "msign"],
        ),
        // The subject names one alone; the body asks for another in words.
        (
            "MNotify - Primaria Balti\nDorim și conectarea la MPass.",
            &["mnotify", "mpass"],
        ),
    ] {
        assert_eq!(reading(text), (codes(asked), codes(&[])), "{text}");
    }
}

/// Named without asking, beside one that is asked for, or several with none clear:
/// the clearest is asked for, the rest only mentioned (no case opened for them).
#[test]
fn services_only_named_are_mentioned() {
    assert_eq!(
        reading("Certificat MNotify\nLucrăm și cu MPass, MSign."),
        (codes(&["mnotify"]), codes(&["mpass", "msign"]))
    );
    assert_eq!(
        reading("Certificat\nMNotify, MPass: atașăm certificatul."),
        (codes(&["mnotify"]), codes(&["mpass"]))
    );
    assert_eq!(
        reading("Сертификат\nMSign и MLog, сертификат во вложении."),
        (codes(&["msign"]), codes(&["mlog"]))
    );
    // A serial beside the only service named: that service is still the one asked.
    assert_eq!(
        reading("Certificat\nPentru MNotify, seria 4A3F00127BC9."),
        (codes(&["mnotify"]), codes(&[]))
    );
}

/// Words of a name or phrase may stand apart by the no-break space documents paste,
/// a line break or a hyphen, not by a letter.
#[test]
fn a_phrase_is_read_across_pasted_spaces_and_breaks() {
    for text in [
        "Solicităm conectarea la serviciul guvernamental\u{a0}de notificare electronică",
        "Solicităm conectarea la serviciul guvernamental de\r\nnotificare electronică",
        "Solicităm conectarea la m\u{202f}notify",
    ] {
        assert_eq!(services(text), ["mnotify"], "{text:?}");
    }
    assert!(services("Solicităm conectarea la mXnotify").is_empty());
}
