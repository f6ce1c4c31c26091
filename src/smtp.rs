//! SMTP submission: STARTTLS, implicit TLS or a plain local relay; password or XOAUTH2;
//! a small pool of reused connections. Failures are sorted into transient (try again
//! later) and permanent (record and report, never retry).
//!
//! The SMTP dialogue is lettre's (`AsyncSmtpConnection`); the sockets are ours, opened
//! with `TCP_NODELAY`. lettre 0.11.23 leaves Nagle's algorithm on, and since it writes
//! the end-of-data dot in a write of its own, every message then waits for the
//! server's delayed ACK: about 40 ms a message (measured here: 50 ms with lettre's own
//! transport, 2–3 ms with ours; fixed upstream in lettre PR #1159, not yet released).

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::Address;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::config::{Auth, SmtpConfig, TlsMode};
use crate::secret::{SecretError, SecretSource};

/// One SMTP conversation may take this long before it counts as a transient failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// A pooled connection idle longer than this is checked with NOOP before reuse.
const CHECK_AFTER: Duration = Duration::from_secs(5);
/// A pooled connection idle longer than this is dropped (servers close idle sessions).
const IDLE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("SMTP failed for now: {0}")]
    Transient(String),
    #[error("SMTP refused the message: {0}")]
    Permanent(String),
    /// A refusal that means the mailbox's sending quota is used up for now (Exchange
    /// Online answers it with a 5xx): wait for the window to pass, never give up.
    #[error("SMTP quota used up for now: {0}")]
    Quota(String),
}

/// The replies that mean "over the sending quota, wait", though they are 5xx: Exchange
/// Online's `554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException`
/// (message or recipient rate), `5.1.90` (the daily recipient limit), and `5.7.232` /
/// `5.7.233` (the tenant's daily limit for external recipients). Only these: every
/// other 5xx stays permanent.
static QUOTA_REPLIES: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)SubmissionQuotaExceededException|\b5\.1\.90\b|\b5\.7\.23[23]\b")
        .expect("valid pattern")
});

/// Exchange Online's answer to any SMTP login, OAuth included, in a tenant that turned
/// SMTP AUTH off: `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is
/// disabled for the Tenant` (as many public reports quote it).
static SMTP_AUTH_OFF: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b5\.7\.139\b|SmtpClientAuthentication is disabled")
        .expect("valid pattern")
});

/// What a refused login says: for a Microsoft 365 tenant with SMTP AUTH off, the two
/// ways out; otherwise which settings to check.
pub fn login_refused(host: &str, user: &str, reply: &str) -> String {
    if SMTP_AUTH_OFF.is_match(reply) {
        format!(
            "login to {host} refused: this Microsoft 365 tenant has SMTP AUTH turned off ({reply}). \
             Two ways out: enable SMTP AUTH for this one mailbox in Exchange Online PowerShell \
             (Set-CASMailbox -Identity {user} -SmtpClientAuthenticationDisabled $false; it takes \
             effect within an hour), or set [reply] mode = \"draft\" (replies become drafts in the \
             mailbox, which needs IMAP only) until sending works"
        )
    } else {
        format!(
            "login to {host} refused or failed ({reply}); check [smtp] user and password or oauth2_token"
        )
    }
}

/// A permanent refusal, unless its words are one of [`QUOTA_REPLIES`].
pub fn refusal(reason: String) -> SendError {
    if QUOTA_REPLIES.is_match(&reason) {
        SendError::Quota(reason)
    } else {
        SendError::Permanent(reason)
    }
}

/// Where the outbox hands messages over: the SMTP server, or an in-process stub in the
/// unit tests of the outbox's retry, pause and give-up rules (the real server is tested
/// end to end).
pub trait Transport {
    /// Submits one complete message to `to` (several comma-separated).
    fn send(
        &self,
        from: &str,
        to: &str,
        raw: &[u8],
    ) -> impl std::future::Future<Output = Result<(), SendError>>;
}

