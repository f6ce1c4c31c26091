//! TLS of the daemon: its clients (IMAP, SMTP, HTTPS to the OAuth and OpenID Connect
//! providers) trusting the system's roots and the configured `ca_file`'s
//! certificates, and the staff console's server.

use std::sync::Arc;

use std::path::PathBuf;

use tokio_rustls::rustls;

/// What keeps a TLS client or server from being set up, naming the file to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {}: {why}", path.display())]
    Unreadable { path: PathBuf, why: String },
    #[error("{}: {why}", path.display())]
    BadCertificate { path: PathBuf, why: String },
    #[error("{}: no certificate in it", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: no private key read: {why}", path.display())]
    NoKey { path: PathBuf, why: String },
    #[error("the certificate and key do not go together: {0}")]
    KeyMismatch(String),
    #[error("{host}: {why}")]
    Protocols { host: String, why: String },
}

/// The certificates of a PEM file (a `ca_file`), or what is wrong with it.
pub fn pem_certificates(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, TlsSetupError> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsSetupError::Unreadable {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?
        .map(|cert| cert.map_err(|e| bad_certificate(path, e)))
        .collect()
}

fn bad_certificate(path: &std::path::Path, why: impl std::fmt::Display) -> TlsSetupError {
    TlsSetupError::BadCertificate {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// A TLS client configuration trusting the system's roots and `ca_file`'s, for `host`.
pub fn client_config(
    ca_file: Option<&std::path::Path>,
    host: &str,
) -> Result<rustls::ClientConfig, TlsSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        for cert in pem_certificates(path)? {
            roots.add(cert).map_err(|e| bad_certificate(path, e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Protocols {
            host: host.to_string(),
            why: e.to_string(),
        })
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// An HTTPS client for a provider's endpoints (the OAuth token endpoint, the console's
/// OpenID Connect provider): `ca_file`'s certificates when one is configured (else
/// ureq's roots), a deadline, no redirects followed, statuses read rather than failed.
pub fn https_agent(
    ca_file: Option<&std::path::Path>,
    timeout: std::time::Duration,
) -> Result<ureq::Agent, TlsSetupError> {
    let mut roots = Vec::new();
    if let Some(path) = ca_file {
        for cert in pem_certificates(path)? {
            roots.push(ureq::tls::Certificate::from_der(cert.as_ref()).to_owned());
        }
    }
    let tls = if roots.is_empty() {
        ureq::tls::TlsConfig::builder().build()
    } else {
        ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
            .build()
    };
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("mnotify-intake/", env!("CARGO_PKG_VERSION")))
        .build()
        .into())
}

/// A TLS server configuration from a certificate chain and its private key (PEM
/// files), for the staff console.
pub fn server_config(
    chain: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    use rustls::pki_types::pem::PemObject;
    let certs = pem_certificates(chain)?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: chain.to_path_buf(),
        });
    }
    let key =
        rustls::pki_types::PrivateKeyDer::from_pem_file(key).map_err(|e| TlsSetupError::NoKey {
            path: key.to_path_buf(),
            why: e.to_string(),
        })?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Protocols {
            host: "the console".into(),
            why: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsSetupError::KeyMismatch(e.to_string()))
}
