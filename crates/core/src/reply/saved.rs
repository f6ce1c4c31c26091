//! Answers staff reuse: short texts per language (`{ro,ru,en}/answers.toml` beside the
//! reply templates, built in and replaceable the same way), offered on the console's
//! case page to start a staff answer from.

use serde::Deserialize;

use super::ReplyError;
use crate::intake::Language;

/// One answer staff reuse: what the list shows, and the text it starts from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedAnswer {
    pub title: String,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    answer: Vec<SavedAnswer>,
}

/// The built-in answers of each language, in the order ro, ru, en.
pub(super) const EMBEDDED: [(&str, &str); 3] = [
    (
        "ro/answers.toml",
        include_str!("../../../../config/templates/ro/answers.toml"),
    ),
    (
        "ru/answers.toml",
        include_str!("../../../../config/templates/ru/answers.toml"),
    ),
    (
        "en/answers.toml",
        include_str!("../../../../config/templates/en/answers.toml"),
    ),
];

/// Reads one `answers.toml` (`name` says which, in errors).
pub(super) fn parse(name: &str, text: &str) -> Result<Vec<SavedAnswer>, ReplyError> {
    let file: File = toml::from_str(text).map_err(|e| ReplyError::Answers {
        name: name.to_string(),
        reason: e.message().to_string(),
    })?;
    for a in &file.answer {
        if a.title.trim().is_empty() || a.text.trim().is_empty() {
            return Err(ReplyError::Answers {
                name: name.to_string(),
                reason: "every [[answer]] needs a title and a text".into(),
            });
        }
    }
    Ok(file
        .answer
        .into_iter()
        .map(|a| SavedAnswer {
            title: a.title.trim().to_string(),
            text: a.text.trim().to_string(),
        })
        .collect())
}

/// The slot of `language` in [`EMBEDDED`].
pub(super) fn slot(language: Language) -> usize {
    match language {
        Language::Ro => 0,
        Language::Ru => 1,
        Language::En => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_answers_read_and_each_language_has_as_many() {
        let counts: Vec<usize> = EMBEDDED
            .iter()
            .map(|(name, text)| parse(name, text).unwrap().len())
            .collect();
        assert!(counts[0] > 0);
        assert!(counts.iter().all(|c| *c == counts[0]), "{counts:?}");
    }

    #[test]
    fn a_broken_file_says_which_and_why() {
        let e = parse("ro/answers.toml", "[[answer]]\ntitle = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("ro/answers.toml"), "{e}");
        let e = parse(
            "ro/answers.toml",
            "[[answer]]\ntitle = \"\"\ntext = \"t\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("title and a text"), "{e}");
    }
}
