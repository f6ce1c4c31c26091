//! App-only OAuth 2.0 (`[oauth2]`): the daemon fetches its own bearer tokens by the
//! client-credentials grant, as Entra ID issues them to a daemon for Exchange Online
//! (`IMAP.AccessAsApp`, `SMTP.SendAsApp`), with a client secret or, as Entra prefers, a
//! certificate's signed JWT assertion (RFC 7523, `x5t#S256` in its header). Tokens live
//! in memory only, are renewed before they expire and after a refused login, and are
//! never logged. At the edge: HTTPS to the token URL (plain HTTP only to loopback).

mod assertion;
pub use assertion::CredentialFileError;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::secret::{Secret, SecretError, SecretSource};

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// The token endpoint has this long to answer.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of a token endpoint's answer read at most.
const MAX_ANSWER_BYTES: u64 = 256 * 1024;
/// Microsoft's scope for Exchange Online's IMAP and SMTP.
pub const DEFAULT_SCOPE: &str = "https://outlook.office365.com/.default";

/// How the application proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A client secret, and the day it expires when the config says (Entra shows it;
    /// nothing can ask it).
    Secret {
        secret: SecretSource,
        expires: Option<time::Date>,
    },
    /// A certificate (PEM or DER) and its private key (PKCS#8 PEM), files.
    Certificate {
        certificate: std::path::PathBuf,
        key: std::path::PathBuf,
    },
}

/// `[oauth2]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    pub token_url: String,
    pub client_id: String,
    pub credential: Credential,
    pub scope: String,
    /// CA certificates for the token URL beside the public roots.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Why no token could be had, in words that say what to fix.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token service {url} cannot be reached ({why}); mail waits until it can")]
    Unreachable { url: String, why: String },
    #[error("the token service {url} refused: {what}")]
    Refused { url: String, what: String },
    #[error("the token service {url} answered something that is not a token ({0})", url = .1)]
    Unreadable(String, String),
    #[error("[oauth2] client credential: {0}")]
    Credential(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// A token and when to renew it.
#[derive(Clone)]
struct Held {
    token: String,
    renew_at: Instant,
}

/// The application's tokens, shared by every IMAP and SMTP connection.
pub struct AppToken {
    config: AppConfig,
    held: Mutex<Option<Held>>,
}

impl std::fmt::Debug for AppToken {
    // The token itself never shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppToken")
            .field("token_url", &self.config.token_url)
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

impl AppToken {
    pub fn new(config: AppConfig) -> Arc<AppToken> {
        Arc::new(AppToken {
            config,
            held: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// A current token: the one held, or a new one when it is close to expiry.
    /// Blocking (HTTP).
    pub fn token(&self) -> Result<Secret, TokenError> {
        if let Some(held) = self.held.lock().expect("token lock").clone() {
            if Instant::now() < held.renew_at {
                return Ok(Secret::new(held.token));
            }
        }
        let (token, lifetime) = self.fetch()?;
        let renew_in = lifetime.saturating_sub(RENEW_BEFORE).max(lifetime / 2);
        *self.held.lock().expect("token lock") = Some(Held {
            token: token.clone(),
            renew_at: Instant::now() + renew_in,
        });
        Ok(Secret::new(token))
    }

    /// Forgets the token held (a server refused it): the next connection fetches one.
    pub fn invalidate(&self) {
        *self.held.lock().expect("token lock") = None;
    }

    /// One client-credentials request: the token and its lifetime.
    fn fetch(&self) -> Result<(String, Duration), TokenError> {
        let c = &self.config;
        let form = form(c)?;
        let agent = agent(c)?;
        let url = &c.token_url;
        let mut answer = agent
            .post(url)
            .send_form(form.iter().map(|(k, v)| (*k, v.as_str())))
            .map_err(|e| TokenError::Unreachable {
                url: url.clone(),
                why: e.to_string(),
            })?;
        let status = answer.status().as_u16();
        let body = answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| TokenError::Unreachable {
                url: url.clone(),
                why: e.to_string(),
            })?;
        let json: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| TokenError::Unreadable(format!("HTTP {status}: {e}"), url.clone()))?;
        if status != 200 {
            return Err(TokenError::Refused {
                url: url.clone(),
                what: explain(&json, status),
            });
        }
        let token = json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| TokenError::Unreadable("no access_token".into(), url.clone()))?;
        let lifetime = Duration::from_secs(json["expires_in"].as_u64().unwrap_or(3600).max(10));
        tracing::info!(
            client = %c.client_id,
            url = %url,
            valid_seconds = lifetime.as_secs(),
            "app-only OAuth2 token fetched"
        );
        Ok((token.to_string(), lifetime))
    }
}

/// The token request's form: the grant, the client, and its secret or signed assertion.
fn form(c: &AppConfig) -> Result<Vec<(&'static str, String)>, TokenError> {
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", c.client_id.clone()),
        ("scope", c.scope.clone()),
    ];
    match &c.credential {
        Credential::Secret { secret: source, .. } => form.push((
            "client_secret",
            source.read("[oauth2] client secret")?.expose().to_string(),
        )),
        Credential::Certificate { certificate, key } => {
            let jwt = assertion::sign(certificate, key, &c.client_id, &c.token_url)
                .map_err(TokenError::Credential)?;
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ));
            form.push(("client_assertion", jwt));
        }
    }
    Ok(form)
}

