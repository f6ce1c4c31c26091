//! The three languages: the applicant's, so the reply is written in it, and the staff
//! language of the digest, the console and the CLI. Romanian is the default: it is the
//! language of the service and of most applicants.

use serde::{Deserialize, Serialize};
use whatlang::{Detector, Lang};

/// Enough text to tell the language; more only costs time.
const SAMPLE_CHARS: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Ro,
    Ru,
    En,
}

impl Language {
    /// Of three things said in Romanian, English and Russian, the one in this language.
    pub fn pick<T>(self, ro: T, en: T, ru: T) -> T {
        match self {
            Language::Ro => ro,
            Language::En => en,
            Language::Ru => ru,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Ro => "ro",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }
}

/// Script first (Cyrillic is Russian here, Romanian diacritics are Romanian), then a
/// statistical detector limited to the three languages, then the default.
pub fn detect(text: &str) -> Language {
    let sample: String = text.chars().take(SAMPLE_CHARS).collect();
    let (mut cyrillic, mut latin, mut romanian_marks) = (0usize, 0usize, 0usize);
    for c in sample.chars() {
        match c {
            'ă' | 'â' | 'î' | 'ș' | 'ş' | 'ț' | 'ţ' | 'Ă' | 'Â' | 'Î' | 'Ș' | 'Ş' | 'Ț' | 'Ţ' =>
            {
                romanian_marks += 1;
                latin += 1;
            }
            '\u{0400}'..='\u{04FF}' => cyrillic += 1,
            c if c.is_ascii_alphabetic() => latin += 1,
            _ => {}
        }
    }
    if cyrillic > latin {
        return Language::Ru;
    }
    if romanian_marks >= 2 {
        return Language::Ro;
    }
    let detector = Detector::with_allowlist(vec![Lang::Ron, Lang::Rus, Lang::Eng]);
    match detector.detect(&sample) {
        Some(info) if info.confidence() > 0.2 || info.is_reliable() => match info.lang() {
            Lang::Eng => Language::En,
            Lang::Rus => Language::Ru,
            _ => Language::Ro,
        },
        _ => Language::Ro,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_languages() {
        assert_eq!(
            detect("Bună ziua, vă transmitem certificatul de sistem pentru conectare."),
            Language::Ro
        );
        assert_eq!(detect("Buna ziua, va transmitem certificatul sistemului nostru informational pentru conectarea la serviciul MNotify."), Language::Ro);
        assert_eq!(
            detect("Добрый день, направляем сертификат системы для подключения к MNotify."),
            Language::Ru
        );
        assert_eq!(detect("Good afternoon, please find attached the system certificate for our connection to MNotify."), Language::En);
    }

    #[test]
    fn nothing_to_go_on_is_romanian() {
        assert_eq!(detect(""), Language::Ro);
        assert_eq!(detect("4A 3B 2C"), Language::Ro);
    }
}
