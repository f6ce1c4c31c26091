//! The words of each remark in the three staff languages, one function per kind of
//! remark; each returns `None` for the remarks of another kind.

use super::{say_all, Cap, Remark};
use crate::intake::Language;
use crate::integration::Environment;

/// The words of one language, picked without making the others.
macro_rules! said {
    ($lang:expr, en: $en:expr, ro: $ro:expr, ru: $ru:expr $(,)?) => {
        match $lang {
            Language::En => $en,
            Language::Ro => $ro,
            Language::Ru => $ru,
        }
    };
}

/// ": why", or nothing.
fn with(note: &Option<String>) -> String {
    note.as_deref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default()
}

fn environment(e: Environment, l: Language) -> &'static str {
    match e {
        Environment::Test => said!(l, en: "test", ro: "testare", ru: "тестовой среды"),
        Environment::Production => {
            said!(l, en: "production", ro: "producție", ru: "промышленной среды")
        }
    }
}

/// " for SYSTEM", or nothing.
fn for_system(system: &Option<String>, l: Language) -> String {
    system
        .as_deref()
        .map(|s| said!(l, en: format!(" for {s}"), ro: format!(" pentru {s}"), ru: format!(" для {s}")))
        .unwrap_or_default()
}

/// A case opened, merged, split; its certificates' environments.
pub(super) fn case_story(r: &Remark, l: Language) -> Option<String> {
    use Remark as R;
    Some(match r {
        R::CaseOpened => said!(l, en: "case opened", ro: "caz deschis", ru: "дело открыто").into(),
        R::CertificateFor {
            serial,
            environment: e,
        } => {
            let e = environment(*e, l);
            said!(l,
                en: format!("certificate {serial} is for {e}"),
                ro: format!("certificatul {serial} este pentru {e}"),
                ru: format!("сертификат {serial} — для {e}"))
        }
        R::CertificateEnvironmentRefused { serial, was, now } => {
            let (was, now) = (environment(*was, l), environment(*now, l));
            said!(l,
                en: format!("certificate {serial} was given for {was} and now for {now}: refused for {now}; test and production each need their own certificate"),
                ro: format!("certificatul {serial} a fost dat pentru {was} și acum pentru {now}: refuzat pentru {now}; testarea și producția au nevoie fiecare de certificatul lor"),
                ru: format!("сертификат {serial} был дан для {was}, теперь для {now}: отклонён для {now}; для тестовой и промышленной сред нужны разные сертификаты"))
        }
        R::MergedFrom { case, by, note } => {
            let n = with(note);
            said!(l,
                en: format!("case #{case} merged into this one by {by}{n}"),
                ro: format!("cazul #{case} a fost unit cu acesta de {by}{n}"),
                ru: format!("дело #{case} объединено с этим: {by}{n}"))
        }
        R::MergedInto { case, by, note } => {
            let n = with(note);
            said!(l,
                en: format!("merged into case #{case} by {by}{n}"),
                ro: format!("unit cu cazul #{case} de {by}{n}"),
                ru: format!("объединено с делом #{case}: {by}{n}"))
        }
        R::SplitFrom {
            case,
            system,
            by,
            note,
        } => {
            let (n, s) = (with(note), for_system(system, l));
            said!(l,
                en: format!("split off case #{case}{s} by {by}{n}"),
                ro: format!("separat din cazul #{case}{s} de {by}{n}"),
                ru: format!("выделено из дела #{case}{s}: {by}{n}"))
        }
        R::SplitOff {
            case,
            system,
            by,
            note,
        } => {
            let (n, s) = (with(note), for_system(system, l));
            said!(l,
                en: format!("case #{case}{s} split off by {by}{n}"),
                ro: format!("cazul #{case}{s} a fost separat de {by}{n}"),
                ru: format!("дело #{case}{s} выделено: {by}{n}"))
        }
        _ => return None,
    })
}

