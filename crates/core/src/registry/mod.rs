//! The known certificates: those already registered with AGE for MPass, MSign, MDocs or
//! MNotify. Serial numbers are unique per issuer only, so one quoted serial may match
//! several certificates; thumbprints identify exactly one.
//!
//! The registry is a plain value here; [`crate::store`] persists it.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::certificate::Certificate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    /// Revoked for good.
    Revoked,
    /// Suspended (on hold): refused while it lasts, active again once lifted (a new
    /// import says `active`).
    Suspended,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
            Status::Suspended => "suspended",
        }
    }

    /// In words, for staff (`code` stays in JSON and files).
    pub fn words(self, language: crate::language::Language) -> &'static str {
        match self {
            Status::Active => language.pick("activ", "active", "действует"),
            Status::Revoked => language.pick("revocat", "revoked", "отозван"),
            Status::Suspended => language.pick("suspendat", "suspended", "приостановлен"),
        }
    }

    /// Why a certificate of this status cannot be used, if it cannot.
    pub fn problem(self) -> Option<crate::problem::Problem> {
        match self {
            Status::Active => None,
            Status::Revoked => Some(crate::problem::Problem::Revoked),
            Status::Suspended => Some(crate::problem::Problem::Suspended),
        }
    }
}

/// One certificate AGE knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownCertificate {
    /// Canonical serial.
    pub serial: String,
    /// Issuer distinguished name as given (see [`issuer_key`] for comparison).
    pub issuer: String,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub subject: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    pub status: Status,
    /// Services it is registered for (MPass, MSign, MDocs, MNotify…).
    pub services: BTreeSet<String>,
    pub institution: Option<String>,
    /// The environment it is registered for, when the registry says (a certificate
    /// is reused only for the same environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::integration::Environment>,
    /// The information system it is registered for (its name in MPass), when the
    /// registry says (a certificate is reused only for the same system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The institution's mail domain, when the registry says: what joins the
    /// certificate to the institution's cases (which are keyed by domain), so that a
    /// certificate of another institution never completes a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl KnownCertificate {
    /// The identity key: normalised issuer and serial.
    pub fn key(&self) -> String {
        format!("{}|{}", issuer_key(&self.issuer), self.serial)
    }

    pub fn from_certificate(
        cert: &Certificate,
        service: &str,
        institution: Option<&str>,
    ) -> KnownCertificate {
        KnownCertificate {
            serial: cert.serial.clone(),
            issuer: cert.issuer.clone(),
            sha1: Some(cert.sha1.clone()),
            sha256: Some(cert.sha256.clone()),
            subject: Some(cert.subject.clone()),
            not_after: Some(cert.not_after),
            status: Status::Active,
            services: BTreeSet::from([service.to_string()]),
            institution: institution.map(str::to_string),
            environment: None,
            system: None,
            domain: None,
        }
    }

    /// Expired at `now` by the registry's own record.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.not_after.is_some_and(|t| t < now)
    }

    /// Takes in what `other` (the same certificate) adds: services are joined, known
    /// fields filled, and the newer statement of status and expiry wins.
    fn absorb(&mut self, other: &KnownCertificate) {
        self.services.extend(other.services.iter().cloned());
        fill(&mut self.sha1, &other.sha1);
        fill(&mut self.sha256, &other.sha256);
        fill(&mut self.subject, &other.subject);
        fill(&mut self.institution, &other.institution);
        fill(&mut self.system, &other.system);
        if other.domain.is_some() {
            self.domain = other.domain.clone();
        }
        if other.environment.is_some() {
            self.environment = other.environment;
        }
        if other.not_after.is_some() {
            self.not_after = other.not_after;
        }
        if self.issuer.trim().is_empty() {
            self.issuer = other.issuer.clone();
        }
        self.status = other.status;
    }
}

fn fill(mine: &mut Option<String>, theirs: &Option<String>) {
    if mine.is_none() {
        mine.clone_from(theirs);
    }
}

