//! Message-IDs in one canonical form, so that the outbox, the thread index, the
//! records and the headers we write agree on what is the same message.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Message-ID without its angle brackets or surrounding space; written with
/// brackets (`<id@host>`) in headers and in the store's JSON, bare in index keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// From a header value or a stored form, with or without brackets; `None` when
    /// nothing is left.
    pub fn parse(text: &str) -> Option<MessageId> {
        let bare = text
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        (!bare.is_empty()).then(|| MessageId(bare.to_string()))
    }

    /// One of ours: `local@domain` (both made by us, never empty).
    pub fn ours(local: &str, domain: &str) -> MessageId {
        MessageId(format!("{local}@{domain}"))
    }

    /// Without brackets: `id@host`.
    pub fn bare(&self) -> &str {
        &self.0
    }

    /// The domain after the last `@`, if any.
    pub fn domain(&self) -> Option<&str> {
        self.0.rsplit_once('@').map(|(_, d)| d)
    }
}

impl std::fmt::Display for MessageId {
    /// With brackets, as headers carry it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MessageId, D::Error> {
        let text = String::deserialize(d)?;
        MessageId::parse(&text).ok_or_else(|| serde::de::Error::custom("an empty Message-ID"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form_whatever_the_brackets() {
        let a = MessageId::parse(" <abc@x.md> ").unwrap();
        let b = MessageId::parse("abc@x.md").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.bare(), "abc@x.md");
        assert_eq!(a.to_string(), "<abc@x.md>");
        assert_eq!(a.domain(), Some("x.md"));
        assert_eq!(MessageId::parse("<>"), None);
        assert_eq!(MessageId::parse("  "), None);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"<abc@x.md>\"");
        assert_eq!(serde_json::from_str::<MessageId>(&json).unwrap(), a);
        assert!(serde_json::from_str::<MessageId>("\"\"").is_err());
    }
}
