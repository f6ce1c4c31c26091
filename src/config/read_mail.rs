//! Reading the mail sections: `[imap]`, `[smtp]` and the app-only `[oauth2]` they
//! may share.

use super::raw::*;
use super::*;

impl Reading<'_> {
    /// `[oauth2]`: one credential (a secret, or a certificate and its key), a token URL
    /// that is HTTPS unless it is on this machine.
    pub(super) fn oauth2(
        &self,
        o: super::raw::RawOAuth2,
    ) -> Result<std::sync::Arc<crate::secret::oauth2::AppToken>, ConfigError> {
        let token_url = match (o.tenant, o.token_url) {
            (Some(t), None) => format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                t.trim()
            ),
            (None, Some(u)) => u,
            _ => {
                return Err(self.invalid(
                    "[oauth2] needs tenant (Microsoft 365) or token_url, one of them".into(),
                ))
            }
        };
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| token_url.starts_with(p));
        if !token_url.starts_with("https://") && !loopback {
            return Err(self.invalid(format!(
                "[oauth2] token_url {token_url} is not HTTPS: the client credential would travel in clear"
            )));
        }
        let expires = o
            .client_secret_expires
            .map(|text| {
                time::Date::parse(text.trim(), time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|_| {
                        self.invalid(format!(
                            "[oauth2] client_secret_expires = \"{text}\" is not a date; write it like \"2027-06-30\" (Entra shows it under Certificates & secrets)"
                        ))
                    })
            })
            .transpose()?;
        if expires.is_some() && o.client_secret.is_none() {
            return Err(self.invalid(
                "[oauth2] client_secret_expires is for a client secret; a certificate's expiry is read from the certificate".into(),
            ));
        }
        let credential = match (o.client_secret, o.client_certificate, o.client_key) {
            (Some(secret), None, None) => {
                crate::secret::oauth2::Credential::Secret { secret, expires }
            }
            (None, Some(certificate), Some(key)) => {
                crate::secret::oauth2::Credential::Certificate {
                    certificate: self
                        .file("oauth2] client_certificate", &Some(certificate))?
                        .unwrap_or_default(),
                    key: self
                        .file("oauth2] client_key", &Some(key))?
                        .unwrap_or_default(),
                }
            }
            _ => return Err(self.invalid(
                "[oauth2] needs client_secret, or client_certificate with client_key (not both)"
                    .into(),
            )),
        };
        Ok(crate::secret::oauth2::AppToken::new(
            crate::secret::oauth2::AppConfig {
                token_url,
                client_id: o.client_id,
                credential,
                scope: o
                    .scope
                    .unwrap_or_else(|| crate::secret::oauth2::DEFAULT_SCOPE.to_string()),
                ca_file: self.file("oauth2] ca_file", &o.ca_file)?,
            },
        ))
    }

    pub(super) fn imap(
        &self,
        i: RawImap,
        app: Option<&std::sync::Arc<crate::secret::oauth2::AppToken>>,
    ) -> Result<ImapConfig, ConfigError> {
        let tls = i.tls.unwrap_or(TlsMode::Implicit);
        if tls == TlsMode::None {
            return Err(self.invalid("[imap] tls = \"none\" is not supported: the mailbox password would travel in clear; use implicit or starttls".into()));
        }
        let auth = auth_of("imap", i.password, i.oauth2_token)
            .map_err(|w| self.invalid(w))?
            .or_else(|| app.map(|a| Auth::OAuth2(SecretSource::App(a.clone()))))
            .ok_or_else(|| {
                self.invalid(
                    "[imap] needs password = { env = \"VAR\" } (or file/command) or oauth2_token"
                        .into(),
                )
            })?;
        let named = FoldersNamed {
            processed: i.processed_folder.is_some(),
            needs_human: i.needs_human_folder.is_some(),
            sent: i.sent_folder.is_some(),
            drafts: i.drafts_folder.is_some(),
            junk: i.junk_folder.is_some(),
        };
        let folder = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_string());
        let optional = |v: Option<String>, default: &str| {
            let v = folder(v, default);
            (!v.is_empty()).then_some(v)
        };
        Ok(ImapConfig {
            port: i
                .port
                .unwrap_or(if tls == TlsMode::Implicit { 993 } else { 143 }),
            tls,
            ca_file: self.file("imap] ca_file", &i.ca_file)?,
            host: i.host,
            user: i.user,
            auth,
            inbox: folder(i.inbox, "INBOX"),
            processed_folder: folder(i.processed_folder, "Processed"),
            needs_human_folder: optional(i.needs_human_folder, "Needs-Human"),
            sent_folder: optional(i.sent_folder, "Sent"),
            drafts_folder: folder(i.drafts_folder, "Drafts"),
            junk_folder: i.junk_folder.filter(|f| !f.is_empty()),
            idle: i.idle.unwrap_or(true),
            poll_interval: Duration::from_secs(
                i.poll_seconds.unwrap_or(DEFAULT_POLL_SECONDS).max(1),
            ),
            backlog: i.backlog.unwrap_or_default(),
            command_timeout: Duration::from_secs(i.command_timeout_seconds.unwrap_or(120).max(1)),
            named,
        })
    }

    pub(super) fn smtp(
        &self,
        s: RawSmtp,
        app: Option<&std::sync::Arc<crate::secret::oauth2::AppToken>>,
    ) -> Result<SmtpConfig, ConfigError> {
        let tls = s.tls.unwrap_or(TlsMode::Starttls);
        let auth = auth_of("smtp", s.password, s.oauth2_token)
            .map_err(|w| self.invalid(w))?
            .or_else(|| {
                // App-only access when the SMTP login is the mailbox's and names no
                // secret of its own.
                s.user
                    .as_ref()
                    .and(app)
                    .map(|a| Auth::OAuth2(SecretSource::App(a.clone())))
            });
        let login = match (s.user, auth) {
            (Some(user), Some(auth)) => Some((user, auth)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(
                    self.invalid("[smtp] user is set but no password or oauth2_token".into())
                )
            }
            (None, Some(_)) => return Err(self.invalid("[smtp] has a password but no user".into())),
        };
        Ok(SmtpConfig {
            port: s.port.unwrap_or(match tls {
                TlsMode::Implicit => 465,
                TlsMode::Starttls => 587,
                TlsMode::None => 25,
            }),
            tls,
            ca_file: self.file("smtp] ca_file", &s.ca_file)?,
            host: s.host,
            login,
            retry_base: Duration::from_secs(
                s.retry_seconds.unwrap_or(DEFAULT_RETRY_SECONDS).max(1),
            ),
            max_attempts: s.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            connections: s
                .connections
                .unwrap_or(DEFAULT_SMTP_CONNECTIONS)
                .clamp(1, 64),
            pace: crate::pace::Limits {
                per_minute: s.max_per_minute.unwrap_or(super::DEFAULT_MAX_PER_MINUTE),
                recipients_per_day: s
                    .max_recipients_per_day
                    .unwrap_or(super::DEFAULT_MAX_RECIPIENTS_PER_DAY),
                quota_pause: Duration::from_secs(
                    s.quota_pause_seconds
                        .unwrap_or(super::DEFAULT_QUOTA_PAUSE_SECONDS)
                        .max(1),
                ),
            },
        })
    }
}

pub(super) fn auth_of(
    section: &str,
    password: Option<SecretSource>,
    token: Option<SecretSource>,
) -> Result<Option<Auth>, String> {
    match (password, token) {
        (Some(_), Some(_)) => Err(format!(
            "[{section}] has both password and oauth2_token; keep one"
        )),
        (Some(p), None) => Ok(Some(Auth::Password(p))),
        (None, Some(t)) => Ok(Some(Auth::OAuth2(t))),
        (None, None) => Ok(None),
    }
}
