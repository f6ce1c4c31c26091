//! What staff read is in the staff language, on the real stack: Romanian when the
//! config says nothing (the default agencies get), Russian when `[agency]
//! staff_language = "ru"`; the same store read both ways, `--json` the same in both.
//! (The other tests read staff text in English: `service::staff_language`.)

use std::time::Duration;

use mnotify_intake::intake;

use crate::mail::{mail, mail_with};
use crate::service::{secure, Setup};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(60);

/// What staff read of the store: the four views and the digest.
struct Read {
    list: String,
    show: String,
    held: String,
    status: String,
    digest: String,
}

fn read(setup: &Setup, token: &str) -> Read {
    Read {
        list: setup.cli(&["cases", "list"]),
        show: setup.cli(&["cases", "show", token]),
        held: setup.cli(&["held", "list"]),
        status: setup.cli(&["status"]),
        digest: setup.cli(&["digest", "--print"]),
    }
}

impl Read {
    fn all(&self) -> String {
        [
            &self.list,
            &self.show,
            &self.held,
            &self.status,
            &self.digest,
        ]
        .map(String::as_str)
        .join("\n")
    }

    /// Each `(text, expected)` is in its text; none of `foreign` is anywhere.
    fn says(&self, expected: &[(&str, &str)], foreign: &[&str]) {
        for (part, said) in expected {
            let text = match *part {
                "list" => &self.list,
                "show" => &self.show,
                "held" => &self.held,
                "status" => &self.status,
                _ => &self.digest,
            };
            assert!(text.contains(said), "{said:?} in `{part}`:\n{text}");
        }
        let all = self.all();
        for word in foreign {
            assert!(!all.contains(word), "{word:?} left in:\n{all}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_the_views_and_the_digest_in_the_staff_language() {
    let stack = Stack::get();
    let mailbox = "svc-staff-lang@egov.test";
    let ion = "ion-staff-lang@inst-a.test";
    let eve = "eve-staff-lang@inst-a.test";
    // An [agency] without staff_language: the default.
    let setup = secure(stack, mailbox, "[agency]\nshort_name = \"AGE\"\n");
    let signed = mail_with(
        &setup.leaf(&[0x7E, 0x1A, 0x02]),
        ion,
        mailbox,
        "<lang-1@inst-a.test>",
    );
    stack.send_from_institution(ion, mailbox, &signed).await;
    // Straight to the MX, not signed: held.
    let forged = mail(
        eve,
        mailbox,
        "Conectare MNotify",
        "<lang-2@inst-a.test>",
        "Bună ziua, dorim conectarea la MNotify.",
    );
    stack.deliver(eve, mailbox, &forged.build()).await;
    stack.wait_for(mailbox, "INBOX", 2, WAIT).await;
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let token = intake::read(&replies[0], &[])
        .case_token
        .expect("case token");
    setup.cli(&[
        "cases",
        "note",
        &token,
        "sunat la primărie",
        "--by",
        "ana.staff",
    ]);
    // A change with the daemon stopped says so in Romanian too.
    let advanced = setup.cli(&["cases", "advance", &token, "contract"]);
    assert!(
        advanced.contains(&format!("cazul #{token} · instituția"))
            && advanced.contains("anunțul pleacă când pornește"),
        "{advanced}"
    );
    let json = setup.cli(&["cases", "list", "--json"]);
    let registry = setup.cli(&["registry", "list"]);
    assert!(
        registry.contains("certificate cunoscute") && !registry.contains("known"),
        "{registry}"
    );

    let ro = read(&setup, &token);
    ro.says(
        &[
            ("list", "ULTIMA DECIZIE"),
            ("list", "certificat nou"),
            ("list", "1. form"),
            ("list", "solicitantul"),
            ("show", &format!("Cazul #{token}")),
            ("show", "pasul următor comunicat: 1. form — "),
            ("show", "pași:"),
            ("show", "serie 7E1A02"),
            ("show", "notă de la ana.staff"),
            ("held", "mesaj(e) reținut(e)"),
            ("held", "lang-2@inst-a.test"),
            ("status", "cazuri: 1 (MNotify 1)"),
            ("status", "răspunsuri: "),
            ("digest", "Cazuri noi (1)"),
            ("digest", "Expeditori neautentificați"),
        ],
        &[
            "LAST DECISION",
            "new certificate",
            "timeline:",
            "note by",
            "messages handled",
            "message(s) held",
            "New cases",
        ],
    );

    let text = std::fs::read_to_string(&setup.config).unwrap();
    let russian = text.replace("[agency]\n", "[agency]\nstaff_language = \"ru\"\n");
    assert_ne!(text, russian, "the config names the staff language");
    std::fs::write(&setup.config, russian).unwrap();
    let ru = read(&setup, &token);
    ru.says(
        &[
            ("list", "ПОСЛЕДНЕЕ РЕШЕНИЕ"),
            ("list", "новый сертификат"),
            ("show", &format!("Дело #{token}")),
            ("show", "история:"),
            ("show", "заметка (ana.staff"),
            ("held", "задержано"),
            ("status", "обработано писем: "),
            ("digest", "Сводка: сервисы платформы"),
            ("digest", "Новые дела (1)"),
        ],
        &[
            "ULTIMA DECIZIE",
            "certificat nou",
            "istoric:",
            "Cazuri noi",
            "LAST DECISION",
        ],
    );
    // What tools read does not change with the language.
    assert_eq!(setup.cli(&["cases", "list", "--json"]), json);
}
