//! `Authentication-Results` header fields (RFC 8601) as our receiving server stamps
//! them: the authserv-id, then `;`-separated results `method=result` with properties
//! such as `header.d=…` or `smtp.mailfrom=…`.
//!
//! The text is written by a mail server, but a stranger can write a field that looks
//! the same; the reader is therefore total (any bytes give a value, never a panic)
//! and bounded, and which fields to believe is decided in [`super`].

/// Results kept from one field: a real server writes a handful, a field with more was
/// made to exhaust us (and is not believed, see [`Parsed::overflowed`]).
pub const MAX_RESULTS_PER_FIELD: usize = 32;
/// Characters of one field read: our servers' fields are a few hundred.
pub const MAX_FIELD_CHARS: usize = 16 * 1024;

/// One `method=result` statement with the properties that identify what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// Lower case, without a method version (`dkim/1` → `dkim`).
    pub method: String,
    /// Lower case (`pass`, `fail`, `none`, `temperror`, …).
    pub result: String,
    /// `(ptype.property, value)` pairs, names lower case, values as written.
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    /// The value of property `name` (e.g. `header.d`), if stated.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One field, read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// The authserv-id, lower case; empty when the field starts with a result
    /// (Microsoft 365 writes its fields so).
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
    /// More than [`MAX_RESULTS_PER_FIELD`] results, or a field longer than
    /// [`MAX_FIELD_CHARS`]: not something our server writes.
    pub overflowed: bool,
}

/// A lexical token of a field, comments removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
    Slash,
}

/// Reads one field's value (the text after `Authentication-Results:`, folding allowed).
pub fn parse(value: &str) -> Parsed {
    let overlong = value.chars().nth(MAX_FIELD_CHARS).is_some();
    let text: String = value.chars().take(MAX_FIELD_CHARS).collect();
    let tokens = tokenize(&text);
    let mut segments = tokens.split(|t| *t == Token::Semicolon);
    let mut parsed = Parsed {
        overflowed: overlong,
        ..Parsed::default()
    };
    let first = segments.next().unwrap_or(&[]);
    // An id is a lone value (optionally followed by a version number); a first segment
    // with `=` in it is already a result.
    if first.contains(&Token::Equals) {
        parsed.results.extend(result(first));
    } else if let Some(Token::Word(id) | Token::Quoted(id)) = first.first() {
        parsed.authserv_id = id.to_ascii_lowercase();
    }
    for segment in segments {
        if parsed.results.len() >= MAX_RESULTS_PER_FIELD {
            parsed.overflowed = true;
            break;
        }
        parsed.results.extend(result(segment));
    }
    parsed
}

/// `method[/version] = result [name=value]…`; `None` for `none` or anything else.
fn result(tokens: &[Token]) -> Option<MethodResult> {
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // name [/ version] = value
        let Token::Word(name) = &tokens[i] else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        if tokens.get(j) == Some(&Token::Slash) {
            j += 2;
        }
        if tokens.get(j) != Some(&Token::Equals) {
            i += 1;
            continue;
        }
        match tokens.get(j + 1) {
            Some(Token::Word(v) | Token::Quoted(v)) => {
                pairs.push((name.to_ascii_lowercase(), v.clone()));
                i = j + 2;
            }
            _ => i = j + 1,
        }
    }
    let mut pairs = pairs.into_iter();
    let (method, result) = pairs.next()?;
    Some(MethodResult {
        method,
        result: result.to_ascii_lowercase(),
        properties: pairs.collect(),
    })
}

/// Splits a field into tokens: comments `( … )` (nested, with `\` escapes) are dropped,
/// quoted strings are one token, `=`, `;` and `/` stand alone, whitespace separates.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut tokens);
                let mut depth = 1usize;
                while depth > 0 {
                    match chars.next() {
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            '"' => {
                flush(&mut word, &mut tokens);
                let mut quoted = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => quoted.extend(chars.next()),
                        Some('"') | None => break,
                        Some(c) => quoted.push(c),
                    }
                }
                tokens.push(Token::Quoted(quoted));
            }
            '=' | ';' | '/' => {
                flush(&mut word, &mut tokens);
                tokens.push(match c {
                    '=' => Token::Equals,
                    ';' => Token::Semicolon,
                    _ => Token::Slash,
                });
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn opendkim_and_opendmarc_fields() {
        let dkim = parse(
            " mx.egov.test;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=inst-a.test header.i=@inst-a.test header.a=rsa-sha256 header.s=mail header.b=AbCd",
        );
        assert_eq!(dkim.authserv_id, "mx.egov.test");
        assert_eq!(dkim.results.len(), 1);
        let r = &dkim.results[0];
        assert_eq!((r.method.as_str(), r.result.as_str()), ("dkim", "pass"));
        assert_eq!(r.property("header.d"), Some("inst-a.test"));
        let dmarc = parse("mx.egov.test; dmarc=fail (p=reject dis=none) header.from=inst-a.test");
        assert_eq!(dmarc.results[0].result, "fail");
        assert_eq!(
            dmarc.results[0].property("header.from"),
            Some("inst-a.test")
        );
        assert!(!dmarc.overflowed);
    }

    #[test]
    fn several_results_a_version_and_microsoft_without_an_id() {
        let p = parse("mx.example 1; spf=pass smtp.mailfrom=a@b.md; dkim/1=fail header.d=b.md; dmarc=pass header.from=b.md");
        assert_eq!(p.authserv_id, "mx.example");
        let methods: Vec<_> = p.results.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(methods, ["spf", "dkim", "dmarc"]);
        let ms = parse("spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=contoso.md; dkim=pass (signature was verified) header.d=contoso.md;dmarc=pass action=none header.from=contoso.md;compauth=pass reason=100");
        assert_eq!(ms.authserv_id, "");
        assert_eq!(ms.results.len(), 4);
        assert_eq!(ms.results[3].method, "compauth");
        assert_eq!(ms.results[3].property("reason"), Some("100"));
    }

    #[test]
    fn comments_and_quotes_cannot_smuggle_results() {
        let p = parse(r#"mx.egov.test; dkim=fail (dkim=pass; header.d=x) header.d="a;dkim=pass""#);
        assert_eq!(p.results.len(), 1);
        assert_eq!(p.results[0].result, "fail");
        assert_eq!(p.results[0].property("header.d"), Some("a;dkim=pass"));
        let nested = parse("mx; dkim=fail (a (b) c \\) dkim=pass) header.d=x");
        assert_eq!(nested.results.len(), 1);
        assert_eq!(nested.results[0].result, "fail");
        assert_eq!(parse("mx; none").results, vec![]);
        assert_eq!(parse("\"quoted id\"; spf=pass").authserv_id, "quoted id");
    }

    #[test]
    fn ten_thousand_results_overflow() {
        let value = format!("mx.egov.test{}", "; dkim=pass header.d=x.md".repeat(10_000));
        let p = parse(&value);
        assert!(p.overflowed);
        assert!(p.results.len() <= MAX_RESULTS_PER_FIELD);
    }

    proptest! {
        #[test]
        fn any_text_reads_without_panic(s in "\\PC{0,300}") {
            let p = parse(&s);
            prop_assert!(p.results.len() <= MAX_RESULTS_PER_FIELD);
        }

        #[test]
        fn field_shaped_noise_reads_without_panic(
            parts in proptest::collection::vec("[a-z=;/()\"\\\\. ]{0,12}", 0..40)
        ) {
            let _ = parse(&parts.concat());
        }
    }
}
