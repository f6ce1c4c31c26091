//! One truth: after a run of mixed mails through the real stack, every case's state is
//! said the same way by the applicant's last reply, `cases show`, the console's case
//! page (in Chromium) and the digest: which steps are done, whose each open step is,
//! the next step told and whether the case waits on the agency.
//!
//! The mails: a new certificate, the same certificate from another institution (a
//! disputed claim), a reuse by serial then a question in its thread, a mail naming
//! two services that asks for one, a mail asking what to send, a private key, and a
//! follow-up that brings nothing new.

use std::collections::BTreeMap;
use std::time::Duration;

use fantoccini::Locator;
use mnotify_intake::testkit::mail::Mail;

use crate::browser::Browser;
use crate::console::{console_url, password};
use crate::mail::{body, mail, token_of};
use crate::service::{case_json, Setup};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(60);

/// Who a step waits on, or that it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Done,
    Applicant,
    Agency,
}

/// One view of a case: each step (by its published number, in order) and the next
/// step told.
#[derive(Debug, PartialEq, Eq)]
struct View {
    steps: Vec<(u32, State)>,
    next: Option<u32>,
}

/// The number at the start of `text` ("3. Certificatul …" → 3).
fn number_at(text: &str) -> Option<u32> {
    let digits: String = text
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A checklist line, "[x] 3. …" or "[ ] 3. …": whether it is ticked, its number and
/// what follows the mark.
fn step_line(line: &str) -> Option<(bool, u32, &str)> {
    let line = line.trim_start();
    let (done, rest) = match line {
        l if l.starts_with("[x] ") => (true, &l[4..]),
        l if l.starts_with("[ ] ") => (false, &l[4..]),
        _ => return None,
    };
    Some((done, number_at(rest)?, rest))
}

/// The checklist and the next step of a Romanian reply.
fn reply_view(reply: &str) -> View {
    let mut steps = Vec::new();
    let mut names: Vec<(u32, String)> = Vec::new();
    for (done, n, rest) in reply.lines().filter_map(step_line) {
        let text = rest.split_once(". ").map_or("", |(_, t)| t);
        names.push((n, text.to_string()));
        // "(așteptăm de la dvs.)", "(de către dvs., după …)" are the applicant's; the
        // agency's say "în lucru", "în verificare" or only "după …".
        let state = match (done, text.contains("dvs.")) {
            (true, _) => State::Done,
            (false, true) => State::Applicant,
            (false, false) => State::Agency,
        };
        steps.push((n, state));
    }
    let next = reply
        .lines()
        .find_map(|l| l.strip_prefix("Pasul următor: "))
        .and_then(|told| {
            names
                .iter()
                .filter(|(_, name)| {
                    let bare = name.split(" (").next().unwrap_or(name);
                    !bare.is_empty() && told.starts_with(bare)
                })
                .max_by_key(|(_, name)| name.len())
                .map(|(n, _)| *n)
        });
    View { steps, next }
}

/// `cases show` (English): its step lines and its "next step told".
fn shown_view(shown: &str) -> View {
    let mut steps = Vec::new();
    for (done, n, rest) in shown.lines().filter_map(step_line) {
        let state = match done {
            true => State::Done,
            false if rest.contains("waiting on the applicant") => State::Applicant,
            false if rest.contains("waiting on the agency") => State::Agency,
            false => panic!("a step line that says no party: {rest}\n{shown}"),
        };
        steps.push((n, state));
    }
    let next_line = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("next step told: "));
    let next = next_line.and_then(number_at);
    // The next step's party, said on its line, is the one its step line says.
    if let (Some(line), Some(n)) = (next_line, next) {
        let said = if line.ends_with("(waiting on the applicant)") {
            State::Applicant
        } else {
            State::Agency
        };
        assert!(
            steps.contains(&(n, said)),
            "the next step's party differs from its step line's: {line}\n{shown}"
        );
    }
    View { steps, next }
}

