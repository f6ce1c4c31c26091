//! IMAP: connect (implicit TLS or STARTTLS, password or XOAUTH2), select, list UIDs,
//! fetch, move, append, and IDLE. Thin glue from async-imap's wire types to what the
//! daemon needs; it decides nothing. Folders as wholes are in `folders.rs`; where the
//! server keeps them (namespace, special use) in `layout.rs` (pure) and
//! `discovery.rs` (asking).

mod discovery;
mod error;
mod folders;
mod layout;
mod ops;
#[cfg(test)]
pub mod stub;
mod uids;

pub use error::MailboxError;
pub use layout::{Choice, Layout};
pub use ops::MailboxOps;
pub use uids::uid_set;

use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;

use crate::config::{Auth, ImapConfig, TlsMode};
use crate::record::MessageId;

type ImapStream = tokio_rustls::client::TlsStream<TcpStream>;
type Session = async_imap::Session<ImapStream>;

/// Connecting and greeting, at most this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Fetching whole messages (or appending one) may move tens of megabytes on a slow
/// line: it gets this many times the command deadline. Every command has a deadline:
/// a half-open connection (a server or a middlebox gone without closing it) would
/// otherwise hang a scan forever.
const TRANSFER_FACTOR: u32 = 5;
/// TCP keepalive: the kernel probes an idle connection after this long, so a dead
/// peer is noticed during a long IDLE too.
const KEEPALIVE_AFTER: Duration = Duration::from_secs(60);
const KEEPALIVE_EVERY: Duration = Duration::from_secs(20);

/// `fut`, or [`MailboxError::Deadline`] after `limit`.
async fn within<T>(
    limit: Duration,
    command: &'static str,
    fut: impl std::future::Future<Output = Result<T, MailboxError>>,
) -> Result<T, MailboxError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| MailboxError::Deadline {
            command,
            seconds: limit.as_secs(),
        })?
}

/// Messages fetched per FETCH command.
pub const FETCH_BATCH: usize = 64;

/// What of a message to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Whole,
    /// Only the header (a message over the size limit).
    Header,
}

/// A login that failed: refused by the server (NO/BAD: wrong user, password or token)
/// or cut off (a server restarting closes connections mid-login, which waiting fixes).
/// `NO [UNAVAILABLE]` (RFC 5530) says the server cannot check credentials just now.
fn login_error(user: &str, e: async_imap::error::Error) -> MailboxError {
    use async_imap::error::Error;
    match e {
        Error::No(reason) | Error::Bad(reason) if !reason.contains("[UNAVAILABLE]") => {
            MailboxError::Login {
                user: user.to_string(),
                reason: error::server_words(&reason),
            }
        }
        other => MailboxError::Protocol(other),
    }
}

/// XOAUTH2 (RFC 7628 style) initial response for IMAP.
struct XOAuth2 {
    user: String,
    token: String,
}

impl async_imap::Authenticator for &XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> Self::Response {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

/// What ended an IDLE wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    NewData,
    Timeout,
    Shutdown,
    /// Someone has work for the daemon (a staff command, through the control socket).
    Poked,
}

/// A logged-in IMAP session.
pub struct Mailbox {
    session: Option<Session>,
    pub idle_supported: bool,
    pub move_supported: bool,
    /// UID EXPUNGE (RFC 4315): without it, and without MOVE, moved mail is left
    /// flagged `\Deleted` in the inbox, since a plain EXPUNGE would also remove what
    /// staff flagged.
    pub uidplus_supported: bool,
    /// NAMESPACE (RFC 2342), SPECIAL-USE (RFC 6154) and LIST-EXTENDED (RFC 5258): what
    /// [`Mailbox::layout`] may ask.
    namespace_supported: bool,
    special_use_supported: bool,
    list_extended_supported: bool,
    /// New mail announced since the last SELECT.
    news: bool,
    /// How long a command may take ([`crate::config::ImapConfig::command_timeout`]).
    deadline: Duration,
}