/// Issuer names compared without case, spacing or RDN order: `CN=STISC CA, O=STISC, C=MD`
/// and `C=MD,O=STISC,CN=STISC CA` are the same issuer.
pub fn issuer_key(issuer: &str) -> String {
    let mut parts: Vec<String> = issuer
        .split([',', ';'])
        .map(|p| {
            let p = p
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            match p.split_once('=') {
                Some((k, v)) => format!("{}={}", k.trim(), v.trim()),
                None => p,
            }
        })
        .filter(|p| !p.is_empty())
        .collect();
    parts.sort();
    parts.join(",")
}

/// One issuer name's attributes contain the other's.
fn issuers_compatible(a: &str, b: &str) -> bool {
    let (a, b) = (issuer_key(a), issuer_key(b));
    let set = |k: &str| -> BTreeSet<String> {
        k.split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (set(&a), set(&b));
    a.is_subset(&b) || b.is_subset(&a)
}

/// The known certificates with their lookup indexes.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: Vec<KnownCertificate>,
    by_key: HashMap<String, usize>,
    by_serial: HashMap<String, Vec<usize>>,
    by_sha1: HashMap<String, usize>,
    by_sha256: HashMap<String, usize>,
}

/// What merging one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

impl Registry {
    pub fn from_entries(entries: impl IntoIterator<Item = KnownCertificate>) -> Registry {
        let mut registry = Registry::default();
        for entry in entries {
            registry.merge(entry);
        }
        registry
    }

    pub fn entries(&self) -> &[KnownCertificate] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a record or joins it to the same certificate already known (same SHA-256,
    /// SHA-1, or issuer and serial). Returns the change and the resulting entry.
    pub fn merge(&mut self, record: KnownCertificate) -> (Change, &KnownCertificate) {
        let existing = record
            .sha256
            .as_ref()
            .and_then(|h| self.by_sha256.get(h))
            .or_else(|| record.sha1.as_ref().and_then(|h| self.by_sha1.get(h)))
            .or_else(|| self.by_key.get(&record.key()))
            .copied()
            .or_else(|| self.unique_compatible(&record.serial, &record.issuer));
        match existing {
            Some(index) => {
                let before = self.entries[index].clone();
                self.entries[index].absorb(&record);
                self.index(index);
                let change = if before == self.entries[index] {
                    Change::Unchanged
                } else {
                    Change::Updated
                };
                (change, &self.entries[index])
            }
            None => {
                self.entries.push(record);
                let index = self.entries.len() - 1;
                self.index(index);
                (Change::Added, &self.entries[index])
            }
        }
    }

    fn index(&mut self, index: usize) {
        let entry = &self.entries[index];
        self.by_key.insert(entry.key(), index);
        let serials = self.by_serial.entry(entry.serial.clone()).or_default();
        if !serials.contains(&index) {
            serials.push(index);
        }
        if let Some(h) = &entry.sha1 {
            self.by_sha1.insert(h.clone(), index);
        }
        if let Some(h) = &entry.sha256 {
            self.by_sha256.insert(h.clone(), index);
        }
    }

    /// The known entry for a certificate in hand: by fingerprint, then by issuer and
    /// serial, then by serial where the registry recorded no issuer.
    pub fn find_certificate(&self, cert: &Certificate) -> Option<&KnownCertificate> {
        let key = format!("{}|{}", issuer_key(&cert.issuer), cert.serial);
        let index = self
            .by_sha256
            .get(&cert.sha256)
            .or_else(|| self.by_sha1.get(&cert.sha1))
            .or_else(|| self.by_key.get(&key))
            .copied()
            .or_else(|| self.unique_compatible(&cert.serial, &cert.issuer))?;
        Some(&self.entries[index])
    }

    /// The one entry with this serial whose issuer could be the same one written more
    /// briefly (`CN=STISC CA` for `C=MD, O=STISC, CN=STISC CA`, or no issuer at all).
    fn unique_compatible(&self, serial: &str, issuer: &str) -> Option<usize> {
        let candidates: Vec<usize> = self
            .by_serial
            .get(serial)?
            .iter()
            .copied()
            .filter(|i| issuers_compatible(&self.entries[*i].issuer, issuer))
            .collect();
        (candidates.len() == 1).then(|| candidates[0])
    }

    pub fn by_serial(&self, serial: &str) -> Vec<&KnownCertificate> {
        self.by_serial.get(serial).map_or_else(Vec::new, |ix| {
            ix.iter().map(|i| &self.entries[*i]).collect()
        })
    }

    pub fn by_sha1(&self, sha1: &str) -> Option<&KnownCertificate> {
        self.by_sha1.get(sha1).map(|i| &self.entries[*i])
    }

    pub fn by_sha256(&self, sha256: &str) -> Option<&KnownCertificate> {
        self.by_sha256.get(sha256).map(|i| &self.entries[*i])
    }
}

mod csv_file;

pub use csv_file::{parse_csv, CsvDialect, CsvError, CSV_HEADER};

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn known(serial: &str, issuer: &str, service: &str) -> KnownCertificate {
        KnownCertificate {
            serial: serial.into(),
            issuer: issuer.into(),
            sha1: None,
            sha256: None,
            subject: None,
            not_after: None,
            status: Status::Active,
            services: BTreeSet::from([service.into()]),
            institution: None,
            environment: None,
            system: None,
            domain: None,
        }
    }

