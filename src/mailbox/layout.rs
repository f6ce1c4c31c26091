//! Where a server keeps a user's folders: its personal namespace (RFC 2342: Cyrus puts
//! them under `INBOX.`, Dovecot and Exchange at the top) and the folders it marks for
//! sent mail and drafts (RFC 6154: Exchange's `Sent Items`). The daemon's default
//! folder names are adapted to it; names the operator wrote are used as written.
//!
//! Pure: parses the server's NAMESPACE and LIST answers (raw bytes, since async-imap
//! parses no NAMESPACE response) and decides the names.

use crate::config::ImapConfig;

/// What the server said of its folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// The personal namespace's prefix (`"INBOX."` on Cyrus, `""` on most others).
    pub prefix: String,
    /// Its hierarchy separator, when the server has one.
    pub separator: Option<char>,
    /// The prefixes of other users' and shared folders (`"user."` on Cyrus): a folder
    /// under one is never ours to file into, whatever it is marked.
    pub foreign: Vec<String>,
    /// The folder marked `\Sent`, and the one marked `\Drafts`.
    pub sent: Option<String>,
    pub drafts: Option<String>,
    /// The folder marked `\Junk` (RFC 6154), where a provider's filters put junk.
    pub junk: Option<String>,
    /// Every folder the server listed.
    pub folders: Vec<String>,
}

/// One folder name the daemon chose, and why (for the log and `check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub setting: &'static str,
    pub folder: String,
    pub why: String,
    /// The name before adaptation (the config's, or the default).
    pub before: String,
}

impl Choice {
    /// Whether the server's layout changed the name.
    pub fn folder_changed(&self) -> bool {
        self.folder != self.before
    }
}

impl Layout {
    /// Reads the untagged answers to NAMESPACE and LIST (each a whole response, with
    /// any literal inline). Answers it cannot read are left out: a server's odd answer
    /// must not stop the daemon, it only loses the adaptation.
    pub fn read(namespace: &[Vec<u8>], list: &[Vec<u8>]) -> Layout {
        let mut layout = Layout::default();
        if let Some([personal, others, shared]) = namespace.iter().find_map(|r| namespaces(r)) {
            if let Some((prefix, separator)) = personal.into_iter().next() {
                layout.prefix = prefix;
                layout.separator = separator;
            }
            layout.foreign = (others.into_iter().chain(shared))
                .map(|(prefix, _)| prefix)
                .filter(|prefix| !prefix.is_empty())
                .collect();
        }
        for (attributes, name) in list.iter().filter_map(|r| list_entry(r)) {
            let has = |a: &str| attributes.iter().any(|x| x.eq_ignore_ascii_case(a));
            let ours = layout.personal(&name);
            if ours && has("\\Sent") && layout.sent.is_none() {
                layout.sent = Some(name.clone());
            }
            if ours && has("\\Drafts") && layout.drafts.is_none() {
                layout.drafts = Some(name.clone());
            }
            if ours && has("\\Junk") && layout.junk.is_none() {
                layout.junk = Some(name.clone());
            }
            if !has("\\NoSelect") && !has("\\NonExistent") {
                layout.folders.push(name);
            }
        }
        layout
    }

    /// Whether `name` is in the user's own namespace: not under another user's or the
    /// shared prefix, and under the personal prefix when there is one.
    fn personal(&self, name: &str) -> bool {
        let under = |prefix: &String| !prefix.is_empty() && name.starts_with(prefix.as_str());
        !self.foreign.iter().any(under)
            && (self.prefix.is_empty()
                || name.eq_ignore_ascii_case("INBOX")
                || name.starts_with(&self.prefix))
    }

    fn exists(&self, name: &str) -> bool {
        self.folders.iter().any(|f| f == name)
    }

    /// A default name in this server's personal namespace: kept as it is when a folder
    /// of that name exists (an earlier run made it), prefixed otherwise.
    fn placed(&self, name: &str) -> (String, String) {
        if self.prefix.is_empty() || self.exists(name) {
            (name.to_string(), "default".to_string())
        } else {
            (
                format!("{}{name}", self.prefix),
                format!(
                    "default, in the server's personal namespace \"{}\"",
                    self.prefix
                ),
            )
        }
    }

