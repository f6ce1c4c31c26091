//! SMTP submission with lettre: STARTTLS, implicit TLS or a plain local relay; password
//! or XOAUTH2; pooled connections. Failures are sorted into transient (try again later)
//! and permanent (record and report, never retry).

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Auth, SmtpConfig, TlsMode};
use crate::secret::SecretError;

/// One SMTP conversation may take this long before it counts as a transient failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("SMTP failed for now: {0}")]
    Transient(String),
    #[error("SMTP refused the message: {0}")]
    Permanent(String),
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

#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpSender {
    pub fn new(cfg: &SmtpConfig) -> Result<SmtpSender, SmtpSetupError> {
        let mut tls_builder = TlsParameters::builder(cfg.host.clone());
        if let Some(path) = &cfg.ca_file {
            let ca_err = |reason: String| SmtpSetupError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
            tls_builder = tls_builder.add_root_certificate(
                Certificate::from_pem(&pem).map_err(|e| ca_err(e.to_string()))?,
            );
        }
        let tls_err = |e: lettre::transport::smtp::Error| SmtpSetupError::Tls {
            host: cfg.host.clone(),
            reason: e.to_string(),
        };
        let tls = match cfg.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls_builder.build().map_err(tls_err)?),
            TlsMode::Implicit => Tls::Wrapper(tls_builder.build().map_err(tls_err)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(cfg.connections));
        if let Some((user, auth)) = &cfg.login {
            let (secret, mechanisms) = match auth {
                Auth::Password(s) => (
                    s.read("SMTP password")?,
                    vec![Mechanism::Plain, Mechanism::Login],
                ),
                Auth::OAuth2(s) => (s.read("SMTP OAuth2 token")?, vec![Mechanism::Xoauth2]),
            };
            builder = builder
                .credentials(Credentials::new(user.clone(), secret.expose().to_string()))
                .authentication(mechanisms);
        }
        Ok(SmtpSender {
            transport: builder.build(),
        })
    }

    /// Submits one complete message.
    pub async fn send(&self, from: &str, to: &str, raw: &[u8]) -> Result<(), SendError> {
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|e| SendError::Permanent(format!("address {a}: {e}")))
        };
        let envelope = Envelope::new(Some(parse(from)?), vec![parse(to)?])
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        match self.transport.send_raw(&envelope, raw).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}
