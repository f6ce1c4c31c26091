//! `registry import`: files → registry records. A file is a CSV with the header of
//! [`registry::CSV_HEADER`] or a certificate file in any accepted format (DER, PEM,
//! PKCS#7, bare base64, zip).

use std::path::{Path, PathBuf};

use crate::certificate::Certificate;
use crate::intake::attachment::{self, Collected};
use crate::problem::Problem;
use crate::registry::{self, CsvError, KnownCertificate};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error("{path}: certificate files need --service NAME (for example --service MPass)")]
    NeedService { path: PathBuf },
    #[error("{path}: no end-entity certificate found; give a .cer/.crt/.pem/.p7b file or a registry CSV")]
    NoCertificate { path: PathBuf },
    #[error(
        "{path}: holds a private key; it is not imported and should be treated as compromised"
    )]
    PrivateKey { path: PathBuf },
}

/// Who a certificate file is registered for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Label<'a> {
    pub service: Option<&'a str>,
    pub institution: Option<&'a str>,
}

/// Records from one file's bytes.
pub fn records(
    path: &Path,
    bytes: &[u8],
    label: Label<'_>,
) -> Result<Vec<KnownCertificate>, ImportError> {
    if is_csv(path, bytes) {
        return Ok(registry::parse_csv(path, bytes)?);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut found = Collected::default();
    attachment::examine(&name, "application/pkix-cert", bytes, 0, &mut found);
    if found
        .findings
        .iter()
        .any(|f| f.problem == Problem::PrivateKeySent)
    {
        return Err(ImportError::PrivateKey { path: path.into() });
    }
    let certs: Vec<Certificate> = found
        .certificates
        .iter()
        .filter_map(|f| Certificate::from_der(&f.der).ok())
        .filter(|c| !c.is_ca)
        .collect();
    if certs.is_empty() {
        return Err(ImportError::NoCertificate { path: path.into() });
    }
    let service = label
        .service
        .ok_or_else(|| ImportError::NeedService { path: path.into() })?;
    Ok(certs
        .iter()
        .map(|c| KnownCertificate::from_certificate(c, service, label.institution))
        .collect())
}

fn is_csv(path: &Path, bytes: &[u8]) -> bool {
    let named_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    named_csv || body.to_ascii_lowercase().starts_with(b"service,")
}
