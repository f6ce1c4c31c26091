//! Asks the server where it keeps folders (NAMESPACE, LIST with special-use) on a
//! connection of its own. async-imap cannot parse a NAMESPACE answer (its stream stops
//! at the first response it cannot read), so these two commands are sent through it
//! and their answers read as bytes; the connection is dropped afterwards, never used
//! by async-imap again.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::layout::Layout;
use super::{within, Mailbox, MailboxError};
use crate::config::ImapConfig;

/// At most this much of the server's answers is read (a mailbox with thousands of
/// folders lists well under it).
const MAX_ANSWER_BYTES: usize = 4 << 20;

impl Mailbox {
    /// Logs in on a connection of its own and reads the server's folder layout. A
    /// server without NAMESPACE or SPECIAL-USE gives an empty one (defaults stay).
    pub async fn layout(cfg: &ImapConfig) -> Result<Layout, MailboxError> {
        let mut mb = Mailbox::connect(cfg).await?;
        let deadline = mb.deadline;
        let namespace = if mb.namespace_supported {
            within(deadline, "NAMESPACE", mb.raw("NAMESPACE")).await?
        } else {
            Vec::new()
        };
        let list = if mb.special_use_supported && mb.list_extended_supported {
            r#"LIST "" "*" RETURN (SPECIAL-USE)"#
        } else {
            r#"LIST "" "*""#
        };
        let list = within(deadline, "LIST", mb.raw(list)).await?;
        // Not handed back to async-imap: its reader never saw these answers.
        let _ = within(Duration::from_secs(5), "LOGOUT", mb.raw("LOGOUT")).await;
        Ok(Layout::read(&namespace, &list))
    }

    /// Sends `command` and returns the untagged responses before its tagged answer
    /// (none when the server refused it).
    async fn raw(&mut self, command: &str) -> Result<Vec<Vec<u8>>, MailboxError> {
        let session = self.session();
        let tag = session.run_command(command).await?.0;
        let mut reader = BufReader::new(session.get_mut());
        let mut responses = Vec::new();
        let mut read = 0;
        loop {
            let response = read_response(&mut reader, &mut read, command).await?;
            if response.starts_with(b"* ") {
                responses.push(response);
            } else if response.starts_with(format!("{tag} ").as_bytes()) {
                let ok = response[tag.len() + 1..]
                    .get(..2)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"OK"));
                return Ok(if ok { responses } else { Vec::new() });
            }
        }
    }
}

/// One whole response: a line, and when it ends in a literal (`{N}`), the N bytes and
/// the rest of the line after them.
async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    read: &mut usize,
    command: &str,
) -> Result<Vec<u8>, MailboxError> {
    let too_long = |bytes| MailboxError::AnswerTooLong {
        command: command.to_string(),
        bytes,
    };
    let mut response = Vec::new();
    loop {
        let before = response.len();
        let n = reader
            .read_until(b'\n', &mut response)
            .await
            .map_err(|e| MailboxError::Protocol(e.into()))?;
        *read += n;
        if n == 0 {
            return Err(MailboxError::Protocol(
                async_imap::error::Error::ConnectionLost,
            ));
        }
        if *read > MAX_ANSWER_BYTES {
            return Err(too_long(*read));
        }
        let line = &response[before..];
        let Some(count) = literal_length(line) else {
            return Ok(response);
        };
        if *read + count > MAX_ANSWER_BYTES {
            return Err(too_long(*read + count));
        }
        let start = response.len();
        response.resize(start + count, 0);
        reader
            .read_exact(&mut response[start..])
            .await
            .map_err(|e| MailboxError::Protocol(e.into()))?;
        *read += count;
    }
}

/// N of a line ending in `{N}` CRLF (or `{N+}`).
fn literal_length(line: &[u8]) -> Option<usize> {
    let line = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))?;
    let line = line.strip_suffix(b"}")?;
    let open = line.iter().rposition(|&c| c == b'{')?;
    std::str::from_utf8(&line[open + 1..])
        .ok()?
        .trim_end_matches('+')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_response_with_a_literal_is_read_whole_and_the_next_one_after_it() {
        let wire = b"* LIST (\\Sent) \".\" {15}\r\nINBOX.Sent Item\r\n* LIST () \".\" INBOX\r\na1 OK done\r\n";
        let mut reader = BufReader::new(&wire[..]);
        let mut read = 0;
        let first = read_response(&mut reader, &mut read, "LIST").await.unwrap();
        assert_eq!(first, b"* LIST (\\Sent) \".\" {15}\r\nINBOX.Sent Item\r\n");
        let second = read_response(&mut reader, &mut read, "LIST").await.unwrap();
        assert_eq!(second, b"* LIST () \".\" INBOX\r\n");
        let third = read_response(&mut reader, &mut read, "LIST").await.unwrap();
        assert_eq!(third, b"a1 OK done\r\n");
        assert!(
            read_response(&mut reader, &mut read, "LIST").await.is_err(),
            "the end of the stream is an error, not an empty answer"
        );
    }

    #[tokio::test]
    async fn an_answer_past_the_limit_or_a_huge_literal_is_refused() {
        let wire = format!("* LIST () \".\" {{{}}}\r\n", MAX_ANSWER_BYTES + 1);
        let mut reader = BufReader::new(wire.as_bytes());
        assert!(read_response(&mut reader, &mut 0, "LIST").await.is_err());
        let long = vec![b'x'; MAX_ANSWER_BYTES + 10];
        let mut reader = BufReader::new(&long[..]);
        assert!(read_response(&mut reader, &mut 0, "LIST").await.is_err());
    }

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_length(b"* LIST () \".\" {12}\r\n"), Some(12));
        assert_eq!(literal_length(b"* LIST () \".\" {12+}\r\n"), Some(12));
        assert_eq!(literal_length(b"* LIST () \".\" INBOX\r\n"), None);
        assert_eq!(literal_length(b"* OK {x}\r\n"), None);
    }
}
