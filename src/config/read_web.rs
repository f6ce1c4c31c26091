//! `[web]`: the staff console (see [`crate::web`]) and its sign-in provider.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::read::Reading;
use super::ConfigError;
use crate::intake::Language;
use crate::secret::SecretSource;

/// The console, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// How staff's browsers reach it (scheme, host, port; no path): the sign-in's
    /// redirect address and the origin every change must come from.
    pub public_url: String,
    /// Reverse proxies whose `X-Forwarded-For` is believed (else the peer's address).
    pub trusted_proxies: Vec<IpAddr>,
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: Duration,
    /// The console's language.
    pub language: Language,
    /// TLS served by the daemon itself: certificate chain and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    pub oidc: OidcConfig,
}

impl WebConfig {
    /// Cookies carry `Secure` when browsers reach the console over HTTPS.
    pub fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The agency's OpenID Connect provider (Entra ID in production).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer; its `/.well-known/openid-configuration` is read at the first sign-in.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<SecretSource>,
    /// CA certificates (PEM) for the provider, beside the system's.
    pub ca_file: Option<PathBuf>,
    /// The ID token claim that carries roles (Entra's app roles: `roles`).
    pub roles_claim: String,
    /// Values of that claim that may act.
    pub staff_roles: Vec<String>,
    /// Values of that claim that may read.
    pub viewer_roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    /// Address to listen on (default "127.0.0.1:8440").
    listen: Option<String>,
    /// How browsers reach the console, e.g. "https://intake.egov.md" (default
    /// "http://" + listen).
    public_url: Option<String>,
    /// Addresses of reverse proxies whose X-Forwarded-For is believed.
    #[serde(default)]
    trusted_proxies: Vec<String>,
    /// Minutes a session may stay unused (default 30).
    idle_minutes: Option<u64>,
    /// Hours a session lasts at most (default 10).
    absolute_hours: Option<u64>,
    /// "ro" (default), "en" or "ru".
    language: Option<String>,
    /// TLS by the daemon: certificate chain and key, PEM files (both or neither).
    tls_certificate: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    oidc: RawOidc,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    /// e.g. "https://login.microsoftonline.com/<tenant>/v2.0".
    issuer: String,
    client_id: String,
    client_secret: Option<SecretSource>,
    ca_file: Option<PathBuf>,
    /// Default "roles".
    roles_claim: Option<String>,
    /// Default ["Staff"].
    staff_roles: Option<Vec<String>>,
    /// Default ["Viewer"].
    viewer_roles: Option<Vec<String>>,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8440";

impl Reading<'_> {
    pub(super) fn web(&self, w: RawWeb, staff: Language) -> Result<WebConfig, ConfigError> {
        let listen_text = w.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            self.invalid(format!(
                "[web] listen = {listen_text:?} is not an address and port such as \"127.0.0.1:8440\""
            ))
        })?;
        let tls =
            match (&w.tls_certificate, &w.tls_key) {
                (None, None) => None,
                (Some(_), Some(_)) => Some((
                    self.file("[web] tls_certificate", &w.tls_certificate)?
                        .expect("named"),
                    self.file("[web] tls_key", &w.tls_key)?.expect("named"),
                )),
                _ => return Err(self.invalid(
                    "[web] needs tls_certificate and tls_key together (or neither, behind a proxy)"
                        .into(),
                )),
            };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = w
            .public_url
            .unwrap_or_else(|| format!("{scheme}://{listen}"))
            .trim_end_matches('/')
            .to_string();
        self.check_public_url(&public_url)?;
        if !listen.ip().is_loopback() && tls.is_none() && w.trusted_proxies.is_empty() {
            return Err(self.invalid(format!(
                "[web] listen = \"{listen}\" is reachable from other hosts without TLS: set tls_certificate and tls_key, or listen on loopback behind the agency's proxy (trusted_proxies)"
            )));
        }
        let trusted_proxies = w
            .trusted_proxies
            .iter()
            .map(|p| {
                p.parse().map_err(|_| {
                    self.invalid(format!("[web] trusted_proxies: {p:?} is not an IP address"))
                })
            })
            .collect::<Result<_, _>>()?;
        let language = self.language("[web] language", w.language.as_deref(), staff)?;
        let o = w.oidc;
        let issuer = o.issuer.trim_end_matches('/').to_string();
        let issuer_loopback =
            issuer.starts_with("http://127.0.0.1") || issuer.starts_with("http://localhost");
        if !(issuer.starts_with("https://") || issuer_loopback) {
            return Err(self.invalid(format!(
                "[web.oidc] issuer = {issuer:?}: the provider is reached over HTTPS (plain http only on loopback)"
            )));
        }
        let minutes = w.idle_minutes.unwrap_or(30);
        let hours = w.absolute_hours.unwrap_or(10);
        if minutes == 0 || hours == 0 {
            return Err(self.invalid("[web] idle_minutes and absolute_hours are at least 1".into()));
        }
        Ok(WebConfig {
            listen,
            public_url,
            trusted_proxies,
            idle: Duration::from_secs(minutes * 60),
            absolute: Duration::from_secs(hours * 3600),
            language,
            tls,
            oidc: OidcConfig {
                issuer,
                client_id: o.client_id,
                client_secret: o.client_secret,
                ca_file: self.file("[web.oidc] ca_file", &o.ca_file)?,
                roles_claim: o.roles_claim.unwrap_or_else(|| "roles".into()),
                staff_roles: o.staff_roles.unwrap_or_else(|| vec!["Staff".into()]),
                viewer_roles: o.viewer_roles.unwrap_or_else(|| vec!["Viewer".into()]),
            },
        })
    }

    fn check_public_url(&self, public_url: &str) -> Result<(), ConfigError> {
        let plain_loopback = public_url.starts_with("http://")
            && (public_url.starts_with("http://127.0.0.1")
                || public_url.starts_with("http://localhost")
                || public_url.starts_with("http://[::1]"));
        if !(public_url.starts_with("https://") || plain_loopback) || public_url.contains(' ') {
            return Err(self.invalid(format!(
                "[web] public_url = {public_url:?}: staff sign in over HTTPS (plain http only on loopback); write the https address browsers use"
            )));
        }
        Ok(())
    }

    /// A language setting: `key = value`, or `default` when it is not set.
    pub(super) fn language(
        &self,
        key: &str,
        value: Option<&str>,
        default: Language,
    ) -> Result<Language, ConfigError> {
        Ok(match value {
            None => default,
            Some("ro") => Language::Ro,
            Some("en") => Language::En,
            Some("ru") => Language::Ru,
            Some(other) => {
                return Err(
                    self.invalid(format!("{key} = {other:?}: write \"ro\", \"en\" or \"ru\""))
                )
            }
        })
    }
}