/// Notes, members, questions, reminders, replies that did not arrive.
pub(super) fn case_people(r: &Remark, l: Language) -> Option<String> {
    use Remark as R;
    Some(match r {
        R::StaffNote { by, text } => said!(l,
            en: format!("note by {by}: {text}"),
            ro: format!("notă de la {by}: {text}"),
            ru: format!("заметка ({by}): {text}")),
        R::MemberAdded { by, member } => said!(l,
            en: format!("{by} added {member} to the institution: its mail may change this case"),
            ro: format!("{by} a adăugat {member} la instituție: mesajele sale pot schimba acest caz"),
            ru: format!("{by} добавил(а) {member} к учреждению: его письма могут менять это дело")),
        R::ReplyFailed { to, reason } => said!(l,
            en: format!("our message to {to} did not arrive: {reason}"),
            ro: format!("mesajul nostru către {to} nu a ajuns: {reason}"),
            ru: format!("наше письмо для {to} не дошло: {reason}")),
        R::ReminderSent => said!(l,
            en: "reminder sent to the applicant",
            ro: "memento trimis solicitantului",
            ru: "заявителю отправлено напоминание")
        .into(),
        R::QuestionAsked { question } => said!(l,
            en: format!("question for a person: {question}"),
            ro: format!("întrebare pentru un coleg: {question}"),
            ru: format!("вопрос для сотрудника: {question}")),
        R::QuestionAnswered { by, note } => {
            let n = with(note);
            said!(l,
                en: format!("question answered by {by}{n}"),
                ro: format!("întrebarea a primit răspuns de la {by}{n}"),
                ru: format!("на вопрос ответил(а) {by}{n}"))
        }
        R::AnswerSent {
            by,
            in_mailbox,
            question,
        } => {
            let (en, ro, ru) = if *question {
                (
                    "; the question is answered",
                    "; întrebarea a primit răspuns",
                    "; на вопрос дан ответ",
                )
            } else {
                ("", "", "")
            };
            if *in_mailbox {
                said!(l,
                    en: format!("answer to the applicant written in the mailbox by {by} (found in Sent){en}"),
                    ro: format!("răspuns către solicitant scris în cutia poștală de {by} (găsit în Trimise){ro}"),
                    ru: format!("ответ заявителю написан в почтовом ящике ({by}, найден в Отправленных){ru}"))
            } else {
                said!(l,
                    en: format!("answer sent to the applicant by {by}{en}"),
                    ro: format!("răspuns trimis solicitantului de {by}{ro}"),
                    ru: format!("ответ отправлен заявителю: {by}{ru}"))
            }
        }
        R::NoQuestionOpen { by } => said!(l,
            en: format!("{by} marked a question answered; none was open"),
            ro: format!("{by} a marcat o întrebare ca având răspuns; nu era niciuna deschisă"),
            ru: format!("{by} отметил(а) ответ на вопрос; открытого вопроса не было")),
        _ => return None,
    })
}

/// What mail brought to a case: decisions, certificates, checks, integration data.
pub(super) fn case_progress(r: &Remark, l: Language) -> Option<String> {
    use Remark as R;
    Some(match r {
        R::Mail {
            message_id,
            sender,
            decision,
            checked,
        } => {
            let what = match decision {
                Some(d) => d.words_checked(*checked, l).to_string(),
                None => said!(l,
                    en: "message (certificate already received)",
                    ro: "mesaj (certificatul a fost deja primit)",
                    ru: "письмо (сертификат уже получен)")
                .into(),
            };
            let sender = super::said_in(sender, l);
            if sender.is_empty() {
                said!(l,
                    en: format!("mail {message_id}: {what}"),
                    ro: format!("mesajul {message_id}: {what}"),
                    ru: format!("письмо {message_id}: {what}"))
            } else {
                said!(l,
                    en: format!("mail {message_id} from {sender}: {what}"),
                    ro: format!("mesajul {message_id} de la {sender}: {what}"),
                    ru: format!("письмо {message_id} от {sender}: {what}"))
            }
        }
        R::AnotherCertificate { evidence, kept } => said!(l,
            en: format!("another certificate received ({evidence}); step kept with {kept}"),
            ro: format!("alt certificat primit ({evidence}); pasul rămâne cu {kept}"),
            ru: format!("получен ещё один сертификат ({evidence}); шаг остаётся с {kept}")),
        R::DisputedLater { why } => {
            let why = say_all(why, l);
            said!(l,
                en: format!("{why}; the certificate step stays done (the applicant was told so): the later mail is checked"),
                ro: format!("{why}; pasul certificatului rămâne făcut (solicitantului i s-a spus): se verifică mesajul ulterior"),
                ru: format!("{why}; шаг сертификата остаётся выполненным (заявителю так сообщили): проверяется более позднее письмо"))
        }
        R::CertificateCheck { why } => {
            let why = say_all(why, l);
            said!(l,
                en: format!("staff check of the certificate: {why}"),
                ro: format!("certificatul de verificat de colegi: {why}"),
                ru: format!("сертификат на проверку сотрудником: {why}"))
        }
        R::StaffCheck { why } => {
            let why = why.say(l);
            said!(l,
                en: format!("staff check: {why}"),
                ro: format!("de verificat: {why}"),
                ru: format!("на проверку: {why}"))
        }
        R::Integration {
            summary,
            complete: true,
        } => said!(l,
            en: format!("integration data received: {summary}"),
            ro: format!("datele de integrare primite: {summary}"),
            ru: format!("данные интеграции получены: {summary}")),
        R::Integration {
            summary,
            complete: false,
        } => said!(l,
            en: format!("integration data (incomplete or to correct): {summary}"),
            ro: format!("date de integrare (incomplete sau de corectat): {summary}"),
            ru: format!("данные интеграции (неполные или с ошибками): {summary}")),
        R::MailNote { message_id, note } => {
            let note = note.say(l);
            said!(l,
                en: format!("mail {message_id}: {note}"),
                ro: format!("mesajul {message_id}: {note}"),
                ru: format!("письмо {message_id}: {note}"))
        }
        _ => return None,
    })
}