/// The console's case page (Romanian): `#steps` and `#next-told`.
async fn console_view(browser: &Browser, base: &str, token: &str) -> (View, bool) {
    browser.goto(&format!("{base}/case/{token}")).await;
    browser.find("#steps").await;
    let mut steps = Vec::new();
    for li in browser
        .client
        .find_all(Locator::Css("#steps li"))
        .await
        .expect("the step lines")
    {
        let class = li.attr("class").await.unwrap().unwrap_or_default();
        let text = li.text().await.unwrap();
        let label = text.trim_start_matches(['✓', '○', ' ']);
        let n = number_at(label).unwrap_or_else(|| panic!("a step without number: {text}"));
        let state = match class.as_str() {
            "done" => State::Done,
            _ if text.contains("așteaptă solicitantul") => State::Applicant,
            _ if text.contains("așteaptă agenția") => State::Agency,
            _ => panic!("a step line that says no party: {text}"),
        };
        steps.push((n, state));
    }
    let next = number_at(&browser.text_of("#next-told").await);
    let on_agency = browser
        .find("#waiting")
        .await
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default()
        .contains("agency");
    (View { steps, next }, on_agency)
}

/// The digest's section of cases waiting on the agency.
fn waiting_on_agency(digest: &str) -> String {
    digest
        .split("\n\n")
        .filter(|s| s.trim_start().starts_with("Waiting on AGE"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_of_a_case_says_the_same_state() {
    let stack = Stack::get();
    let mailbox = "svc-truth@egov.test";
    let web = format!(
        "[web]\nlisten = \"127.0.0.1:0\"\nlanguage = \"ro\"\n[web.oidc]\nissuer = \"http://127.0.0.1:{}\"\nclient_id = \"mnx-console\"\nclient_secret = {{ file = \"{}\" }}\n[digest]\nto = [\"staff-truth@egov.test\"]\n",
        stack.oauth_port,
        stack.oauth_dir.join("secret").display()
    );
    let setup = Setup::new(stack, mailbox, &web);
    // A certificate registered for MPass, for the reuse.
    let csv = setup.dir.path().join("registry.csv");
    std::fs::write(
        &csv,
        "service,institution,serial,issuer,sha1,not_after,status,environment,system\n\
         MPass,Primăria Truth,7E01A2B3C4D5,CN=STISC,,31.12.2030,active,production,SI Registrul\n",
    )
    .unwrap();
    setup.cli(&["registry", "import", csv.to_str().unwrap()]);
    let daemon = setup.start();
    let base = console_url(&setup);

    let ana = "ana-truth@primaria-a.test";
    let bob = "bob-truth@primaria-b.test";
    let cora = "cora-truth@primaria-c.test";
    let dan = "dan-truth@primaria-d.test";
    let eva = "eva-truth@primaria-e.test";
    let fil = "fil-truth@primaria-f.test";
    let gia = "gia-truth@primaria-g.test";
    let cert = setup.leaf(&[0x7d, 0x01, 0x5e]);
    let send = |from: &'static str, m: Mail| {
        let mut m = m;
        m.to = mailbox.to_string();
        async move { stack.deliver(from, mailbox, &m.build()).await }
    };
    let with_cert = |from: &str, id: &str, text: &str| {
        mail(from, mailbox, "Conectare MNotify", id, text).attach(
            "sistem.cer",
            "application/pkix-cert",
            &cert,
        )
    };
    // A new certificate; then another institution sends the same one (disputed).
    send(
        ana,
        with_cert(
            ana,
            "<t1@primaria-a.test>",
            "Anexăm certificatul de sistem.",
        ),
    )
    .await;
    let first = stack.wait_for(ana, "INBOX", 1, WAIT).await;
    send(
        bob,
        with_cert(
            bob,
            "<t2@primaria-b.test>",
            "Anexăm certificatul de sistem.",
        ),
    )
    .await;
    // A reuse of the registered certificate, by its serial.
    send(
        cora,
        mail(
            cora,
            mailbox,
            "Conectare MNotify",
            "<t3@primaria-c.test>",
            "Folosim certificatul existent pentru MNotify, seria 7E 01 A2 B3 C4 D5.\nDenumirea sistemului în MPass: SI Registrul\n",
        ),
    )
    .await;
    // Two services named, one asked for; a mail asking what to send; a private key.
    send(
        dan,
        mail(
            dan,
            mailbox,
            "Conectare MPass",
            "<t4@primaria-d.test>",
            "Solicităm conectarea la MPass. Certificatul nostru este deja înregistrat pentru MSign.",
        )
        .attach("sistem.cer", "application/pkix-cert", &setup.leaf(&[0x7d, 0x04])),
    )
    .await;
    send(
        eva,
        mail(
            eva,
            mailbox,
            "Conectare MNotify",
            "<t5@primaria-e.test>",
            "Ce trebuie să trimitem pentru conectarea la MNotify?",
        ),
    )
    .await;
    let key = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
    send(
        fil,
        mail(
            fil,
            mailbox,
            "Conectare MNotify",
            "<t6@primaria-f.test>",
            "Anexăm cheia.",
        )
        .attach("sistem.key", "application/octet-stream", key),
    )
    .await;
    // Two services asked for in one mail: two cases, one reply naming both.
    send(
        gia,
        mail(
            gia,
            mailbox,
            "Conectare",
            "<t9@primaria-g.test>",
            "Solicităm conectarea la MNotify și la MPass. Anexăm certificatul de sistem.",
        )
        .attach(
            "sistem.cer",
            "application/pkix-cert",
            &setup.leaf(&[0x7d, 0x09]),
        ),
    )
    .await;
    for who in [bob, cora, dan, eva, fil, gia] {
        stack.wait_for(who, "INBOX", 1, WAIT).await;
    }
    // A follow-up in ana's thread that brings nothing new.
    let ana_token = token_of(&first[0]);
    let follow = mail(
        ana,
        mailbox,
        &format!("Re: [MNotify #{ana_token}] Conectare MNotify"),
        "<t7@primaria-a.test>",
        "Revin cu detaliile în curând.",
    )
    .header("In-Reply-To", "<t1@primaria-a.test>");
    send(ana, follow).await;
    // A question in cora's thread: her case waits on a person at the agency.
    let cora_token = token_of(&stack.wait_for(cora, "INBOX", 1, WAIT).await[0]);
    let question = mail(
        cora,
        mailbox,
        &format!("Re: [MNotify #{cora_token}] Conectare MNotify"),
        "<t8@primaria-c.test>",
        "Bună ziua. Când putem semna contractul? Mulțumim.",
    )
    .header("In-Reply-To", "<t3@primaria-c.test>");
    send(cora, question).await;
    stack.wait_for(ana, "INBOX", 2, WAIT).await;
    stack.wait_for(cora, "INBOX", 2, WAIT).await;
    stack.wait_until_delivered(WAIT).await;

    let browser = Browser::start().await;
    browser.sign_in(&base, "ana", &password(stack)).await;
    browser.find("#matched").await;
    let digest = setup.cli(&["digest", "--print"]);
    let on_agency_section = waiting_on_agency(&digest);
    let listed: Vec<serde_json::Value> = setup
        .cli(&["cases", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mut compared = BTreeMap::new();
    let mut ana_next = None;
    for who in [ana, bob, cora, dan, eva, fil, gia] {
        let replies: Vec<String> = stack
            .wait_for(who, "INBOX", 1, WAIT)
            .await
            .iter()
            .map(|r| body(r))
            .collect();
        for case in listed.iter().filter(|c| c["applicant"] == who) {
            let token = case["id"].as_str().unwrap().to_string();
            let naming: Vec<&String> = replies
                .iter()
                .filter(|r| r.contains(&format!("#{token}")))
                .collect();
            assert!(
                !naming.is_empty(),
                "no reply names case {token}: {replies:?}"
            );
            // The last reply with this case's own checklist ("… #TOKEN:"); a case
            // opened beside another is named in that one's reply, with its next step.
            let last = replies
                .iter()
                .rfind(|r| r.contains(&format!("#{token}:")))
                .unwrap_or(naming[naming.len() - 1]);
            let shown_text = setup.cli(&["cases", "show", &token]);
            let shown = shown_view(&shown_text);
            let (seen, console_on_agency) = console_view(&browser, &base, &token).await;
            let context = format!(
                "case {token} of {who}\n--- reply\n{last}\n--- cases show\n{shown_text}\n--- digest\n{digest}"
            );
            let told = reply_view(last);
            if last.contains(&format!("#{token}:")) {
                assert!(!told.steps.is_empty(), "{context}");
                assert_eq!(told, shown, "the reply and cases show: {context}");
            } else {
                // Named in another case's reply: its next step there is the one
                // staff see as told.
                let procedure = mnotify_intake::procedure::Catalogue::built_in()
                    .get(case["service"].as_str().unwrap())
                    .expect("a built-in service");
                let next = shown.next.expect("a next step");
                let step = procedure
                    .steps
                    .iter()
                    .find(|s| s.number == next)
                    .expect("the next step in its procedure");
                let said = format!("pasul următor pentru {}: {}", procedure.tag, step.text.ro);
                assert!(last.contains(&said), "{said}: {context}");
                // And the certificate steps this mail did there are said too.
                for n in shown
                    .steps
                    .iter()
                    .filter(|(_, s)| *s == State::Done)
                    .map(|(n, _)| *n)
                {
                    let done = procedure.steps.iter().find(|s| s.number == n).unwrap();
                    let said = format!("„{}”", done.text.ro);
                    assert!(last.contains(&said), "{said}: {context}");
                }
            }
            assert_eq!(shown, seen, "cases show and the console: {context}");
            // What the case waits on: the digest's section, the console and the CLI.
            let on_agency = case_json(&setup, &token)["waiting_on"] == "age";
            assert_eq!(console_on_agency, on_agency, "{context}");
            assert_eq!(
                on_agency_section.contains(&format!("#{token}")),
                on_agency,
                "the digest's waiting-on-the-agency section: {context}"
            );
            // For the closing note: what each side reads.
            println!("{context}");
            if who == bob {
                // The mail that put its certificate under check is said so on the
                // timeline, as its reply and the case's decision say it.
                let mail_line = shown_text
                    .lines()
                    .find(|l| l.contains("mail t2@primaria-b.test"))
                    .unwrap_or_else(|| panic!("{context}"));
                assert!(
                    mail_line.ends_with("certificate under check"),
                    "{mail_line}"
                );
            }
            if who == ana {
                ana_next = told.next;
            }
            compared.insert(token, (who, on_agency));
        }
    }
    // Every mail opened the case it should and no other: one case each, the
    // dispute and cora's question on the agency.
    let by_who = |who: &str| compared.values().filter(|(w, _)| *w == who).count();
    for who in [ana, bob, cora, dan, eva, fil] {
        assert_eq!(by_who(who), 1, "{who}: {compared:?}\n{digest}");
    }
    assert_eq!(by_who(gia), 2, "{compared:?}\n{digest}");
    // No reply promises a letter of its own, and every case a reply names exists.
    for who in [ana, bob, cora, dan, eva, fil, gia] {
        for reply in stack
            .wait_for(who, "INBOX", 1, WAIT)
            .await
            .iter()
            .map(|r| body(r))
        {
            assert!(!reply.contains("separat"), "{reply}");
            for named in reply.split('#').skip(1) {
                let token: String = named.chars().take(6).collect();
                assert!(
                    compared.contains_key(&token),
                    "{who}'s reply names #{token}, no such case: {reply}"
                );
            }
        }
    }
    let agency = |who: &str| compared.values().any(|(w, a)| *w == who && *a);
    assert!(agency(bob) && agency(cora), "{compared:?}");
    assert!(!agency(ana) && !agency(eva) && !agency(dan), "{compared:?}");
    // Ana's follow-up brought nothing new: a brief answer naming what is awaited.
    let ana_replies = stack.wait_for(ana, "INBOX", 2, WAIT).await;
    let brief = body(ana_replies.last().unwrap());
    assert!(!brief.contains("] 1. "), "{brief}");
    let awaited = format!("pasul {}:", ana_next.expect("ana's next step"));
    assert!(brief.contains(&awaited), "{awaited} in {brief}");
    println!("--- ana's brief reply\n{brief}");
    browser.close().await;
    daemon.stop();
}