    /// A default for sent mail or drafts: the folder the server marks for it, else
    /// the default name placed in the namespace. A mark on a folder the daemon reads or
    /// files into (`taken`: the inbox, Processed, Needs-Human) is not followed: anyone
    /// with access to the mailbox can set one, and copies of replies in the inbox
    /// would come back as mail.
    fn marked(
        &self,
        marked: &Option<String>,
        attribute: &str,
        name: &str,
        taken: &[&str],
    ) -> (String, String) {
        match marked {
            Some(folder) if !taken.iter().any(|t| same_folder(t, folder)) => {
                (folder.clone(), format!("the server marks it {attribute}"))
            }
            _ => self.placed(name),
        }
    }

    /// `imap` with every folder it did not name adapted to this server, and what was
    /// chosen. Names written in the config stay as written.
    pub fn adapt(&self, imap: &ImapConfig) -> (ImapConfig, Vec<Choice>) {
        let mut out = imap.clone();
        let mut choices = Vec::new();
        let named = imap.named;
        let mut choose =
            |setting: &'static str, named: bool, current: &str, pick: (String, String)| {
                let (folder, why) = if named {
                    (current.to_string(), "as configured".to_string())
                } else {
                    pick
                };
                choices.push(Choice {
                    setting,
                    folder: folder.clone(),
                    why,
                    before: current.to_string(),
                });
                folder
            };
        out.processed_folder = choose(
            "processed_folder",
            named.processed,
            &imap.processed_folder,
            self.placed(&imap.processed_folder),
        );
        if let Some(current) = &imap.needs_human_folder {
            out.needs_human_folder = Some(choose(
                "needs_human_folder",
                named.needs_human,
                current,
                self.placed(current),
            ));
        }
        let processed = out.processed_folder.clone();
        let needs_human = out.needs_human_folder.clone().unwrap_or_default();
        let taken = [imap.inbox.as_str(), &processed, &needs_human];
        if let Some(current) = &imap.sent_folder {
            out.sent_folder = Some(choose(
                "sent_folder",
                named.sent,
                current,
                self.marked(&self.sent, "\\Sent", current, &taken),
            ));
        }
        out.drafts_folder = choose(
            "drafts_folder",
            named.drafts,
            &imap.drafts_folder,
            self.marked(&self.drafts, "\\Drafts", &imap.drafts_folder, &taken),
        );
        if !named.junk {
            // Only a folder the server marks: no junk folder is made or guessed.
            let taken = [&taken[..], &[out.drafts_folder.as_str()]].concat();
            out.junk_folder = self
                .junk
                .clone()
                .filter(|j| !taken.iter().any(|t| same_folder(t, j)));
            if let Some(junk) = &out.junk_folder {
                choices.push(Choice {
                    setting: "junk_folder",
                    folder: junk.clone(),
                    why: "the server marks it \\Junk".into(),
                    before: String::new(),
                });
            }
        }
        (out, choices)
    }

    /// The name to suggest for `folder` when the server refused it: the same name in the
    /// personal namespace, if it is not there already.
    pub fn suggestion(&self, folder: &str) -> Option<String> {
        (!self.prefix.is_empty() && !folder.starts_with(&self.prefix))
            .then(|| format!("{}{folder}", self.prefix))
    }
}