/// Steps done, done again, reopened; checks closed.
pub(super) fn case_steps(r: &Remark, l: Language) -> Option<String> {
    use Remark as R;
    Some(match r {
        R::StepAgain { step, by } => said!(l,
            en: format!("{step} already done; {by} marked it again"),
            ro: format!("{step} era deja făcut; {by} l-a marcat din nou"),
            ru: format!("{step} уже выполнен; {by} отметил(а) его ещё раз")),
        R::CheckClosed { by } => said!(l,
            en: format!("certificate check closed by {by}"),
            ro: format!("verificarea certificatului închisă de {by}"),
            ru: format!("проверка сертификата закрыта: {by}")),
        R::StepDone { step, by, note } => {
            let n = with(note);
            said!(l,
                en: format!("{step} done by {by}{n}"),
                ro: format!("{step} făcut de {by}{n}"),
                ru: format!("{step} выполнен: {by}{n}"))
        }
        R::Completed => said!(l,
            en: "completed: completion notice to the applicant",
            ro: "finalizat: anunțul de finalizare către solicitant",
            ru: "завершено: заявителю отправлено уведомление о завершении")
        .into(),
        R::Reopened {
            step,
            by,
            note,
            was_done,
        } => {
            let n = with(note);
            let not = if *was_done {
                ""
            } else {
                said!(l, en: " (it was not done)", ro: " (nu era făcut)", ru: " (он не был выполнен)")
            };
            said!(l,
                en: format!("{step} reopened by {by}{n}{not}"),
                ro: format!("{step} redeschis de {by}{n}{not}"),
                ru: format!("{step} открыт заново: {by}{n}{not}"))
        }
        _ => return None,
    })
}

