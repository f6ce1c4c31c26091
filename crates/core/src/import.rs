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

/// What one file gave: its records, and how it was read when that is worth saying
/// (a CSV in Excel's Romanian form).
#[derive(Debug, Clone)]
pub struct Imported {
    pub records: Vec<KnownCertificate>,
    pub read_as: Option<String>,
}

/// Records from one file's bytes.
pub fn records(path: &Path, bytes: &[u8], label: Label<'_>) -> Result<Imported, ImportError> {
    if is_csv(path, bytes) {
        let (records, dialect) = registry::parse_csv(path, bytes)?;
        return Ok(Imported {
            records,
            read_as: dialect.describe(),
        });
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
    Ok(Imported {
        records: certs
            .iter()
            .map(|c| KnownCertificate::from_certificate(c, service, label.institution))
            .collect(),
        read_as: None,
    })
}

fn is_csv(path: &Path, bytes: &[u8]) -> bool {
    let named_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = body.to_ascii_lowercase();
    named_csv || head.starts_with(b"service,") || head.starts_with(b"service;")
}