/// Whether two names are one folder (`INBOX` in any case is the inbox, RFC 3501).
fn same_folder(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

/// A namespace's prefix and hierarchy separator.
type Namespace = (String, Option<char>);

/// The three groups of `* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))`: the
/// personal namespaces, other users', and shared ones (RFC 2342), each possibly empty
/// (`NIL`). `None` when the response is not that.
fn namespaces(response: &[u8]) -> Option<[Vec<Namespace>; 3]> {
    let tokens = tokens(response)?;
    let mut t = tokens.iter();
    if !matches!((t.next(), t.next()), (Some(Token::Atom(star)), Some(Token::Atom(word)))
        if star == "*" && word.eq_ignore_ascii_case("NAMESPACE"))
    {
        return None;
    }
    let mut group = || -> Option<Vec<Namespace>> {
        let mut found = Vec::new();
        match t.next()? {
            Token::Atom(nil) if nil.eq_ignore_ascii_case("NIL") => return Some(found),
            Token::Open => {}
            _ => return None,
        }
        loop {
            match t.next()? {
                Token::Close => return Some(found),
                Token::Open => {}
                _ => return None,
            }
            let prefix = t.next()?.string()?;
            let separator = match t.next()? {
                Token::Atom(nil) if nil.eq_ignore_ascii_case("NIL") => None,
                other => other.string()?.chars().next(),
            };
            // Extensions (RFC 2342 section 6) up to the entry's own close.
            let mut depth = 1;
            while depth > 0 {
                match t.next()? {
                    Token::Open => depth += 1,
                    Token::Close => depth -= 1,
                    _ => {}
                }
            }
            found.push((prefix, separator));
        }
    };
    Some([group()?, group()?, group()?])
}

/// `(attributes, name)` of `* LIST (\HasNoChildren \Sent) "." "INBOX.Sent Items"`.
fn list_entry(response: &[u8]) -> Option<(Vec<String>, String)> {
    let tokens = tokens(response)?;
    let mut t = tokens.iter();
    if !matches!((t.next(), t.next()), (Some(Token::Atom(star)), Some(Token::Atom(word)))
        if star == "*" && word.eq_ignore_ascii_case("LIST"))
    {
        return None;
    }
    if t.next()? != &Token::Open {
        return None;
    }
    let mut attributes = Vec::new();
    loop {
        match t.next()? {
            Token::Close => break,
            Token::Atom(a) => attributes.push(a.clone()),
            _ => return None,
        }
    }
    let _separator = t.next()?;
    let name = t.next()?.string()?;
    Some((attributes, name))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Atom(String),
    Quoted(String),
    Literal(String),
}

impl Token {
    /// The text of a string (quoted, literal, or an atom standing for one).
    fn string(&self) -> Option<String> {
        match self {
            Token::Quoted(s) | Token::Literal(s) => Some(s.clone()),
            Token::Atom(a) if !a.eq_ignore_ascii_case("NIL") => Some(a.clone()),
            _ => None,
        }
    }
}

/// The tokens of one response: parentheses, atoms, quoted strings (with `\"` and `\\`)
/// and literals (`{N}` CRLF and N bytes). `None` for anything malformed.
fn tokens(response: &[u8]) -> Option<Vec<Token>> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = Vec::new();
    let mut i = 0;
    while i < response.len() {
        match response[i] {
            b' ' | b'\r' | b'\n' => i += 1,
            b'(' => {
                out.push(Token::Open);
                i += 1;
            }
            b')' => {
                out.push(Token::Close);
                i += 1;
            }
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                loop {
                    match *response.get(i)? {
                        b'"' => break,
                        b'\\' => {
                            s.push(*response.get(i + 1)?);
                            i += 2;
                        }
                        c => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push(Token::Quoted(text(&s)));
            }
            b'{' => {
                let close = i + response[i..].iter().position(|&c| c == b'}')?;
                let count: usize = std::str::from_utf8(&response[i + 1..close])
                    .ok()?
                    .trim_end_matches('+')
                    .parse()
                    .ok()?;
                let start = close + 1 + response[close + 1..].strip_prefix(b"\r\n").map(|_| 2)?;
                let end = start.checked_add(count)?;
                out.push(Token::Literal(text(response.get(start..end)?)));
                i = end;
            }
            _ => {
                let end = response[i..]
                    .iter()
                    .position(|&c| matches!(c, b' ' | b'(' | b')' | b'\r' | b'\n'))
                    .map_or(response.len(), |p| i + p);
                out.push(Token::Atom(text(&response[i..end])));
                i = end;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