impl Transport for SmtpSender {
    async fn send(&self, from: &str, to: &str, raw: &[u8]) -> Result<(), SendError> {
        self.submit(from, to, raw).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("[smtp] ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("[smtp] TLS setup for {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// What a connection needs, read once at start.
struct Endpoint {
    host: String,
    port: u16,
    tls: TlsMode,
    /// For STARTTLS (lettre upgrades the socket itself).
    starttls: Option<TlsParameters>,
    /// For implicit TLS (we wrap the socket before the greeting).
    implicit: Option<Arc<rustls::ClientConfig>>,
    login: Option<Login>,
    hello: ClientId,
}

/// How to log in. The secret is read again for every new connection: OAuth2 tokens
/// expire within the hour (a token read once at start would lock the daemon out of
/// SMTP after that), and a rotated password file takes effect without a restart.
struct Login {
    user: String,
    source: SecretSource,
    what: &'static str,
    mechanisms: Vec<Mechanism>,
}

impl Login {
    /// The credentials as of now.
    async fn credentials(&self) -> Result<Credentials, SecretError> {
        let secret = self.source.read_async(self.what).await?;
        Ok(Credentials::new(
            self.user.clone(),
            secret.expose().to_string(),
        ))
    }
}

/// A pooled SMTP client; clones share the pool.
#[derive(Clone)]
pub struct SmtpSender {
    endpoint: Arc<Endpoint>,
    idle: Arc<Mutex<Vec<(AsyncSmtpConnection, Instant)>>>,
    max_idle: usize,
}

impl SmtpSender {
    pub fn new(cfg: &SmtpConfig) -> Result<SmtpSender, SmtpSetupError> {
        let tls_err = |reason: String| SmtpSetupError::Tls {
            host: cfg.host.clone(),
            reason,
        };
        let (starttls, implicit) = match cfg.tls {
            TlsMode::None => (None, None),
            TlsMode::Starttls => {
                let mut b = TlsParameters::builder(cfg.host.clone());
                if let Some(path) = &cfg.ca_file {
                    let ca_err = |reason: String| SmtpSetupError::CaFile {
                        path: path.display().to_string(),
                        reason,
                    };
                    let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
                    b = b.add_root_certificate(
                        Certificate::from_pem(&pem).map_err(|e| ca_err(e.to_string()))?,
                    );
                }
                (Some(b.build().map_err(|e| tls_err(e.to_string()))?), None)
            }
            TlsMode::Implicit => {
                let config = crate::tls::client_config(cfg.ca_file.as_deref(), &cfg.host)
                    .map_err(|e| tls_err(e.to_string()))?;
                (None, Some(Arc::new(config)))
            }
        };
        let login = match &cfg.login {
            None => None,
            Some((user, auth)) => {
                let (source, what, mechanisms) = match auth {
                    Auth::Password(s) => {
                        (s, "SMTP password", vec![Mechanism::Plain, Mechanism::Login])
                    }
                    Auth::OAuth2(s) => (s, "SMTP OAuth2 token", vec![Mechanism::Xoauth2]),
                };
                // Read once now so that a missing secret stops the start with a clear
                // error rather than holding every reply back later.
                source.read(what)?;
                Some(Login {
                    user: user.clone(),
                    source: source.clone(),
                    what,
                    mechanisms,
                })
            }
        };
        Ok(SmtpSender {
            endpoint: Arc::new(Endpoint {
                host: cfg.host.clone(),
                port: cfg.port,
                tls: cfg.tls,
                starttls,
                implicit,
                login,
                hello: ClientId::default(),
            }),
            idle: Arc::new(Mutex::new(Vec::new())),
            max_idle: cfg.connections.max(1) as usize,
        })
    }

    fn no_answer(&self) -> SendError {
        SendError::Transient(format!(
            "no answer from {}:{} within {}s",
            self.endpoint.host,
            self.endpoint.port,
            SMTP_TIMEOUT.as_secs()
        ))
    }

    /// Connects, says hello, upgrades to TLS and logs in as a send would, then quits:
    /// the configuration works, and no mail is sent.
    pub async fn check(&self) -> Result<(), SendError> {
        let attempt = async {
            let mut conn = self.connect().await?;
            let _ = conn.quit().await;
            Ok(())
        };
        match tokio::time::timeout(SMTP_TIMEOUT, attempt).await {
            Ok(result) => result,
            Err(_) => Err(self.no_answer()),
        }
    }

    /// Submits one complete message.
    pub async fn send(&self, from: &str, to: &str, raw: &[u8]) -> Result<(), SendError> {
        self.submit(from, to, raw).await
    }

    async fn submit(&self, from: &str, to: &str, raw: &[u8]) -> Result<(), SendError> {
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|e| SendError::Permanent(format!("address {a}: {e}")))
        };
        // Several recipients (the staff digest) come comma-separated.
        let recipients = to
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(parse(from)?), recipients)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        match tokio::time::timeout(SMTP_TIMEOUT, self.send_inner(&envelope, raw)).await {
            Ok(result) => result,
            Err(_) => Err(self.no_answer()),
        }
    }

    async fn send_inner(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), SendError> {
        let mut conn = match self.checkout().await {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        match conn.send(envelope, raw).await {
            Ok(_) => {
                self.checkin(conn);
                Ok(())
            }
            Err(e) => {
                conn.abort().await;
                if e.is_permanent() {
                    Err(refusal(e.to_string()))
                } else {
                    Err(SendError::Transient(e.to_string()))
                }
            }
        }
    }

    /// A pooled connection that still answers, if any.
    async fn checkout(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.idle.lock().expect("pool lock").pop()?;
            let idle = since.elapsed();
            if idle > IDLE_LIMIT || conn.has_broken() {
                conn.abort().await;
                continue;
            }
            if idle < CHECK_AFTER || conn.test_connected().await {
                return Some(conn);
            }
            conn.abort().await;
        }
    }

    fn checkin(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < self.max_idle {
            idle.push((conn, Instant::now()));
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let s = &self.endpoint;
        let transient = |what: &str, e: &dyn fmt::Display| {
            SendError::Transient(format!("{what} {}:{}: {e}", s.host, s.port))
        };
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| transient("cannot connect to", &e))?;
        tcp.set_nodelay(true)
            .map_err(|e| transient("socket option for", &e))?;
        let stream: Box<dyn AsyncTokioStream> = match &s.implicit {
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(s.host.clone())
                    .map_err(|e| SendError::Permanent(format!("[smtp] host {}: {e}", s.host)))?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| transient("TLS with", &e))?;
                Box::new(TlsSocket(tls))
            }
            None => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &s.hello)
            .await
            .map_err(|e| transient("greeting from", &e))?;
        if s.tls == TlsMode::Starttls {
            let params = s.starttls.clone().expect("STARTTLS parameters prepared");
            conn.starttls(params, &s.hello)
                .await
                .map_err(|e| transient("STARTTLS with", &e))?;
        }
        if let Some(login) = &s.login {
            // A refused login or an unreadable secret is a configuration problem, not
            // the reply's: the reply waits (transient) until someone fixes [smtp].
            let credentials = login
                .credentials()
                .await
                .map_err(|e| SendError::Transient(format!("cannot log in to {}: {e}", s.host)))?;
            conn.auth(&login.mechanisms, &credentials)
                .await
                .map_err(|e| {
                    // A token the daemon fetched itself is fetched anew next time.
                    login.source.refused();
                    SendError::Transient(login_refused(&s.host, &login.user, &e.to_string()))
                })?;
        }
        Ok(conn)
    }
}

/// A TLS socket in the shape lettre takes.
struct TlsSocket(tokio_rustls::client::TlsStream<TcpStream>);

impl fmt::Debug for TlsSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsSocket")
    }
}

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for TlsSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::login_refused;

    #[test]
    fn a_tenant_with_smtp_auth_off_is_told_the_two_ways_out() {
        let reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.";
        let said = login_refused("smtp.office365.com", "servicii@egov.md", reply);
        assert!(said.contains("SMTP AUTH turned off"), "{said}");
        assert!(
            said.contains("Set-CASMailbox -Identity servicii@egov.md -SmtpClientAuthenticationDisabled $false"),
            "{said}"
        );
        assert!(said.contains("mode = \"draft\""), "{said}");
        let other = login_refused("h", "u", "535 5.7.8 Error: authentication failed");
        assert!(other.contains("check [smtp] user and password"), "{other}");
        assert!(!other.contains("Set-CASMailbox"), "{other}");
    }
}