/// An HTTP client for the token endpoint: the configured CA, a deadline, no redirects.
fn agent(c: &AppConfig) -> Result<ureq::Agent, TokenError> {
    crate::tls::https_agent(c.ca_file.as_deref(), TOKEN_TIMEOUT)
        .map_err(|e| TokenError::Credential(format!("[oauth2] ca_file: {e}")))
}

/// The provider's error answer in words that say what to fix: Entra's `AADSTS` codes
/// that mean a wrong or expired credential, a wrong client or tenant, a missing
/// consent; anything else as the provider said it.
fn explain(json: &serde_json::Value, status: u16) -> String {
    let error = json["error"].as_str().unwrap_or("error");
    let description = json["error_description"].as_str().unwrap_or("");
    let first_line = description.lines().next().unwrap_or("").trim();
    let hint = [
        ("AADSTS7000215", "the client secret is wrong: copy the secret's value (not its id) from Entra, App registrations, Certificates & secrets"),
        ("AADSTS7000222", "the client secret has expired: create a new one in Entra and update [oauth2] client_secret"),
        ("AADSTS700027", "the certificate assertion was refused: upload this certificate to the app registration, or check the key matches it"),
        ("AADSTS700016", "no application with this client_id in the tenant: check [oauth2] client_id and tenant"),
        ("AADSTS90002", "no such tenant: check [oauth2] tenant"),
        ("AADSTS65001", "the permissions are not consented: grant admin consent for IMAP.AccessAsApp and SMTP.SendAsApp"),
        ("AADSTS70011", "the scope is not valid: use scope = \"https://outlook.office365.com/.default\""),
    ]
    .iter()
    .find(|(code, _)| description.contains(code))
    .map(|(_, hint)| *hint)
    .unwrap_or(match error {
        "invalid_client" => "the client id or its credential was refused: check [oauth2] client_id and client_secret or client_certificate",
        "invalid_scope" => "the scope is not valid: check [oauth2] scope",
        "unauthorized_client" => "the application may not use the client-credentials grant",
        _ => "see the provider's words",
    });
    format!("{error} (HTTP {status}): {hint} ({first_line})")
}

/// A credential's expiry, when the daemon knows it: a certificate's, or the day
/// `[oauth2] client_secret_expires` gives for a secret (its start, UTC).
pub fn credential_expiry(
    config: &AppConfig,
) -> Result<Option<time::OffsetDateTime>, assertion::CredentialFileError> {
    match &config.credential {
        Credential::Secret { expires, .. } => Ok(expires.map(|day| day.midnight().assume_utc())),
        Credential::Certificate { certificate, .. } => {
            assertion::certificate(certificate).map(|c| Some(c.not_after))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_s_answers_say_what_to_fix() {
        let answer = serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 1"
        });
        let words = explain(&answer, 401);
        assert!(
            words.contains("client secret is wrong") && words.contains("AADSTS7000215"),
            "{words}"
        );
        assert!(
            !words.contains("Trace ID"),
            "one line of the provider's words"
        );
        let plain = explain(
            &serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"}),
            401,
        );
        assert!(plain.contains("check [oauth2] client_id"), "{plain}");
    }
}
