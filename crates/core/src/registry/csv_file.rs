//! Registry CSVs: the fixed columns DESIGN.md names (and optionally `environment`,
//! `system` and `domain`), in the documented form or as Excel writes it in a Romanian
//! locale.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};

use super::{KnownCertificate, Status};
use crate::serials::{canonical_serial, canonical_thumbprint};

/// A registry CSV that cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{path}: cannot read the CSV: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error(
        "{path}: the header must be exactly `service,institution,serial,issuer,sha1,not_after,status`, \
         optionally followed by `environment`, `system` and `domain` (found `{found}`)"
    )]
    Header { path: PathBuf, found: String },
    #[error("{path}, line {line}: {what}; fix that row and import again")]
    Row {
        path: PathBuf,
        line: u64,
        what: String,
    },
}

/// Columns a registry CSV may add after the fixed ones.
const OPTIONAL_COLUMNS: [&str; 3] = ["environment", "system", "domain"];

/// Where the optional columns are, when present.
#[derive(Debug, Clone, Copy)]
struct Optional {
    environment: Option<usize>,
    system: Option<usize>,
    domain: Option<usize>,
}

/// The CSV header DESIGN.md fixes.
pub const CSV_HEADER: [&str; 7] = [
    "service",
    "institution",
    "serial",
    "issuer",
    "sha1",
    "not_after",
    "status",
];

/// Parses a registry CSV. Every row must be valid: a half-imported file would leave the
/// registry in a state no one asked for.
pub fn parse_csv(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<KnownCertificate>, CsvDialect), CsvError> {
    let read_error = |source| CsvError::Read {
        path: path.into(),
        source,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut dialect = CsvDialect {
        delimiter: sniff_delimiter(bytes),
        day_first_dates: false,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(dialect.delimiter)
        .from_reader(bytes);
    let header = reader.headers().map_err(read_error)?.clone();
    let names: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    // The fixed columns, then optionally `environment`, `system` and `domain`, each
    // once, in any order.
    let optional = &names[names.len().min(7)..];
    let extended = names.len() >= 7
        && names[..7] == CSV_HEADER
        && optional
            .iter()
            .all(|n| OPTIONAL_COLUMNS.contains(&n.as_str()))
        && optional
            .iter()
            .enumerate()
            .all(|(i, n)| !optional[..i].contains(n));
    if !extended {
        return Err(CsvError::Header {
            path: path.into(),
            found: header.iter().collect::<Vec<_>>().join(","),
        });
    }
    let column = |name: &str| names.iter().position(|n| n == name);
    let columns = Optional {
        environment: column("environment"),
        system: column("system"),
        domain: column("domain"),
    };
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(read_error)?;
        let line = row.position().map_or(0, |p| p.line());
        let (record, day_first) = parse_row(&row, columns).map_err(|what| CsvError::Row {
            path: path.into(),
            line,
            what,
        })?;
        dialect.day_first_dates |= day_first;
        out.push(record);
    }
    Ok((out, dialect))
}

/// `2027-05-31` (end of that day, UTC) or an RFC 3339 timestamp.
/// One row of a registry CSV, and whether its date was written day first; what is
/// wrong with it, in words, otherwise.
fn parse_row(
    row: &csv::StringRecord,
    columns: Optional,
) -> Result<(KnownCertificate, bool), String> {
    let field = |i: usize| row.get(i).unwrap_or("").trim();
    let optional = |at: Option<usize>| at.map_or("", field);
    let service = field(0);
    if service.is_empty() {
        return Err("the service is empty".into());
    }
    let serial = canonical_serial(field(2))
        .ok_or_else(|| format!("`{}` is not a hex serial number", field(2)))?;
    let sha1 = match field(4) {
        "" => None,
        s => Some(
            canonical_thumbprint(s)
                .filter(|h| h.len() == 40)
                .ok_or_else(|| format!("`{s}` is not a SHA-1 thumbprint (40 hex digits)"))?,
        ),
    };
    let (not_after, day_first) = match field(5) {
        "" => (None, false),
        s => {
            let (date, day_first) = parse_date(s).ok_or_else(|| {
                format!("`{s}` is not a date (use 2027-05-31, 31.05.2027 or RFC 3339)")
            })?;
            (Some(date), day_first)
        }
    };
    let status = status_of(field(6))?;
    let record = KnownCertificate {
        serial,
        issuer: field(3).to_string(),
        sha1,
        sha256: None,
        subject: None,
        not_after,
        status,
        services: BTreeSet::from([service.to_string()]),
        institution: Some(field(1)).filter(|s| !s.is_empty()).map(str::to_string),
        environment: environment_of(optional(columns.environment))?,
        system: Some(optional(columns.system))
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        domain: domain_of(optional(columns.domain))?,
    };
    Ok((record, day_first))
}

fn status_of(text: &str) -> Result<Status, String> {
    match text.to_ascii_lowercase().as_str() {
        "" | "active" | "activ" => Ok(Status::Active),
        "revoked" | "revocat" => Ok(Status::Revoked),
        "suspended" | "suspendat" | "on hold" => Ok(Status::Suspended),
        other => Err(format!(
            "status `{other}` is not active, revoked or suspended"
        )),
    }
}

fn environment_of(text: &str) -> Result<Option<crate::integration::Environment>, String> {
    use crate::integration::Environment;
    match text.to_lowercase().as_str() {
        "" => Ok(None),
        "test" | "testare" | "тест" => Ok(Some(Environment::Test)),
        "production" | "producție" | "productie" | "prod" => Ok(Some(Environment::Production)),
        other => Err(format!(
            "environment `{other}` is neither test nor production"
        )),
    }
}

fn domain_of(text: &str) -> Result<Option<String>, String> {
    match text {
        "" => Ok(None),
        d if d.contains('.')
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') =>
        {
            Ok(Some(d.trim_end_matches('.').to_ascii_lowercase()))
        }
        d => Err(format!(
            "`{d}` is not a mail domain (write it as agentia.gov.md)"
        )),
    }
}

/// How a registry CSV was written: what Excel writes in a Romanian locale (`;`
/// between fields, dates as `31.01.2027`) is read as well as the documented form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvDialect {
    pub delimiter: u8,
    /// Some date was written day first (`dd.mm.yyyy`).
    pub day_first_dates: bool,
}

impl CsvDialect {
    /// What was read other than the documented form, in words for the import
    /// summary; `None` for the documented form.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.delimiter != b',' {
            parts.push(format!("fields separated by `{}`", self.delimiter as char));
        }
        if self.day_first_dates {
            parts.push("dates written day first (dd.mm.yyyy)".to_string());
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// `;` when the header line has more of them than commas (Excel in locales where the
/// comma is the decimal mark), else `,`.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or(bytes);
    let count = |c: u8| header.iter().filter(|&&b| b == c).count();
    if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

/// A date as the registry CSV may hold it: RFC 3339, `2027-05-31` or `31.05.2027`
/// (the day's end, UTC); whether it was written day first.
fn parse_date(text: &str) -> Option<(OffsetDateTime, bool)> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some((t, false));
    }
    let end_of = |date: Date| {
        Some(
            date.with_time(Time::from_hms(23, 59, 59).ok()?)
                .assume_utc(),
        )
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(text, &format) {
        return Some((end_of(date)?, false));
    }
    let parts: Vec<&str> = text.split('.').collect();
    let [day, month, year] = parts.as_slice() else {
        return None;
    };
    let number = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i32>().ok())
            .flatten()
    };
    let (day, month, year) = (number(day, 2)?, number(month, 2)?, number(year, 4)?);
    if year < 1000 {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    Some((end_of(date)?, true))
}
