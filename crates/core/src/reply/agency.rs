//! Who "we" are in replies and the digest: the agency's name (it has been renamed
//! before), its short name, phone, web address and mailbox, from `[agency]`, so that a
//! new name needs no template edit.

use serde::{Deserialize, Serialize};

use crate::intake::Language;

/// The agency as the config names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// The official name (Romanian): signatures and the From name.
    pub name: String,
    /// The name in Russian and English replies (the official one follows it).
    pub name_ru: String,
    pub name_en: String,
    /// As replies and the digest abbreviate it ("AGE").
    pub short_name: String,
    /// As Russian replies abbreviate it ("АЭУ"): a Romanian acronym inside Russian
    /// text reads as a mistake.
    pub short_name_ru: String,
    pub phone: String,
    pub web: String,
    /// The public mailbox, as signatures give it.
    pub mailbox: String,
}

impl Default for Agency {
    fn default() -> Agency {
        Agency {
            name: "Agenția de Guvernare Electronică".into(),
            name_ru: "Агентство электронного управления".into(),
            name_en: "e-Government Agency".into(),
            short_name: "AGE".into(),
            short_name_ru: "АЭУ".into(),
            phone: "+373 (22) 820 026".into(),
            web: "https://egov.md".into(),
            mailbox: "servicii@egov.md".into(),
        }
    }
}

/// The agency as a template in one language sees it: `local_name` in that language.
#[derive(Debug, Clone, Serialize)]
pub struct AgencyView<'a> {
    pub name: &'a str,
    pub local_name: &'a str,
    pub short_name: &'a str,
    pub phone: &'a str,
    pub web: &'a str,
    pub mailbox: &'a str,
}

impl Agency {
    /// How a staff member's answer is signed, in `language`: the agency, its mailbox
    /// and phone (the automatic replies' signature, without "generated automatically").
    pub fn signature(&self, language: Language) -> String {
        let view = self.view(language);
        let regards = language.pick("Cu stimă,", "Kind regards,", "С уважением,");
        let name = match language {
            Language::Ro => view.name.to_string(),
            _ => format!("{} ({})", view.local_name, view.short_name),
        };
        format!("{regards}\n{name}\n{} | {}", view.mailbox, view.phone)
    }

    pub fn view(&self, language: Language) -> AgencyView<'_> {
        AgencyView {
            name: &self.name,
            local_name: match language {
                Language::Ro => &self.name,
                Language::Ru => &self.name_ru,
                Language::En => &self.name_en,
            },
            short_name: match language {
                Language::Ru => &self.short_name_ru,
                Language::Ro | Language::En => &self.short_name,
            },
            phone: &self.phone,
            web: &self.web,
            mailbox: &self.mailbox,
        }
    }
}