/// Whose a certificate is, and which case or system a mail named.
pub(super) fn ownership(r: &Remark, l: Language) -> Option<String> {
    use Remark as R;
    Some(match r {
        R::RegisteredElsewhere {
            serial,
            institution,
            domain,
            owner,
        } => {
            let to = match institution {
                Some(i) => format!("{i}, {domain}"),
                None => domain.clone(),
            };
            said!(l,
                en: format!("certificate {serial} is registered to {to}, not to {owner}"),
                ro: format!("certificatul {serial} este înregistrat pe {to}, nu pe {owner}"),
                ru: format!("сертификат {serial} зарегистрирован на {to}, а не на {owner}"))
        }
        R::NamesOtherAddresses {
            serial,
            addresses,
            owner,
        } => {
            let a = addresses.join(", ");
            said!(l,
                en: format!("certificate {serial} names {a}, not an address of {owner}"),
                ro: format!("certificatul {serial} numește {a}, nu o adresă a {owner}"),
                ru: format!("сертификат {serial} называет {a}, а не адрес {owner}"))
        }
        R::AlreadyInCase {
            serial,
            case,
            owner,
        } => said!(l,
            en: format!("certificate {serial} is already in case #{case} of {owner}, and nothing shows whose it is"),
            ro: format!("certificatul {serial} este deja în cazul #{case} al {owner} și nimic nu arată al cui este"),
            ru: format!("сертификат {serial} уже есть в деле #{case} ({owner}), и ничто не показывает, чей он")),
        R::SentAgainByOwner {
            serial,
            owner,
            holder,
        } => said!(l,
            en: format!("certificate {serial} was sent again by {owner}, whose it is by its evidence; this case of {holder} holds it"),
            ro: format!("certificatul {serial} a fost trimis din nou de {owner}, al cărui este după dovezi; acest caz al {holder} îl are"),
            ru: format!("сертификат {serial} снова прислал {owner}, чей он по данным; это дело ({holder}) его содержит")),
        R::SentByAnotherToo { serial, owner } => said!(l,
            en: format!("certificate {serial} of this case was sent by {owner} too, and nothing shows whose it is"),
            ro: format!("certificatul {serial} al acestui caz a fost trimis și de {owner} și nimic nu arată al cui este"),
            ru: format!("сертификат {serial} этого дела прислал также {owner}, и ничто не показывает, чей он")),
        R::RevocationUnknown { serial, why } => said!(l,
            en: format!("certificate {serial}: {why}"),
            ro: format!("certificatul {serial}: {why}"),
            ru: format!("сертификат {serial}: {why}")),
        R::OtherInstitutionsCase { case, owner } => said!(l,
            en: format!("named case #{case} of another institution ({owner}); not joined"),
            ro: format!("a numit cazul #{case} al altei instituții ({owner}); nu a fost adăugat la el"),
            ru: format!("указано дело #{case} другого учреждения ({owner}); не присоединено")),
        R::OtherSystem {
            system,
            case,
            case_system,
        } => said!(l,
            en: format!("names the information system {system}; case #{case} of the same institution is for {case_system}: a case of its own"),
            ro: format!("numește sistemul informațional {system}; cazul #{case} al aceleiași instituții este pentru {case_system}: un caz separat"),
            ru: format!("называет информационную систему {system}; дело #{case} того же учреждения — для {case_system}: отдельное дело")),
        _ => return None,
    })
}

/// Why a mail got no answer.
pub(super) fn mail_note(r: &Remark, l: Language) -> Option<String> {
    use Remark as R;
    Some(match r {
        R::NoServiceNamed => said!(l,
            en: "names no service: asked which one, no case opened",
            ro: "nu numește niciun serviciu: a fost întrebat care, niciun caz deschis",
            ru: "не указана услуга: спросили какая, дело не открыто").into(),
        R::AlsoMentions { services } => {
            let services = services.join(", ");
            said!(l,
                en: format!("also mentions {services} without asking to connect: no case opened; ask the applicant if unsure"),
                ro: format!("pomenește și {services} fără să ceară conectarea: niciun dosar deschis; întrebați solicitantul dacă e neclar"),
                ru: format!("упоминает также {services}, не прося подключения: заявка не открыта; уточните у заявителя, если неясно"))
        }
        R::NoAddress => said!(l,
            en: "no address to reply to",
            ro: "nicio adresă la care să răspundem",
            ru: "нет адреса для ответа").into(),
        R::RepliesOff => said!(l,
            en: "replies are off ([reply] mode = \"off\")",
            ro: "răspunsurile sunt oprite ([reply] mode = \"off\")",
            ru: "ответы выключены ([reply] mode = \"off\")").into(),
        R::AnswersOurs => said!(l,
            en: "no reply: it answers a message of ours, and the sender was told once",
            ro: "fără răspuns: răspunde unui mesaj de-al nostru, iar expeditorul a fost informat o dată",
            ru: "без ответа: это ответ на наше письмо, отправителю уже сообщили").into(),
        R::CapReached { count, unverified, cap, key } => {
            let whom = if *unverified {
                said!(l, en: "neutral answers to unauthenticated senders ", ro: "răspunsuri neutre către expeditori neautentificați ", ru: "нейтральных ответов неподтверждённым отправителям ")
            } else {
                said!(l, en: "automatic replies ", ro: "răspunsuri automate ", ru: "автоматических ответов ")
            };
            let what = match cap {
                Cap::Recipient => said!(l, en: "to this address today", ro: "către această adresă azi", ru: "на этот адрес сегодня"),
                Cap::Case => said!(l, en: "about this case today", ro: "despre acest caz azi", ru: "по этому делу сегодня"),
                Cap::Domain => said!(l, en: "to this domain today", ro: "către acest domeniu azi", ru: "в этот домен сегодня"),
                Cap::Hour => said!(l, en: "in this hour", ro: "în această oră", ru: "за этот час"),
            };
            said!(l,
                en: format!("no reply, left for staff: {count} {whom}{what} ({key})"),
                ro: format!("fără răspuns, lăsat colegilor: {count} {whom}{what} ({key})"),
                ru: format!("без ответа, оставлено сотрудникам: {count} {whom}{what} ({key})"))
        }
        R::SenderHeld { reason } => {
            let reason = super::said_in(reason, l);
            said!(l,
                en: format!("sender not authenticated: {reason}"),
                ro: format!("expeditor neautentificat: {reason}"),
                ru: format!("отправитель не подтверждён: {reason}"))
        }
        R::SenderVouched { reason, by } => {
            let reason = super::said_in(reason, l);
            said!(l,
            en: format!("sender not authenticated ({reason}); accepted by {by}"),
            ro: format!("expeditor neautentificat ({reason}); acceptat de {by}"),
            ru: format!("отправитель не подтверждён ({reason}); принято: {by}"))
        }
        R::ReportIgnored { message_id, to, sender } => said!(l,
            en: format!("delivery report about our reply {message_id} ignored: it does not come from {to}'s side (sent by {sender})"),
            ro: format!("raport de livrare despre răspunsul nostru {message_id} ignorat: nu vine din partea lui {to} (trimis de {sender})"),
            ru: format!("отчёт о доставке нашего ответа {message_id} проигнорирован: он не со стороны {to} (отправил {sender})")),
        _ => return None,
    })
}