async fn tls_wrap(cfg: &ImapConfig, tcp: TcpStream) -> Result<ImapStream, MailboxError> {
    let tls_err = |reason: String| MailboxError::Tls {
        host: cfg.host.clone(),
        reason,
    };
    let config = crate::tls::client_config(cfg.ca_file.as_deref(), &cfg.host)
        .map_err(|e| tls_err(e.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(cfg.host.clone())
        .map_err(|e| tls_err(e.to_string()))?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| MailboxError::Connect {
            host: cfg.host.clone(),
            port: cfg.port,
            source: e,
        })
}

impl Mailbox {
    /// Connects, upgrades to TLS, logs in and reads capabilities.
    pub async fn connect(cfg: &ImapConfig) -> Result<Mailbox, MailboxError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::connect_inner(cfg))
            .await
            .map_err(|_| MailboxError::Timeout)?
    }

    async fn connect_inner(cfg: &ImapConfig) -> Result<Mailbox, MailboxError> {
        let connect_err = |source| MailboxError::Connect {
            host: cfg.host.clone(),
            port: cfg.port,
            source,
        };
        let tcp = TcpStream::connect((cfg.host.as_str(), cfg.port))
            .await
            .map_err(connect_err)?;
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(KEEPALIVE_AFTER)
            .with_interval(KEEPALIVE_EVERY);
        socket2::SockRef::from(&tcp)
            .set_tcp_keepalive(&keepalive)
            .map_err(connect_err)?;
        let client = match cfg.tls {
            TlsMode::Implicit | TlsMode::None => {
                let mut client = async_imap::Client::new(tls_wrap(cfg, tcp).await?);
                client.read_response().await.map_err(connect_err)?;
                client
            }
            TlsMode::Starttls => {
                let mut plain = async_imap::Client::new(tcp);
                plain.read_response().await.map_err(connect_err)?;
                plain.run_command_and_check_ok("STARTTLS", None).await?;
                async_imap::Client::new(tls_wrap(cfg, plain.into_inner()).await?)
            }
        };
        let mut session = match &cfg.auth {
            Auth::Password(source) => {
                let password = source.read_async("IMAP password").await?;
                client
                    .login(&cfg.user, password.expose())
                    .await
                    .map_err(|(e, _)| login_error(&cfg.user, e))?
            }
            Auth::OAuth2(source) => {
                let token = source.read_async("IMAP OAuth2 token").await?;
                let auth = XOAuth2 {
                    user: cfg.user.clone(),
                    token: token.expose().to_string(),
                };
                client
                    .authenticate("XOAUTH2", &auth)
                    .await
                    .map_err(|(e, _)| {
                        // A token the daemon fetched itself is fetched anew next time.
                        source.refused();
                        login_error(&cfg.user, e)
                    })?
            }
        };
        let caps = session.capabilities().await?;
        Ok(Mailbox {
            idle_supported: caps.has_str("IDLE"),
            move_supported: caps.has_str("MOVE"),
            uidplus_supported: caps.has_str("UIDPLUS"),
            namespace_supported: caps.has_str("NAMESPACE"),
            special_use_supported: caps.has_str("SPECIAL-USE"),
            list_extended_supported: caps.has_str("LIST-EXTENDED"),
            news: false,
            deadline: cfg.command_timeout,
            session: Some(session),
        })
    }

    fn session(&mut self) -> &mut Session {
        // The session is only taken out during IDLE, which puts it back or fails.
        self.session.as_mut().expect("session present outside IDLE")
    }

    /// Reads what the server said on the side; notes new mail (EXISTS, RECENT) so that
    /// a message arriving between a scan and the next IDLE is not left waiting.
    fn drain_unsolicited(&mut self) {
        let session = self.session.as_mut().expect("session present");
        while let Ok(response) = session.unsolicited_responses.try_recv() {
            if matches!(
                response,
                async_imap::types::UnsolicitedResponse::Exists(_)
                    | async_imap::types::UnsolicitedResponse::Recent(_)
            ) {
                self.news = true;
            }
        }
    }

    /// Whether the server announced new mail since the last [`Mailbox::select`].
    pub fn has_news(&self) -> bool {
        self.news
    }

    /// Selects a folder; returns its UIDVALIDITY.
    pub async fn select(&mut self, folder: &str) -> Result<u32, MailboxError> {
        within(self.deadline, "SELECT", async {
            let mailbox = self
                .session()
                .select(folder)
                .await
                .map_err(|e| MailboxError::from(e).about_folder("SELECT", folder))?;
            self.drain_unsolicited();
            // SELECT itself reports EXISTS; only what comes after it is news.
            self.news = false;
            Ok(mailbox.uid_validity.unwrap_or(0))
        })
        .await
    }

    /// Every UID in the selected folder not flagged `\Deleted`, ascending.
    pub async fn uids(&mut self) -> Result<Vec<u32>, MailboxError> {
        self.uids_since(None).await
    }

    /// UIDs of the selected folder's messages that arrived on `day` or later (all of
    /// them for `None`), ascending. IMAP's SINCE counts whole days. Messages flagged
    /// `\Deleted` are left out: staff deleted them, or we moved them on a server
    /// without MOVE and UIDPLUS.
    pub async fn uids_since(&mut self, day: Option<time::Date>) -> Result<Vec<u32>, MailboxError> {
        within(self.deadline, "SEARCH", async {
            let query = match day {
                Some(d) => format!(
                    "UNDELETED SINCE {}-{}-{}",
                    d.day(),
                    &format!("{}", d.month())[..3],
                    d.year()
                ),
                None => "UNDELETED".to_string(),
            };
            let mut uids: Vec<u32> = self
                .session()
                .uid_search(&query)
                .await?
                .into_iter()
                .collect();
            self.drain_unsolicited();
            uids.sort_unstable();
            Ok(uids)
        })
        .await
    }

    /// UIDs of the selected folder above `uid`, ascending (`UID n:*` names the
    /// highest UID even when it is below `n`: it is left out).
    pub async fn uids_after(&mut self, uid: u32) -> Result<Vec<u32>, MailboxError> {
        within(self.deadline, "SEARCH", async {
            let query = format!("UID {}:*", uid.saturating_add(1));
            let mut uids: Vec<u32> = self
                .session()
                .uid_search(&query)
                .await?
                .into_iter()
                .filter(|&u| u > uid)
                .collect();
            self.drain_unsolicited();
            uids.sort_unstable();
            Ok(uids)
        })
        .await
    }

    /// `(uid, size, arrival as Unix seconds)` of the given messages; the arrival is the
    /// server's INTERNALDATE, when it gives one.
    pub async fn sizes(
        &mut self,
        uids: &[u32],
    ) -> Result<Vec<(u32, u64, Option<i64>)>, MailboxError> {
        within(self.deadline, "FETCH (sizes)", async {
            let mut out = Vec::new();
            for chunk in uids.chunks(512) {
                let fetches: Vec<_> = self
                    .session()
                    .uid_fetch(uid_set(chunk), "(UID RFC822.SIZE INTERNALDATE)")
                    .await?
                    .try_collect()
                    .await?;
                out.extend(fetches.iter().filter_map(|f| {
                    Some((
                        f.uid?,
                        u64::from(f.size?),
                        f.internal_date().map(|d| d.timestamp()),
                    ))
                }));
            }
            self.drain_unsolicited();
            Ok(out)
        })
        .await
    }

    /// Whole messages (or only their headers), without setting `\Seen`.
    pub async fn fetch(
        &mut self,
        uids: &[u32],
        part: Part,
    ) -> Result<Vec<(u32, Vec<u8>)>, MailboxError> {
        let headers_only = part == Part::Header;
        within(self.deadline * TRANSFER_FACTOR, "FETCH", async {
            let query = if headers_only {
                "(UID BODY.PEEK[HEADER])"
            } else {
                "(UID BODY.PEEK[])"
            };
            let fetches: Vec<_> = self
                .session()
                .uid_fetch(uid_set(uids), query)
                .await?
                .try_collect()
                .await?;
            self.drain_unsolicited();
            Ok(fetches
                .iter()
                .filter_map(|f| {
                    let bytes = if headers_only { f.header() } else { f.body() };
                    Some((f.uid?, bytes?.to_vec()))
                })
                .collect())
        })
        .await
    }

    /// Moves messages of the selected folder to `folder`.
    pub async fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<(), MailboxError> {
        within(self.deadline, "MOVE", async {
            if uids.is_empty() {
                return Ok(());
            }
            let set = uid_set(uids);
            if self.move_supported {
                self.session().uid_mv(&set, folder).await?;
            } else {
                self.session().uid_copy(&set, folder).await?;
                let _: Vec<_> = self
                    .session()
                    .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .await?
                    .try_collect()
                    .await?;
                if self.uidplus_supported {
                    let _: Vec<_> = self
                        .session()
                        .uid_expunge(&set)
                        .await?
                        .try_collect()
                        .await?;
                }
            }
            self.drain_unsolicited();
            Ok(())
        })
        .await
    }

    /// Appends a message to `folder` with IMAP flags like `(\Seen)`.
    pub async fn append(
        &mut self,
        folder: &str,
        flags: &str,
        raw: &[u8],
    ) -> Result<(), MailboxError> {
        within(self.deadline * TRANSFER_FACTOR, "APPEND", async {
            self.session()
                .append(folder, Some(flags), None, raw)
                .await?;
            self.drain_unsolicited();
            Ok(())
        })
        .await
    }

    /// Whether `e`, from a command on this connection, was the server refusing that
    /// command while the connection stays usable. async-imap reports a connection that
    /// closed during an APPEND the same way as a refused APPEND: a NOOP tells them apart.
    pub async fn refused(&mut self, e: &MailboxError) -> bool {
        e.is_refusal() && self.noop().await.is_ok()
    }

    /// Whether the selected folder holds a message with this Message-ID.
    pub async fn holds_message_id(&mut self, message_id: &MessageId) -> Result<bool, MailboxError> {
        Ok(!self.search_message_id(message_id).await?.is_empty())
    }

    /// The UIDs of the selected folder's messages with this Message-ID.
    async fn search_message_id(
        &mut self,
        message_id: &MessageId,
    ) -> Result<std::collections::HashSet<u32>, MailboxError> {
        within(self.deadline, "SEARCH", async {
            // A canonical Message-ID: quotes and backslashes are dropped, not escaped.
            let query = format!(
                "HEADER Message-ID \"{}\"",
                message_id.to_string().replace(['"', '\\'], "")
            );
            let found = self.session().uid_search(&query).await?;
            self.drain_unsolicited();
            Ok(found)
        })
        .await
    }

    /// The UIDs of the messages with this Message-ID in `folder` (left selected).
    pub async fn uids_with_message_id(
        &mut self,
        folder: &str,
        message_id: &MessageId,
    ) -> Result<Vec<u32>, MailboxError> {
        self.select(folder).await?;
        let mut uids: Vec<u32> = self
            .search_message_id(message_id)
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The whole message with this Message-ID in `folder` (left selected), if there.
    pub async fn fetch_by_message_id(
        &mut self,
        folder: &str,
        message_id: &MessageId,
    ) -> Result<Option<Vec<u8>>, MailboxError> {
        self.select(folder).await?;
        let Some(uid) = self.search_message_id(message_id).await?.into_iter().min() else {
            return Ok(None);
        };
        let fetched = self.fetch(&[uid], Part::Whole).await?;
        Ok(fetched.into_iter().next().map(|(_, raw)| raw))
    }

    pub async fn noop(&mut self) -> Result<(), MailboxError> {
        within(self.deadline, "NOOP", async {
            self.session().noop().await?;
            self.drain_unsolicited();
            Ok(())
        })
        .await
    }

    /// Waits in IDLE for new mail, at most `timeout`, or until shutdown is signalled.
    pub async fn idle(
        &mut self,
        timeout: Duration,
        shutdown: &mut watch::Receiver<bool>,
        poke: &tokio::sync::Notify,
    ) -> Result<Woken, MailboxError> {
        let session = self.session.take().expect("session present before IDLE");
        let mut handle = session.idle();
        within(self.deadline, "IDLE", async { Ok(handle.init().await?) }).await?;
        let woken = {
            let (wait, _stop) = handle.wait_with_timeout(timeout);
            tokio::select! {
                response = wait => match response? {
                    IdleResponse::NewData(_) => Woken::NewData,
                    IdleResponse::Timeout => Woken::Timeout,
                    IdleResponse::ManualInterrupt => Woken::Timeout,
                },
                _ = shutdown.changed() => Woken::Shutdown,
                _ = poke.notified() => Woken::Poked,
            }
        };
        self.session =
            Some(within(self.deadline, "DONE", async { Ok(handle.done().await?) }).await?);
        self.drain_unsolicited();
        Ok(woken)
    }

    pub async fn logout(mut self) {
        if let Some(mut session) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), session.logout()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_login_stops_but_a_cut_or_unavailable_one_is_retried() {
        use async_imap::error::Error;
        let refused = login_error("u", Error::No("[AUTHENTICATIONFAILED] bad".into()));
        assert!(matches!(refused, MailboxError::Login { .. }) && !refused.is_transient());
        let unavailable = login_error("u", Error::No("[UNAVAILABLE] try later".into()));
        assert!(unavailable.is_transient());
        let cut = login_error("u", Error::ConnectionLost);
        assert!(cut.is_transient());
    }
}
