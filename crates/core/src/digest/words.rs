//! The digest's own words (headings, columns, counts) in the staff language: one
//! [`Words`] per language, side by side, so a heading changed in one is seen to need
//! changing in the others. What a heading names (the agency, a folder, a number of
//! days) is a `{placeholder}` filled in by [`super::sections`].

use crate::language::Language;

/// Every word the digest writes itself. Decisions, problems and outcomes say
/// themselves (`words(language)`), and so do the procedures' step names.
pub(super) struct Words {
    /// The title, `{service}` the service's tag or [`Words::all_services`].
    pub digest: &'static str,
    /// What a digest of the whole mailbox covers.
    pub all_services: &'static str,
    pub since: &'static str,
    pub footer: &'static str,
    pub unknown_sender: &'static str,
    pub completed: &'static str,
    pub owed_answer: &'static str,
    pub owed_check: &'static str,
    pub already_for: &'static str,
    pub env_test: &'static str,
    pub env_production: &'static str,
    pub env_unsaid: &'static str,
    pub serial: &'static str,
    pub overdue_by: &'static str,
    pub left: &'static str,
    pub used: &'static str,
    pub junk_left: &'static str,
    pub secret_renew: &'static str,
    pub certificate_renew: &'static str,
    pub credential_expired: &'static str,
    // Headings.
    pub new_cases: &'static str,
    pub accepted: &'static str,
    pub reused: &'static str,
    pub rejected: &'static str,
    pub questions: &'static str,
    pub late: &'static str,
    pub waiting_on: &'static str,
    pub stalled: &'static str,
    pub expiring: &'static str,
    pub unhandled_in: &'static str,
    pub unhandled_inbox: &'static str,
    pub checks: &'static str,
    pub unverified: &'static str,
    pub failed_replies: &'static str,
    pub junk: &'static str,
    pub credential: &'static str,
    // Columns.
    pub certificate_columns: [&'static str; 5],
    pub case_columns: [&'static str; 5],
    pub new_case_columns: [&'static str; 4],
    pub rejected_columns: [&'static str; 3],
    pub question_columns: [&'static str; 4],
    pub late_columns: [&'static str; 5],
    pub expiring_columns: [&'static str; 5],
    pub sender_columns: [&'static str; 3],
    pub check_columns: [&'static str; 3],
    pub failed_columns: [&'static str; 3],
    pub junk_columns: [&'static str; 2],
    pub credential_columns: [&'static str; 2],
    // The subject line and the HTML part's summary.
    pub count_new: &'static str,
    pub count_accepted: &'static str,
    pub count_reused: &'static str,
    pub count_waiting: &'static str,
    pub count_overdue: &'static str,
}

const RO: Words = Words {
    digest: "Rezumat: {service}",
    all_services: "serviciile platformei",
    since: "de la",
    footer: "Generat automat de mnotify-intake. `mnotify-intake cases list` arată toate cazurile.",
    unknown_sender: "(necunoscut)",
    completed: "finalizat",
    owed_answer: "răspuns la întrebare",
    owed_check: "verificarea certificatului",
    already_for: "deja pentru",
    env_test: "pentru mediul de testare",
    env_production: "pentru mediul de producție",
    env_unsaid: "mediul nespecificat",
    serial: "serie",
    overdue_by: "DEPĂȘIT cu",
    left: "rămân",
    used: "folosite",
    junk_left: "lăsate acolo: expeditorul nu a fost autentificat (mutați în Inbox un mesaj care trebuie tratat)",
    secret_renew: "faceți un secret nou în înregistrarea aplicației (Entra), puneți-l unde îl citește [oauth2] client_secret și actualizați client_secret_expires",
    certificate_renew: "încărcați un certificat nou în înregistrarea aplicației (Entra) și actualizați [oauth2] client_certificate și client_key",
    credential_expired: "EXPIRAT: poșta nu mai este citită",
    new_cases: "Cazuri noi",
    accepted: "Certificate acceptate (fișierele .cer sunt atașate)",
    reused: "Reutilizări confirmate",
    rejected: "Respinse sau neclare (solicitantul a fost informat)",
    questions: "Întrebări ale solicitanților (răspundeți-le, apoi `cases answered`)",
    late: "Termenul de {days} promis: depășit sau aproape",
    waiting_on: "Așteaptă {agency}",
    stalled: "Blocate la solicitant de cel puțin {days}",
    expiring: "Certificate care expiră în {days}",
    unhandled_in: "Mesaje lăsate pentru colegi (dosarul {folder})",
    unhandled_inbox: "Mesaje lăsate pentru colegi (rămase în Inbox)",
    checks: "Certificate de verificat: nu se potrivesc cu instituția care le-a trimis",
    unverified: "Expeditori neautentificați și rapoarte ignorate (nimic schimbat fără verificare)",
    failed_replies: "Răspunsuri care nu au putut fi trimise (scrieți-le solicitanților)",
    junk: "Dosarul de mesaje nedorite (Junk)",
    credential: "Accesul aplicației la cutia poștală",
    certificate_columns: ["Caz", "Solicitant", "Certificat", "Serie / SHA-1", "Valabil până la"],
    case_columns: ["Caz", "Solicitant", "Ultima decizie", "Așteaptă", "De"],
    new_case_columns: ["Caz", "Solicitant", "Ultima decizie", "Următorul pas"],
    rejected_columns: ["Caz", "Solicitant", "Decizie și motiv"],
    question_columns: ["Caz", "Solicitant", "Întrebarea", "De"],
    late_columns: ["Caz", "Solicitant", "Așteaptă", "Zile lucrătoare", "Termen"],
    expiring_columns: ["Instituție", "Certificat", "Serie", "Servicii", "Expiră la"],
    sender_columns: ["De la", "Subiect", "De ce"],
    check_columns: ["Caz", "De la", "De verificat"],
    failed_columns: ["Caz", "Către", "Eroare"],
    junk_columns: ["Mesaje", "Ce s-a făcut"],
    credential_columns: ["Expiră", "Ce trebuie făcut"],
    count_new: "cazuri noi",
    count_accepted: "certificate acceptate",
    count_reused: "reutilizări",
    count_waiting: "așteaptă {agency}",
    count_overdue: "termen depășit",
};

const EN: Words = Words {
    digest: "{service} digest",
    all_services: "Platform services",
    since: "since",
    footer: "Written by mnotify-intake. `mnotify-intake cases list` shows every case.",
    unknown_sender: "(unknown)",
    completed: "completed",
    owed_answer: "an answer to a question",
    owed_check: "a certificate check",
    already_for: "already for",
    env_test: "for the test environment",
    env_production: "for the production environment",
    env_unsaid: "environment not said",
    serial: "serial",
    overdue_by: "OVERDUE by",
    left: "left",
    used: "used",
    junk_left: "left there: the sender was not authenticated (move a mail that needs handling to the Inbox)",
    secret_renew: "make a new secret in the app registration (Entra), put it where [oauth2] client_secret reads it and update client_secret_expires",
    certificate_renew: "upload a new certificate to the app registration (Entra) and update [oauth2] client_certificate and client_key",
    credential_expired: "EXPIRED: mail is no longer read",
    new_cases: "New cases",
    accepted: "Certificates accepted (the .cer files are attached)",
    reused: "Reuse confirmed",
    rejected: "Rejected or unclear (the applicant was told)",
    questions: "Applicants' questions (answer them, then `cases answered`)",
    late: "The promised {days}: overdue or close",
    waiting_on: "Waiting on {agency}",
    stalled: "Stuck with the applicant for at least {days}",
    expiring: "Certificates expiring within {days}",
    unhandled_in: "Mail left for colleagues (folder {folder})",
    unhandled_inbox: "Mail left for colleagues (left in the Inbox)",
    checks: "Certificates to check: they do not fit the institution that sent them",
    unverified: "Senders not authenticated and reports ignored (nothing changed without a check)",
    failed_replies: "Replies that could not be sent (write to these applicants)",
    junk: "The junk mail folder (Junk)",
    credential: "The application's access to the mailbox",
    certificate_columns: ["Case", "Applicant", "Certificate", "Serial / SHA-1", "Valid until"],
    case_columns: ["Case", "Applicant", "Last decision", "Waiting for", "Idle for"],
    new_case_columns: ["Case", "Applicant", "Last decision", "Next step"],
    rejected_columns: ["Case", "Applicant", "Decision and reason"],
    question_columns: ["Case", "Applicant", "Question", "Open for"],
    late_columns: ["Case", "Applicant", "Waiting for", "Working days", "Due"],
    expiring_columns: ["Institution", "Certificate", "Serial", "Services", "Expires"],
    sender_columns: ["From", "Subject", "Why"],
    check_columns: ["Case", "From", "To check"],
    failed_columns: ["Case", "To", "Error"],
    junk_columns: ["Mails", "What was done"],
    credential_columns: ["Expires", "What to do"],
    count_new: "new cases",
    count_accepted: "certificates accepted",
    count_reused: "reuses",
    count_waiting: "waiting on {agency}",
    count_overdue: "overdue",
};

const RU: Words = Words {
    digest: "Сводка: {service}",
    all_services: "сервисы платформы",
    since: "с",
    footer: "Создано mnotify-intake. `mnotify-intake cases list` показывает все дела.",
    unknown_sender: "(неизвестно)",
    completed: "завершено",
    owed_answer: "ответ на вопрос",
    owed_check: "проверка сертификата",
    already_for: "уже для",
    env_test: "для тестовой среды",
    env_production: "для производственной среды",
    env_unsaid: "среда не указана",
    serial: "серийный номер",
    overdue_by: "ПРОСРОЧЕНО на",
    left: "осталось",
    used: "использовано",
    junk_left: "оставлены там: отправитель не прошёл проверку подлинности (перенесите во входящие письмо, которое нужно обработать)",
    secret_renew: "создайте новый секрет в регистрации приложения (Entra), положите его туда, откуда его читает [oauth2] client_secret, и обновите client_secret_expires",
    certificate_renew: "загрузите новый сертификат в регистрацию приложения (Entra) и обновите [oauth2] client_certificate и client_key",
    credential_expired: "ИСТЁК: почта больше не читается",
    new_cases: "Новые дела",
    accepted: "Принятые сертификаты (файлы .cer приложены)",
    reused: "Подтверждённые повторные использования",
    rejected: "Отклонённые или неясные (заявителю сообщено)",
    questions: "Вопросы заявителей (ответьте на них, затем `cases answered`)",
    late: "Обещанный срок в {days}: просрочен или близок",
    waiting_on: "Ожидают {agency}",
    stalled: "Стоят у заявителя не менее {days}",
    expiring: "Сертификаты, истекающие в течение {days}",
    unhandled_in: "Письма, оставленные коллегам (папка {folder})",
    unhandled_inbox: "Письма, оставленные коллегам (остались во входящих)",
    checks: "Сертификаты для проверки: не соответствуют учреждению-отправителю",
    unverified: "Отправители без проверки подлинности и пропущенные отчёты (ничего не изменено без проверки)",
    failed_replies: "Ответы, которые не удалось отправить (напишите этим заявителям)",
    junk: "Папка нежелательной почты (Junk)",
    credential: "Доступ приложения к почтовому ящику",
    certificate_columns: ["Дело", "Заявитель", "Сертификат", "Серийный номер / SHA-1", "Действителен до"],
    case_columns: ["Дело", "Заявитель", "Последнее решение", "Ожидает", "Без движения"],
    new_case_columns: ["Дело", "Заявитель", "Последнее решение", "Следующий шаг"],
    rejected_columns: ["Дело", "Заявитель", "Решение и причина"],
    question_columns: ["Дело", "Заявитель", "Вопрос", "Открыт"],
    late_columns: ["Дело", "Заявитель", "Ожидает", "Рабочие дни", "Срок"],
    expiring_columns: ["Учреждение", "Сертификат", "Серийный номер", "Сервисы", "Истекает"],
    sender_columns: ["От", "Тема", "Почему"],
    check_columns: ["Дело", "От", "Проверить"],
    failed_columns: ["Дело", "Кому", "Ошибка"],
    junk_columns: ["Писем", "Что сделано"],
    credential_columns: ["Истекает", "Что сделать"],
    count_new: "новых дел",
    count_accepted: "принятых сертификатов",
    count_reused: "повторных использований",
    count_waiting: "ожидают {agency}",
    count_overdue: "просрочено",
};

/// The digest's words in `language`.
pub(super) fn words(language: Language) -> &'static Words {
    match language {
        Language::Ro => &RO,
        Language::En => &EN,
        Language::Ru => &RU,
    }
}

/// Which Russian form a count takes: 1 (21, 31 …), 2–4 (22–24 …) or the rest.
fn russian_form(n: i64) -> usize {
    let (last, last_two) = (n.rem_euclid(10), n.rem_euclid(100));
    if last == 1 && last_two != 11 {
        0
    } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
        1
    } else {
        2
    }
}

/// A number of days: "7 zile", "60 de zile" (Romanian puts "de" after numbers whose
/// last two digits are 20 or more, or 00), "7 days", "7 дней".
pub(super) fn days(n: i64, language: Language) -> String {
    match language {
        Language::Ro => {
            let last_two = n.rem_euclid(100);
            if n == 1 {
                "1 zi".into()
            } else if last_two >= 20 || (n != 0 && last_two == 0) {
                format!("{n} de zile")
            } else {
                format!("{n} zile")
            }
        }
        Language::En if n == 1 => "1 day".into(),
        Language::En => format!("{n} days"),
        Language::Ru => format!("{n} {}", ["день", "дня", "дней"][russian_form(n)]),
    }
}

/// A number of working days: "7 zile lucrătoare", "7 working days", "7 рабочих дней".
pub(super) fn working_days(n: i64, language: Language) -> String {
    match language {
        Language::Ro if n == 1 => "1 zi lucrătoare".into(),
        Language::Ro => format!("{} lucrătoare", days(n, language)),
        Language::En if n == 1 => "1 working day".into(),
        Language::En => format!("{n} working days"),
        Language::Ru => {
            let words = ["рабочий день", "рабочих дня", "рабочих дней"];
            format!("{n} {}", words[russian_form(n)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Language; 3] = [Language::Ro, Language::En, Language::Ru];

    /// Every text of a language, in field order.
    fn texts(w: &Words) -> Vec<&'static str> {
        let mut out = vec![
            w.digest,
            w.all_services,
            w.since,
            w.footer,
            w.unknown_sender,
            w.completed,
            w.owed_answer,
            w.owed_check,
            w.already_for,
            w.env_test,
            w.env_production,
            w.env_unsaid,
            w.serial,
            w.overdue_by,
            w.left,
            w.used,
            w.junk_left,
            w.secret_renew,
            w.certificate_renew,
            w.credential_expired,
            w.new_cases,
            w.accepted,
            w.reused,
            w.rejected,
            w.questions,
            w.late,
            w.waiting_on,
            w.stalled,
            w.expiring,
            w.unhandled_in,
            w.unhandled_inbox,
            w.checks,
            w.unverified,
            w.failed_replies,
            w.junk,
            w.credential,
            w.count_new,
            w.count_accepted,
            w.count_reused,
            w.count_waiting,
            w.count_overdue,
        ];
        for columns in [
            &w.certificate_columns[..],
            &w.case_columns,
            &w.new_case_columns,
            &w.rejected_columns,
            &w.question_columns,
            &w.late_columns,
            &w.expiring_columns,
            &w.sender_columns,
            &w.check_columns,
            &w.failed_columns,
            &w.junk_columns,
            &w.credential_columns,
        ] {
            out.extend_from_slice(columns);
        }
        out
    }

    fn placeholders(s: &str) -> Vec<&str> {
        [
            "{days}",
            "{agency}",
            "{folder}",
            "`cases answered`",
            "`mnotify-intake cases list`",
        ]
        .into_iter()
        .filter(|p| s.contains(p))
        .collect()
    }

    #[test]
    fn every_word_is_said_in_each_language_with_the_same_placeholders() {
        let ro = texts(words(Language::Ro));
        for language in [Language::En, Language::Ru] {
            let other = texts(words(language));
            assert_eq!(other.len(), ro.len());
            for (r, o) in ro.iter().zip(&other) {
                assert!(!o.is_empty(), "{language:?}: empty beside {r:?}");
                assert_eq!(
                    placeholders(r),
                    placeholders(o),
                    "{language:?}: {o:?} beside {r:?}"
                );
            }
            // Headings and most words differ from Romanian; "Junk" and dashes may not.
            let same = ro.iter().zip(&other).filter(|(r, o)| r == o).count();
            assert!(same <= 1, "{language:?}: {same} texts left in Romanian");
        }
    }

    #[test]
    fn day_counts_agree_with_their_number() {
        let said = |n| ALL.map(|l| days(n, l));
        assert_eq!(said(1), ["1 zi", "1 day", "1 день"]);
        assert_eq!(said(3), ["3 zile", "3 days", "3 дня"]);
        assert_eq!(said(11), ["11 zile", "11 days", "11 дней"]);
        assert_eq!(said(21), ["21 de zile", "21 days", "21 день"]);
        assert_eq!(said(60), ["60 de zile", "60 days", "60 дней"]);
        assert_eq!(said(112), ["112 zile", "112 days", "112 дней"]);
        assert_eq!(said(100), ["100 de zile", "100 days", "100 дней"]);
        assert_eq!(said(101), ["101 zile", "101 days", "101 день"]);
        let working = |n| ALL.map(|l| working_days(n, l));
        assert_eq!(
            working(1),
            ["1 zi lucrătoare", "1 working day", "1 рабочий день"]
        );
        assert_eq!(
            working(7),
            ["7 zile lucrătoare", "7 working days", "7 рабочих дней"]
        );
        assert_eq!(
            working(22),
            ["22 de zile lucrătoare", "22 working days", "22 рабочих дня"]
        );
    }
}
