//! The console's words in the staff language (Romanian by default, English and
//! Russian), one table: a key and its three texts. Templates read them as `t.<key>`.

use std::collections::BTreeMap;

use mnotify_core::words::{Table, Word};

use crate::intake::Language;

/// `(key, ro, en, ru)`.
const WORDS: &[Word] = &[
    ("console", "Consola AGE", "AGE console", "Консоль AGE"),
    ("skip", "Salt la conținut", "Skip to content", "К содержанию"),
    ("queue", "Coada", "Queue", "Очередь"),
    ("held", "Mesaje reținute", "Held mail", "Задержанные письма"),
    ("registry", "Registrul certificatelor", "Certificate registry", "Реестр сертификатов"),
    ("daemon", "Starea serviciului", "Service health", "Состояние службы"),
    ("logout", "Ieșire", "Sign out", "Выйти"),
    ("login", "Autentificare", "Sign in", "Вход"),
    ("login_with", "Intrați cu contul agenției", "Sign in with the agency account", "Войти с учётной записью агентства"),
    ("viewer", "vizualizare", "viewer", "просмотр"),
    ("staff", "personal", "staff", "сотрудник"),
    ("service", "Serviciul", "Service", "Сервис"),
    ("step", "Pasul", "Step", "Шаг"),
    ("institution", "Instituția", "Institution", "Учреждение"),
    ("search", "Căutare", "Search", "Поиск"),
    ("search_hint", "adresă, domeniu, număr de serie, amprentă sau #caz", "address, domain, serial, thumbprint or #case", "адрес, домен, серийный номер, отпечаток или #дело"),
    ("all", "toate", "all", "все"),
    ("filter", "Filtrează", "Filter", "Фильтр"),
    ("case", "Caz", "Case", "Дело"),
    ("applicant", "Solicitant", "Applicant", "Заявитель"),
    ("waiting", "Așteaptă", "Waiting for", "Ожидает"),
    ("last_decision", "Ultima decizie", "Last decision", "Последнее решение"),
    ("next_told", "Pasul următor comunicat", "Next step told", "Сообщённый следующий шаг"),
    ("clock", "Termen", "Response clock", "Срок"),
    ("updated", "Ultima schimbare", "Last change", "Последнее изменение"),
    ("completed", "finalizat", "completed", "завершено"),
    ("none", "—", "—", "—"),
    ("page", "Pagina", "Page", "Страница"),
    ("of", "din", "of", "из"),
    ("previous", "Înapoi", "Previous", "Назад"),
    ("next", "Înainte", "Next", "Вперёд"),
    ("matched", "cazuri găsite", "cases found", "найдено дел"),
    ("on_agency", "așteaptă agenția", "wait on the agency", "ждут агентство"),
    ("no_cases", "Niciun caz nu corespunde.", "No case matches.", "Нет подходящих дел."),
    ("held_waiting", "mesaje reținute așteaptă o decizie", "held mails wait for a decision", "задержанных писем ждут решения"),
    ("failed_replies", "răspunsuri care nu au plecat", "replies that failed", "ответов не отправлено"),
    ("days_left", "zile lucrătoare rămase", "working days left", "рабочих дней осталось"),
    ("overdue_by", "depășit cu", "overdue by", "просрочено на"),
    ("working_days", "zile lucrătoare", "working days", "рабочих дней"),
    ("steps", "Pașii", "Steps", "Шаги"),
    ("done_by", "făcut de", "done by", "выполнил"),
    ("evidence", "dovada", "evidence", "основание"),
    ("waiting_on_party", "așteaptă", "waits on", "ожидает"),
    ("party_age", "agenția", "the agency", "агентство"),
    ("party_applicant", "solicitantul", "the applicant", "заявителя"),
    ("certificates", "Certificate", "Certificates", "Сертификаты"),
    ("serial", "Număr de serie", "Serial", "Серийный номер"),
    ("thumbprint", "Amprenta SHA-1", "SHA-1 thumbprint", "Отпечаток SHA-1"),
    ("environment", "Mediul", "Environment", "Среда"),
    ("not_said", "nespecificat de solicitant", "not said by the applicant", "не указано заявителем"),
    ("subject", "Subiectul", "Subject", "Субъект"),
    ("valid_until", "Valabil până la", "Valid until", "Действителен до"),
    ("registry_match", "În registru", "In the registry", "В реестре"),
    ("download", "Descarcă .cer", "Download .cer", "Скачать .cer"),
    ("timeline", "Istoric", "Timeline", "История"),
    ("actions", "Acțiuni", "Actions", "Действия"),
    ("viewer_note", "Rolul dvs. permite doar vizualizarea.", "Your role may only read.", "Ваша роль позволяет только просмотр."),
    ("advance", "Marchează pasul ca făcut", "Mark a step done", "Отметить шаг выполненным"),
    ("preview", "Previzualizează notificarea", "Preview the notice", "Предпросмотр уведомления"),
    ("confirm", "Confirmă și trimite", "Confirm and send", "Подтвердить и отправить"),
    ("note", "Notă", "Note", "Заметка"),
    ("add_note", "Adaugă nota", "Add the note", "Добавить заметку"),
    ("force", "Deși pașii anteriori nu sunt făcuți (nota spune de ce)", "Although earlier steps are not done (the note says why)", "Хотя предыдущие шаги не выполнены (заметка объясняет почему)"),
    ("answered", "Întrebarea a primit răspuns", "The question was answered", "На вопрос ответили"),
    ("question", "Întrebare deschisă", "Open question", "Открытый вопрос"),
    ("certificate_check", "Verificare de certificat", "Certificate check", "Проверка сертификата"),
    ("allow", "Adaugă membru al instituției", "Add a member of the institution", "Добавить участника учреждения"),
    ("member", "Adresă sau domeniu", "Address or domain", "Адрес или домен"),
    ("reopen", "Redeschide un pas", "Reopen a step", "Переоткрыть шаг"),
    ("merge", "Unește cazul de la", "Merge the case from", "Объединить дело из"),
    ("split", "Separă un caz nou", "Split off a new case", "Выделить новое дело"),
    ("system", "Sistemul informațional", "Information system", "Информационная система"),
    ("do", "Execută", "Do it", "Выполнить"),
    ("notice_to", "Notificarea către", "The notice to", "Уведомление для"),
    ("no_notice", "Solicitantul nu primește nicio notificare.", "The applicant gets no notice.", "Заявитель не получит уведомления."),
    ("would_record", "Se va înregistra", "Would record", "Будет записано"),
    ("refused", "Refuzat", "Refused", "Отказано"),
    ("done", "Făcut", "Done", "Выполнено"),
    ("back", "Înapoi la caz", "Back to the case", "Назад к делу"),
    ("held_none", "Niciun mesaj reținut acum.", "No mail is held now.", "Сейчас нет задержанных писем."),
    ("held_why", "De ce a fost reținut", "Why it was held", "Почему задержано"),
    ("from", "De la", "From", "От"),
    ("to", "Către", "To", "Кому"),
    ("date", "Data", "Date", "Дата"),
    ("mail_subject", "Subiect", "Subject", "Тема"),
    ("text_part", "Textul mesajului", "The mail's text", "Текст письма"),
    ("no_text", "(mesajul nu are parte text)", "(the mail has no text part)", "(в письме нет текстовой части)"),
    ("not_kept", "Conținutul nu a fost păstrat (plafonul de mesaje reținute).", "Its bytes were not kept (the held-mail ceiling).", "Содержимое не сохранено (предел задержанных писем)."),
    ("attachments", "Atașamente", "Attachments", "Вложения"),
    ("headers", "Antete", "Headers", "Заголовки"),
    ("accept", "Acceptă ca mesaj al instituției", "Accept as the institution's own", "Принять как письмо учреждения"),
    ("dismiss", "Respinge (rămâne în Needs-Human)", "Dismiss (stays in Needs-Human)", "Отклонить (остаётся в Needs-Human)"),
    ("viewed_by", "Vizualizat de", "Viewed by", "Просмотрено"),
    ("registry_search", "Caută în registru", "Search the registry", "Поиск в реестре"),
    ("issuer", "Emitentul", "Issuer", "Издатель"),
    ("services", "Servicii", "Services", "Сервисы"),
    ("status", "Statut", "Status", "Статус"),
    ("import", "Importă un CSV", "Import a CSV", "Импорт CSV"),
    ("import_preview", "Previzualizează importul", "Preview the import", "Предпросмотр импорта"),
    ("import_confirm", "Importă", "Import", "Импортировать"),
    ("import_file", "sau un fișier CSV", "or a CSV file", "или CSV-файл"),
    ("import_not_utf8", "Fișierul nu este text UTF-8: salvați CSV-ul ca UTF-8 și încercați din nou.", "The file is not UTF-8 text: save the CSV as UTF-8 and try again.", "Файл не является текстом UTF-8: сохраните CSV в UTF-8 и повторите."),
    ("added", "adăugate", "added", "добавлено"),
    ("changed", "modificate", "updated", "изменено"),
    ("unchanged", "neschimbate", "unchanged", "без изменений"),
    ("known", "certificate cunoscute", "known certificates", "известных сертификатов"),
    ("healthy", "Funcționează normal", "Healthy", "Работает нормально"),
    ("unhealthy", "Problemă", "Unhealthy", "Проблема"),
    ("last_imap", "Ultimul schimb IMAP reușit", "Last good IMAP exchange", "Последний успешный обмен IMAP"),
    ("smtp_failing", "SMTP eșuează din", "SMTP failing since", "SMTP не работает с"),
    ("outbox", "Mesaje de trimis", "Outbox", "Исходящие"),
    ("pending", "în așteptare", "pending", "ожидают"),
    ("failed", "eșuate", "failed", "не отправлены"),
    ("sessions", "Sesiuni deschise", "Sessions open", "Открытых сессий"),
    ("digest_now", "Rezumatul, așa cum ar pleca acum", "The digest as it would go out now", "Сводка, как она ушла бы сейчас"),
    ("never", "niciodată", "never", "никогда"),
    ("no_role", "Contul dvs. nu are un rol în această consolă; cereți administratorului rolul Staff sau Viewer.", "Your account has no role in this console; ask the administrator for the Staff or Viewer role.", "У вашей учётной записи нет роли в этой консоли; попросите у администратора роль Staff или Viewer."),
    ("provider_down", "Furnizorul de identitate nu răspunde; comenzile mnotify-intake pe server funcționează în continuare.", "The identity provider does not answer; the mnotify-intake commands on the server still work.", "Поставщик удостоверений не отвечает; команды mnotify-intake на сервере по-прежнему работают."),
    ("signed_out", "Ați ieșit din consolă.", "You are signed out.", "Вы вышли из консоли."),
    ("expired", "Sesiunea a expirat; intrați din nou.", "The session has ended; sign in again.", "Сессия истекла; войдите снова."),
    ("not_found", "Nu există.", "Not found.", "Не найдено."),
    ("no_request", "Formularul nu are identificatorul cererii; reîncărcați pagina și trimiteți din nou.", "The form has no request id; reload the page and send it again.", "В форме нет идентификатора запроса; обновите страницу и отправьте снова."),
    ("no_randomness", "Serverul nu poate genera valori aleatoare pentru sesiune; administratorul găsește cauza în jurnal.", "The server cannot make random values for a session; the administrator finds why in the log.", "Сервер не может создать случайные значения для сессии; причина — в журнале для администратора."),
    ("forbidden", "Cerere refuzată: lipsește tokenul formularului sau vine din alt site.", "Refused: the form's token is missing or the request came from another site.", "Отказано: нет токена формы или запрос пришёл с другого сайта."),
    ("conversation", "Corespondența", "Conversation", "Переписка"),
    ("no_letters", "Niciun mesaj păstrat pentru acest caz.", "No mail is kept for this case.", "Для этого дела писем не сохранено."),
    ("letter_cut", "Textul e mai lung; restul e în cutia poștală.", "The text is longer; the rest is in the mailbox.", "Текст длиннее; остальное — в почтовом ящике."),
    ("answer_applicant", "Răspundeți solicitantului", "Answer the applicant", "Ответить заявителю"),
    ("saved_answers", "Răspunsuri gata", "Saved answers", "Готовые ответы"),
    ("answer_hint", "Solicitantul primește textul semnat de agenție, în firul conversației, cu numărul cazului în subiect; îl vedeți înainte să plece.", "The applicant gets the text signed by the agency, in the conversation's thread, with the case number in the subject; you see it before it goes.", "Заявитель получит текст с подписью агентства, в той же переписке, с номером дела в теме; вы увидите его до отправки."),
    ("preview_answer", "Previzualizează răspunsul", "Preview the answer", "Предпросмотр ответа"),
    ("show_text", "Textul trimis", "The text sent", "Отправленный текст"),
    ("copy_to", "Copie către (membru adăugat)", "Copy to (a member added)", "Копия (добавленному участнику)"),
    ("answer_to", "Răspunsul către", "The answer to", "Ответ для"),
    ("in_reply_to", "În răspuns la", "In reply to", "В ответ на"),
    ("merged_into", "unit în", "merged into", "объединено в"),
    ("unreachable", "ultimul nostru mesaj nu a ajuns", "our last message did not arrive", "наше последнее письмо не дошло"),
    ("form_choose_step", "Alegeți un pas.", "Choose a step.", "Выберите шаг."),
    ("form_no_such_step", "{service} nu are pasul {step}.", "{service} has no step {step}.", "В {service} нет шага {step}."),
    ("form_write_note", "Scrieți nota.", "Write the note.", "Напишите заметку."),
    ("form_write_member", "Scrieți adresa sau domeniul.", "Write the address or the domain.", "Напишите адрес или домен."),
    ("form_write_case", "Scrieți cazul de unit cu acesta.", "Write the case to merge into this one.", "Напишите дело, которое объединить с этим."),
    ("form_unknown", "Acțiune necunoscută; reîncărcați pagina.", "Unknown action; reload the page.", "Неизвестное действие; обновите страницу."),
    ("notice_not_composed", "Anunțul nu poate fi compus: {error}", "The notice cannot be composed: {error}", "Уведомление не удаётся составить: {error}"),
    ("store_failed", "Stocarea serviciului a eșuat: {error}; detaliile sunt în jurnal.", "The daemon's store failed: {error}; see the log.", "Хранилище службы дало сбой: {error}; подробности в журнале."),
    ("unhealthy_never", "Serviciul nu a ajuns la serverul IMAP în cele {since} s de la pornire: verificați în [imap] host, port și autentificarea; detaliile sunt în jurnal.", "The daemon has not reached its IMAP server in the {since} s since start: check [imap] host, port and login; see the log.", "Служба не связалась с сервером IMAP за {since} с после запуска: проверьте в [imap] host, port и вход; подробности в журнале."),
    ("unhealthy_imap_stale", "Niciun schimb IMAP reușit de {since} s (limita {limit} s): serverul nu răspunde sau conexiunea s-a blocat; detaliile sunt în jurnal.", "No successful IMAP exchange for {since} s (limit {limit} s): the server is unreachable or the connection stalled; see the log.", "Нет успешного обмена IMAP {since} с (предел {limit} с): сервер недоступен или соединение зависло; подробности в журнале."),
    ("unhealthy_imap_never", "Niciun schimb IMAP reușit în cele {since} s de la pornire (limita {limit} s): verificați serverul IMAP și autentificarea; detaliile sunt în jurnal.", "No successful IMAP exchange in the {since} s since start (limit {limit} s): check the IMAP server and login; see the log.", "Нет успешного обмена IMAP за {since} с после запуска (предел {limit} с): проверьте сервер IMAP и вход; подробности в журнале."),
    ("unhealthy_smtp", "Trimiterea prin SMTP eșuează de {since} s (limita {limit} s): răspunsurile așteaptă; detaliile sunt în jurnal.", "SMTP has failed for {since} s (limit {limit} s): replies are waiting; see the log.", "Отправка по SMTP не работает {since} с (предел {limit} с): ответы ждут; подробности в журнале."),
];

