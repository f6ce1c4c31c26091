//! Text the pipeline wrote in English before it kept data instead (a sender's
//! verdict, a step's evidence, stored in records and cases), said in the staff
//! language phrase by phrase: the phrases are the pipeline's own, the values in them
//! (domains, serials, Message-IDs) stay as written.

use crate::intake::Language;

/// The pipeline's English phrases and what they are in Romanian and Russian, longest
/// first where one contains another.
const PHRASES: [(&str, &str, &str); 22] = [
    (
        "no Authentication-Results from our receiving server",
        "niciun Authentication-Results de la serverul nostru de primire",
        "нет Authentication-Results от нашего принимающего сервера",
    ),
    (
        "no receiving server of ours is configured",
        "niciun server de primire al nostru nu este configurat",
        "не настроен ни один наш принимающий сервер",
    ),
    (
        "our receiving servers' stamps contradict each other",
        "ștampilele serverelor noastre de primire se contrazic",
        "отметки наших принимающих серверов противоречат друг другу",
    ),
    (
        "no Authentication-Results of Exchange Online above its front door",
        "niciun Authentication-Results al Exchange Online deasupra serverului său de intrare",
        "нет Authentication-Results Exchange Online над его входным сервером",
    ),
    (
        "not delivered by our tenant",
        "nu a fost livrat de tenantul nostru",
        "доставлено не нашим тенантом",
    ),
    (
        "not authenticated: ",
        "neautentificat: ",
        "не подтверждён: ",
    ),
    ("authenticated: ", "autentificat: ", "подтверждён: "),
    (
        "no aligned pass for ",
        "nicio verificare reușită aliniată pentru ",
        "нет выровненной успешной проверки для ",
    ),
    ("(not a pass)", "(nu este reușită)", "(не успешна)"),
    (" pass for ", " reușit pentru ", " успешна для "),
    (" fail for ", " eșuat pentru ", " не пройдена для "),
    ("no From address", "nicio adresă From", "нет адреса From"),
    ("no results", "niciun rezultat", "нет результатов"),
    (
        "by Exchange Online",
        "de Exchange Online",
        "от Exchange Online",
    ),
    (
        "stamped by tenant ",
        "ștampilat de tenantul ",
        "отмечено тенантом ",
    ),
    (", not ours", ", nu al nostru", ", не нашим"),
    (", accepted by ", ", acceptat de ", ", принято: "),
    (
        "certificate serial ",
        "certificatul cu seria ",
        "сертификат с серийным номером ",
    ),
    (" sha1 ", " SHA-1 ", " SHA-1 "),
    (" matched ", " corespunde cu ", " совпадает с "),
    ("number ", "numărul ", "номер "),
    ("(mail ", "(mesajul ", "(письмо "),
];

/// `text` with the pipeline's English phrases in `language` (English as it is).
pub fn said_in(text: &str, language: Language) -> String {
    let pick = |(_, ro, ru): &(&str, &'static str, &'static str)| match language {
        Language::Ro => *ro,
        Language::Ru => *ru,
        Language::En => "",
    };
    if language == Language::En {
        return text.to_string();
    }
    let mut out = text.to_string();
    for phrase in &PHRASES {
        if out.contains(phrase.0) {
            out = out.replace(phrase.0, pick(phrase));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipelines_english_is_said_in_the_staff_language() {
        let evidence = "certificate serial 5A17 sha1 CDA8 (mail <m@x.md>)";
        assert_eq!(
            said_in(evidence, Language::Ro),
            "certificatul cu seria 5A17 SHA-1 CDA8 (mesajul <m@x.md>)"
        );
        assert_eq!(
            said_in("DMARC fail for cnas.gov.md", Language::Ro),
            "DMARC eșuat pentru cnas.gov.md"
        );
        assert_eq!(
            said_in("ion@x.md (authenticated: DMARC)", Language::Ru),
            "ion@x.md (подтверждён: DMARC)"
        );
        assert_eq!(
            said_in(
                "ion@x.md (not authenticated: no From address)",
                Language::Ro
            ),
            "ion@x.md (neautentificat: nicio adresă From)"
        );
        assert_eq!(said_in(evidence, Language::En), evidence);
    }
}