    #[test]
    fn issuer_order_and_spacing_do_not_matter() {
        assert_eq!(
            issuer_key("CN=STISC CA, O=STISC, C=MD"),
            issuer_key("c=MD,o=STISC,cn=STISC  CA")
        );
        assert_ne!(issuer_key("CN=A"), issuer_key("CN=B"));
    }

    #[test]
    fn same_certificate_for_two_services_is_one_entry() {
        let mut r = Registry::default();
        assert_eq!(r.merge(known("AB", "CN=X", "MPass")).0, Change::Added);
        assert_eq!(r.merge(known("AB", "cn=x", "MSign")).0, Change::Updated);
        assert_eq!(r.merge(known("AB", "CN=X", "MSign")).0, Change::Unchanged);
        assert_eq!(r.len(), 1);
        assert_eq!(r.entries()[0].services.len(), 2);
    }

    #[test]
    fn an_issuer_written_briefly_is_the_same_certificate() {
        let mut r = Registry::default();
        r.merge(known("AB", "C=MD, O=STISC, CN=STISC CA", "MPass"));
        assert_eq!(
            r.merge(known("AB", "CN=STISC CA", "MSign")).0,
            Change::Updated
        );
        assert_eq!(r.merge(known("AB", "", "MDocs")).0, Change::Updated);
        assert_eq!(
            r.merge(known("AB", "CN=Other CA", "MDocs")).0,
            Change::Added
        );
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn one_serial_two_issuers_are_two_certificates() {
        let r =
            Registry::from_entries([known("AB", "CN=X", "MPass"), known("AB", "CN=Y", "MPass")]);
        assert_eq!(r.by_serial("AB").len(), 2);
    }

    #[test]
    fn excel_in_a_romanian_locale_is_read_and_said() {
        let p = Path::new("r.csv");
        let excel = "service;institution;serial;issuer;sha1;not_after;status\r\nMPass;Agenția X, filiala Nord;00:AB:CD;CN=STISC;;31.01.2027;active\r\nMSign;Y;EF01;CN=STISC;;1.2.2028;\r\n";
        let (rows, dialect) = parse_csv(p, excel.as_bytes()).expect("read");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].institution.as_deref(),
            Some("Agenția X, filiala Nord")
        );
        assert_eq!(rows[0].not_after.unwrap().date().to_string(), "2027-01-31");
        assert_eq!(rows[1].not_after.unwrap().date().to_string(), "2028-02-01");
        let said = dialect.describe().expect("said in the summary");
        assert!(
            said.contains("`;`") && said.contains("dd.mm.yyyy"),
            "{said}"
        );
        // The documented form says nothing; impossible dates are refused.
        let plain = "service,institution,serial,issuer,sha1,not_after,status\nMPass,X,AB,CN=S,,2027-01-31,\n";
        assert_eq!(parse_csv(p, plain.as_bytes()).unwrap().1.describe(), None);
        for bad in ["31.02.2027", "1.1.27", "31.01.2027.", "a.b.c"] {
            let text = format!("service;institution;serial;issuer;sha1;not_after;status\nMPass;X;AB;CN=S;;{bad};\n");
            let err = parse_csv(p, text.as_bytes()).unwrap_err().to_string();
            assert!(err.contains("not a date"), "{bad}: {err}");
        }
    }

    #[test]
    fn csv_rows_are_checked() {
        let p = Path::new("r.csv");
        let good = "service,institution,serial,issuer,sha1,not_after,status\nMPass,Agenția X,00:AB:CD,CN=STISC,,2027-01-31,active\n";
        let (rows, _) = parse_csv(p, good.as_bytes()).expect("valid");
        assert_eq!(rows[0].serial, "ABCD");
        assert!(parse_csv(p, b"serial\n1\n").is_err());
        let bad =
            "service,institution,serial,issuer,sha1,not_after,status\nMPass,X,zz,CN=S,,,active\n";
        let err = parse_csv(p, bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("zz"), "{err}");
    }

    #[test]
    fn csv_may_name_the_environment_and_the_system() {
        let p = Path::new("r.csv");
        let text = "service,institution,serial,issuer,sha1,not_after,status,environment,system\n\
                    MPass,X,AB,CN=S,,,active,producție,SI Registrul\nMSign,Y,CD,CN=S,,,,,\n";
        let (rows, _) = parse_csv(p, text.as_bytes()).expect("valid");
        assert_eq!(
            rows[0].environment,
            Some(crate::integration::Environment::Production)
        );
        assert_eq!(rows[0].system.as_deref(), Some("SI Registrul"));
        assert_eq!(
            (rows[1].environment, rows[1].system.as_deref()),
            (None, None)
        );
        let bad = "service,institution,serial,issuer,sha1,not_after,status,environment\nMPass,X,AB,CN=S,,,,staging\n";
        let err = parse_csv(p, bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("neither test nor production"), "{err}");
        for wrong in ["system,system", "systems", "domain,environment,domain"] {
            let text = format!("service,institution,serial,issuer,sha1,not_after,status,{wrong}\n");
            assert!(parse_csv(p, text.as_bytes()).is_err(), "{wrong}");
        }
    }

    #[test]
    fn csv_may_give_the_institution_s_domain_in_any_order() {
        let p = Path::new("r.csv");
        let text = "service,institution,serial,issuer,sha1,not_after,status,domain,system\n\
                    MPass,Agenția X,AB,CN=S,,,active,Agentia-X.gov.md,SI X\nMSign,Y,CD,CN=S,,,,,\n";
        let (rows, _) = parse_csv(p, text.as_bytes()).expect("valid");
        assert_eq!(rows[0].domain.as_deref(), Some("agentia-x.gov.md"));
        assert_eq!(rows[0].system.as_deref(), Some("SI X"));
        assert_eq!(rows[1].domain, None);
        let bad = "service,institution,serial,issuer,sha1,not_after,status,domain\nMPass,X,AB,CN=S,,,,ion@x.md\n";
        let err = parse_csv(p, bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("not a mail domain"), "{err}");
    }

    #[test]
    fn csv_status_reads_suspended_and_refuses_unknown_words() {
        let p = Path::new("r.csv");
        let head = "service,institution,serial,issuer,sha1,not_after,status\n";
        let status = |word: &str| {
            parse_csv(p, format!("{head}MPass,X,AB,CN=S,,,{word}\n").as_bytes())
                .map(|(rows, _)| rows[0].status)
        };
        assert_eq!(status("Suspended").unwrap(), Status::Suspended);
        assert_eq!(status("suspendat").unwrap(), Status::Suspended);
        assert_eq!(status("revocat").unwrap(), Status::Revoked);
        assert_eq!(status("").unwrap(), Status::Active);
        let err = status("paused").unwrap_err().to_string();
        assert!(err.contains("not active, revoked or suspended"), "{err}");
    }
}