static TABLE: Table = Table::new(WORDS);

/// The console's words in `language`, by key (built once per language).
pub fn table(language: Language) -> &'static BTreeMap<&'static str, &'static str> {
    TABLE.in_language(language)
}

/// The console's word `key` in `language`.
pub fn word(key: &str, language: Language) -> &'static str {
    TABLE.word(key, language)
}

/// The console's word `key` in `language`, its placeholders filled.
pub fn say(key: &str, language: Language, fills: &[(&str, &str)]) -> String {
    TABLE.say(key, language, fills)
}

/// Why the daemon is unhealthy, in the staff's language (the log and `/health` say it
/// in English, for the administrator).
pub fn unhealthy(why: crate::health::Unhealthy, language: Language) -> String {
    use crate::health::Unhealthy;
    let (key, since, limit) = match why {
        Unhealthy::NeverReached(since) => ("unhealthy_never", since, 0),
        Unhealthy::ImapStale { since, limit } => ("unhealthy_imap_stale", since, limit),
        Unhealthy::ImapNeverSince { since, limit } => ("unhealthy_imap_never", since, limit),
        Unhealthy::SmtpFailing { since, limit } => ("unhealthy_smtp", since, limit),
    };
    let (since, limit) = (since.to_string(), limit.to_string());
    TABLE.say(key, language, &[("since", &since), ("limit", &limit)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_in_three_languages_and_keys_are_unique() {
        assert_eq!(TABLE.faults(), Vec::<String>::new());
    }

    #[test]
    fn an_unhealthy_daemon_is_said_in_the_staff_language() {
        let why = crate::health::Unhealthy::SmtpFailing {
            since: 1200,
            limit: 900,
        };
        assert_eq!(
            unhealthy(why, Language::Ro),
            "Trimiterea prin SMTP eșuează de 1200 s (limita 900 s): răspunsurile așteaptă; detaliile sunt în jurnal."
        );
        assert_eq!(unhealthy(why, Language::En), format!("{why}."));
    }
}