/// How a mail was kept: a duplicate, not whole, as written.
pub(super) fn mail_kept(r: &Remark, l: Language) -> Option<String> {
    use Remark as R;
    Some(match r {
        R::Duplicate { uid_validity, uid } => said!(l,
            en: format!("duplicate of UID {uid_validity}/{uid}"),
            ro: format!("duplicat al UID {uid_validity}/{uid}"),
            ru: format!("дубликат UID {uid_validity}/{uid}")),
        R::NotKeptCeiling {
            max_messages,
            max_mb,
        } => said!(l,
            en: format!("not kept whole: the held mail ceiling is reached ([store] held_max_messages = {max_messages}, held_max_mb = {max_mb}); `held accept` reads it again from the folder"),
            ro: format!("nu a fost păstrat întreg: plafonul mesajelor reținute este atins ([store] held_max_messages = {max_messages}, held_max_mb = {max_mb}); `held accept` îl citește din nou din dosar"),
            ru: format!("не сохранено целиком: достигнут предел задержанных писем ([store] held_max_messages = {max_messages}, held_max_mb = {max_mb}); `held accept` прочитает его снова из папки")),
        R::ReusedMessageId { message_id } => said!(l,
            en: format!("another mail with different content came before under the same Message-ID <{message_id}>: this one was handled on its own; check which of the two is genuine"),
            ro: format!("un alt mesaj, cu alt conținut, a venit înainte cu același Message-ID <{message_id}>: acesta a fost tratat separat; verificați care dintre cele două este autentic"),
            ru: format!("раньше пришло другое письмо с другим содержанием и тем же Message-ID <{message_id}>: это обработано отдельно; проверьте, какое из двух подлинное")),
        R::NotKeptLarge => said!(l,
            en: "not kept whole (over 5 MB); `held accept` reads it again from the folder",
            ro: "nu a fost păstrat întreg (peste 5 MB); `held accept` îl citește din nou din dosar",
            ru: "не сохранено целиком (больше 5 МБ); `held accept` прочитает его снова из папки")
        .into(),
        R::Text { text } => text.clone(),
        R::Unknown => said!(l,
            en: "(written by a later version)",
            ro: "(scris de o versiune mai nouă)",
            ru: "(записано более новой версией)")
        .into(),
        _ => return None,
    })
}
