//! The client assertion of a certificate credential (RFC 7523): a JWT signed with the
//! certificate's private key, with the certificate's SHA-256 thumbprint in its header
//! (`x5t#S256`), which Entra ID uses to find the certificate uploaded to the app.

use std::path::Path;

use base64::Engine;
use sha2::Digest;

use crate::certificate::Certificate;

/// Seconds an assertion is valid.
const ASSERTION_SECONDS: i64 = 600;

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The certificate of the credential.
pub(super) fn certificate(path: &Path) -> Result<Certificate, CredentialFileError> {
    let bytes = std::fs::read(path).map_err(|e| CredentialFileError::Unreadable {
        path: path.to_path_buf(),
        why: e,
    })?;
    crate::certificate::decode::decode(&bytes)
        .certificates
        .into_iter()
        .find_map(|der| Certificate::from_der(&der).ok())
        .ok_or_else(|| CredentialFileError::NoCertificate(path.to_path_buf()))
}

/// Why the credential's certificate file is not read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialFileError {
    #[error("cannot read {}: {why}", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        why: std::io::Error,
    },
    #[error("{} holds no certificate", .0.display())]
    NoCertificate(std::path::PathBuf),
}

/// A signed assertion for `client_id` at `audience` (the token URL).
pub(super) fn sign(
    certificate_path: &Path,
    key_path: &Path,
    client_id: &str,
    audience: &str,
) -> Result<String, String> {
    let cert = certificate(certificate_path).map_err(|e| e.to_string())?;
    let pem = std::fs::read_to_string(key_path)
        .map_err(|e| format!("cannot read {}: {e}", key_path.display()))?;
    let der = {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            format!("{} is not a PKCS#8 private key (PEM \"BEGIN PRIVATE KEY\"); convert it with `openssl pkcs8 -topk8 -nocrypt`", key_path.display())
        })?
    };
    let key = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|e| format!("{}: not an RSA key ring can use ({e})", key_path.display()))?;
    let header = serde_json::json!({
        "alg": "PS256",
        "typ": "JWT",
        "x5t#S256": b64url(&sha2::Sha256::digest(&cert.der)),
    });
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut jti = [0u8; 16];
    getrandom::getrandom(&mut jti).map_err(|e| e.to_string())?;
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": hex::encode(jti),
        "nbf": now,
        "iat": now,
        "exp": now + ASSERTION_SECONDS,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PSS_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|e| format!("signing the assertion failed: {e}"))?;
    Ok(format!("{signing_input}.{}", b64url(&signature)))
}
