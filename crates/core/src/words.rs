//! Word tables: what staff read, a key and its Romanian, English and Russian texts side
//! by side, so a text changed in one language is seen to need changing in the others.
//! What a text names is a `{placeholder}` filled by [`Table::say`]. The command line's
//! table (`mnotify_intake::staff::words`) and the console's (`web::words`) are two
//! [`Table`]s, checked by the same [`Table::faults`]. (The digest's words are a struct per
//! language, `digest::words`: its columns are arrays the renderer counts on.)

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::language::Language;

/// `(key, ro, en, ru)`.
pub type Word = (&'static str, &'static str, &'static str, &'static str);

/// One table of words, looked up by key.
pub struct Table {
    words: &'static [Word],
    /// Each language's words by key, made on first use (ro, en, ru).
    by_language: [OnceLock<BTreeMap<&'static str, &'static str>>; 3],
}

impl Table {
    pub const fn new(words: &'static [Word]) -> Table {
        Table {
            words,
            by_language: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        }
    }

    /// Every word in `language`, by key (what templates read as `t.<key>`).
    pub fn in_language(&self, language: Language) -> &BTreeMap<&'static str, &'static str> {
        let slot = language.pick(0, 1, 2);
        self.by_language[slot].get_or_init(|| {
            self.words
                .iter()
                .map(|&(key, ro, en, ru)| (key, [ro, en, ru][slot]))
                .collect()
        })
    }

    /// The text of `key` in `language` ("?" for a key the table lacks, which the tests
    /// of each table rule out).
    pub fn word(&self, key: &str, language: Language) -> &'static str {
        self.in_language(language)
            .get(key)
            .copied()
            .unwrap_or_else(|| {
                debug_assert!(false, "no word {key:?}");
                "?"
            })
    }

    /// The text of `key` with its placeholders filled: `say("cases", lang, &[("n", "3")])`.
    pub fn say(&self, key: &str, language: Language, fills: &[(&str, &str)]) -> String {
        let mut text = self.word(key, language).to_string();
        for (name, value) in fills {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// What is wrong with the table: a key written twice, a language left empty, or a
    /// translation whose placeholders or `commands` differ from the English.
    pub fn faults(&self) -> Vec<String> {
        let mut faults = Vec::new();
        let mut keys: Vec<&str> = self.words.iter().map(|w| w.0).collect();
        keys.sort_unstable();
        for pair in keys.windows(2).filter(|p| p[0] == p[1]) {
            faults.push(format!("{}: written twice", pair[0]));
        }
        for (key, ro, en, ru) in self.words {
            if ro.is_empty() || en.is_empty() || ru.is_empty() {
                faults.push(format!("{key}: a language is missing"));
            }
            for (name, text) in [("ro", ro), ("ru", ru)] {
                if placeholders(text) != placeholders(en) {
                    faults.push(format!(
                        "{key}: the {name} placeholders differ from the English"
                    ));
                }
                if text.matches('`').count() != en.matches('`').count() {
                    faults.push(format!(
                        "{key}: the {name} commands differ from the English"
                    ));
                }
            }
        }
        faults
    }

    /// The keys whose Romanian or Russian is the English word for word (left
    /// untranslated, unless a code).
    pub fn same_as_english(&self) -> Vec<&'static str> {
        self.words
            .iter()
            .filter(|(_, ro, en, ru)| ro == en || ru == en)
            .map(|w| w.0)
            .collect()
    }
}

/// The `{placeholder}` names of `text`, sorted.
fn placeholders(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = text
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static TABLE: Table = Table::new(&[
        ("cases", "{n} cazuri", "{n} cases", "{n} дел"),
        ("bad", "{n} cazuri", "{m} cases", "`x` дел"),
        ("bad", "", "b", "b"),
    ]);

    #[test]
    fn say_fills_and_faults_are_found() {
        assert_eq!(TABLE.say("cases", Language::Ro, &[("n", "3")]), "3 cazuri");
        let faults = TABLE.faults();
        for fault in [
            "bad: written twice",
            "bad: a language is missing",
            "bad: the ro placeholders differ from the English",
            "bad: the ru commands differ from the English",
        ] {
            assert!(faults.iter().any(|f| f == fault), "{fault}: {faults:?}");
        }
    }
}
