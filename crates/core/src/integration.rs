//! Integration data (onboarding step 4) as applicants write it in a mail: the system's
//! name in MPass, the IP addresses of the test and the production environment, and the
//! notification channels. Read from the sender's own text (quoted mail excluded), in
//! Romanian, Russian or English, checked, and echoed back for confirmation.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The two environments AGE connects a system in: each needs its own certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Test,
    Production,
}

impl Environment {
    pub fn code(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }

    /// The environment a file name says (`test.cer`, `SI_prod.crt`, `сертификат
    /// тест.cer`), when it says exactly one.
    pub fn of_name(name: &str) -> Option<Environment> {
        let words: Vec<String> = name
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .collect();
        let test = words
            .iter()
            .any(|w| w.starts_with("test") || w == "tst" || w.starts_with("тест"));
        let production = words.iter().any(|w| {
            w.starts_with("prod")
                || w == "prd"
                || w.starts_with("productie")
                || w.starts_with("продакшн")
                || w.starts_with("продуктив")
        });
        match (test, production) {
            (true, false) => Some(Environment::Test),
            (false, true) => Some(Environment::Production),
            _ => None,
        }
    }
}

/// What a mail says about the integration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationData {
    pub system_name: Option<String>,
    pub test_addresses: Vec<IpAddr>,
    pub production_addresses: Vec<IpAddr>,
    pub channels: Vec<String>,
    /// Certificate serials named for each environment (canonical), when given.
    #[serde(default)]
    pub test_certificates: Vec<String>,
    #[serde(default)]
    pub production_certificates: Vec<String>,
    /// What is wrong with what was given (codes, see [`IntegrationProblem`]).
    pub problems: Vec<IntegrationProblem>,
}

impl IntegrationData {
    /// The environment the mail names this certificate serial for, if exactly one.
    pub fn environment_of(&self, serial: &str) -> Option<Environment> {
        let test = self.test_certificates.iter().any(|s| s == serial);
        let production = self.production_certificates.iter().any(|s| s == serial);
        match (test, production) {
            (true, false) => Some(Environment::Test),
            (false, true) => Some(Environment::Production),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum IntegrationProblem {
    /// Written like an address but not one (`300.1.2.3`).
    InvalidAddress { written: String },
    /// The same address for test and production: they must be separate systems.
    SameAddressTestProduction { address: IpAddr },
    /// Private, loopback or link-local: AGE cannot reach it.
    NotPublic { address: IpAddr },
    /// One certificate named for both test and production: MNotify tells systems
    /// apart by certificate, so each environment needs its own.
    SameCertificateTestProduction { serial: String },
}

impl IntegrationProblem {
    pub fn code(&self) -> &'static str {
        match self {
            IntegrationProblem::InvalidAddress { .. } => "invalid_address",
            IntegrationProblem::SameAddressTestProduction { .. } => "same_address_test_production",
            IntegrationProblem::NotPublic { .. } => "not_public",
            IntegrationProblem::SameCertificateTestProduction { .. } => {
                "same_certificate_test_production"
            }
        }
    }

    /// The address concerned, as written.
    pub fn value(&self) -> String {
        match self {
            IntegrationProblem::InvalidAddress { written } => written.clone(),
            IntegrationProblem::SameAddressTestProduction { address }
            | IntegrationProblem::NotPublic { address } => address.to_string(),
            IntegrationProblem::SameCertificateTestProduction { serial } => serial.clone(),
        }
    }
}

impl IntegrationData {
    /// One line for the case timeline and the step's evidence.
    pub fn summary(&self) -> String {
        let join = |v: &[IpAddr]| {
            v.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!(
            "system {:?}; test {}; production {}; channels {}",
            self.system_name.as_deref().unwrap_or("-"),
            join(&self.test_addresses),
            join(&self.production_addresses),
            self.channels.join(", ")
        )
    }

    /// Anything at all was given.
    pub fn is_present(&self) -> bool {
        self.system_name.is_some()
            || !self.test_addresses.is_empty()
            || !self.production_addresses.is_empty()
            || !self.channels.is_empty()
            || !self.test_certificates.is_empty()
            || !self.production_certificates.is_empty()
    }

    /// Everything step 4 asks for, and nothing wrong with it.
    pub fn is_complete(&self) -> bool {
        self.system_name.is_some()
            && !self.test_addresses.is_empty()
            && !self.production_addresses.is_empty()
            && !self.channels.is_empty()
            && self.problems.is_empty()
    }

    /// What is still missing, as step codes for the reply (`system_name`,
    /// `test_addresses`, `production_addresses`, `channels`).
    pub fn missing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.system_name.is_none() {
            out.push("system_name");
        }
        if self.test_addresses.is_empty() {
            out.push("test_addresses");
        }
        if self.production_addresses.is_empty() {
            out.push("production_addresses");
        }
        if self.channels.is_empty() {
            out.push("channels");
        }
        out
    }
}

static SYSTEM_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*[-*•]?\s*(?:denumirea\s+sistemului(?:\s+informa[țţt]ional)?|numele\s+sistemului|sistem(?:ul)?\s+informa[țţt]ional|system\s+name|name\s+of\s+(?:the\s+)?(?:information\s+)?system|(?:название|наименование)\s+(?:информационной\s+)?системы)(?:\s*\((?:[îi]n|in|в)\s+mpass\))?(?:\s+(?:[îi]n|in|в)\s+mpass)?\s*[:\-–]\s*(.+?)\s*$",
    )
    .expect("valid pattern")
});

static CHANNELS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*[-*•]?\s*(?:canal(?:e|ele)?\s+de\s+notificare|notification\s+channels?|канал(?:ы)?\s+уведомлени[йя])\s*[:\-–]\s*(.+?)\s*$",
    )
    .expect("valid pattern")
});

/// Something shaped like an IPv4 or IPv6 address.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:\d{1,3}(?:\.\d{1,3}){3}|(?:[0-9a-f]{1,4}:){2,7}[0-9a-f:]{0,4}(?:[0-9a-f]{1,4})?)\b")
        .expect("valid pattern")
});

/// A line about a certificate ("serial", "certificat", "сертификат", …).
static CERTIFICATE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)certificat|certificate|serie|serial|сертификат|серийн").expect("valid pattern")
});

static TEST_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:test|тест)").expect("valid pattern"));

static PRODUCTION_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\bproduc[țţt]|\bproduction\b|\bprod\b|\bprodus|продакшн|продуктив|рабоч\w)")
        .expect("valid pattern")
});

fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00)
        }
    }
}

/// The IP addresses written on lines that name an environment, each for the
/// environment named last before it on its line (or the only one named).
fn read_addresses(text: &str, data: &mut IntegrationData) {
    for line in text.lines() {
        let tests: Vec<usize> = TEST_WORD.find_iter(line).map(|m| m.start()).collect();
        let prods: Vec<usize> = PRODUCTION_WORD.find_iter(line).map(|m| m.start()).collect();
        if tests.is_empty() && prods.is_empty() {
            continue;
        }
        for m in ADDRESS.find_iter(line) {
            let written = m.as_str();
            // An address belongs to the environment named last before it on the line
            // ("test: 1.2.3.4, producție: 5.6.7.8"), or to the only one named.
            let last_test = tests.iter().filter(|&&t| t < m.start()).max();
            let last_prod = prods.iter().filter(|&&p| p < m.start()).max();
            let is_test = match (last_test, last_prod) {
                (Some(t), Some(p)) => t > p,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => !tests.is_empty(),
            };
            match written.parse::<IpAddr>() {
                Ok(ip) => {
                    if !public(ip) {
                        data.problems
                            .push(IntegrationProblem::NotPublic { address: ip });
                    }
                    let list = if is_test {
                        &mut data.test_addresses
                    } else {
                        &mut data.production_addresses
                    };
                    if !list.contains(&ip) {
                        list.push(ip);
                    }
                }
                Err(_) if written.contains('.') => {
                    data.problems.push(IntegrationProblem::InvalidAddress {
                        written: written.to_string(),
                    })
                }
                Err(_) => {}
            }
        }
    }
}

/// Certificates named per environment: "certificat test: seria 4A3F…".
fn read_certificates(text: &str, data: &mut IntegrationData) {
    for line in text.lines().filter(|l| CERTIFICATE_WORD.is_match(l)) {
        let is_test = TEST_WORD.is_match(line);
        let is_prod = PRODUCTION_WORD.is_match(line);
        if is_test == is_prod {
            continue;
        }
        for number in crate::serials::extract(line) {
            let Some(serial) = crate::serials::canonical_serial(&number.digits) else {
                continue;
            };
            let list = if is_test {
                &mut data.test_certificates
            } else {
                &mut data.production_certificates
            };
            if !list.contains(&serial) {
                list.push(serial);
            }
        }
    }
}

/// Reads the integration data from the sender's own text.
pub fn extract(text: &str) -> IntegrationData {
    let mut data = IntegrationData {
        system_name: SYSTEM_NAME
            .captures(text)
            .map(|c| {
                c[1].trim_matches(|ch: char| {
                    ch == '"' || ch == '„' || ch == '”' || ch == '«' || ch == '»'
                })
                .trim()
                .to_string()
            })
            .filter(|s| !s.is_empty()),
        channels: CHANNELS
            .captures(text)
            .map(|c| {
                c[1].split([',', ';', '/'])
                    .flat_map(|part| {
                        part.split(" și ")
                            .flat_map(|p| p.split(" and "))
                            .flat_map(|p| p.split(" и "))
                    })
                    .map(|s| s.trim().trim_end_matches('.').trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        ..IntegrationData::default()
    };
    read_addresses(text, &mut data);
    read_certificates(text, &mut data);
    for serial in &data.test_certificates {
        if data.production_certificates.contains(serial) {
            data.problems
                .push(IntegrationProblem::SameCertificateTestProduction {
                    serial: serial.clone(),
                });
        }
    }
    for ip in &data.test_addresses {
        if data.production_addresses.contains(ip) {
            data.problems
                .push(IntegrationProblem::SameAddressTestProduction { address: *ip });
        }
    }
    data
}

/// Two ways of writing one system's name: spacing and case do not count.
pub fn same_system(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romanian_form_as_applicants_fill_it() {
        let d = extract(
            "Bună ziua,\n\nDatele de integrare:\n- Denumirea sistemului în MPass: SIA Registrul Cadastral\n\
             - Adrese IP: pentru mediul de testare - 176.123.4.10, pentru mediul de producție - 176.123.4.11\n\
             - Canale de notificare: e-mail, SMS\n",
        );
        assert_eq!(d.system_name.as_deref(), Some("SIA Registrul Cadastral"));
        assert_eq!(
            d.test_addresses,
            vec!["176.123.4.10".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            d.production_addresses,
            vec!["176.123.4.11".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(d.channels, vec!["e-mail", "SMS"]);
        assert!(d.is_complete(), "{d:?}");
    }

    #[test]
    fn russian_and_english_and_ipv6() {
        let ru = extract(
            "Название системы в MPass: «ИС Учёт»\nТестовая среда: 91.250.10.5\nРабочая среда: 2a02:2f0c:8000::15\nКаналы уведомлений: email и SMS",
        );
        assert_eq!(ru.system_name.as_deref(), Some("ИС Учёт"));
        assert_eq!(ru.test_addresses.len(), 1);
        assert_eq!(
            ru.production_addresses,
            vec!["2a02:2f0c:8000::15".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(ru.channels, vec!["email", "SMS"]);
        assert!(ru.is_complete(), "{ru:?}");

        let en = extract("System name (in MPass): Land Registry\nProduction IP: 85.10.1.2\n");
        assert_eq!(en.system_name.as_deref(), Some("Land Registry"));
        assert_eq!(en.missing(), vec!["test_addresses", "channels"]);
        assert!(!en.is_complete());
    }

    #[test]
    fn problems_are_named() {
        let d = extract("IP testare: 10.0.0.5\nIP producție: 10.0.0.5\nIP test: 300.1.2.3\n");
        assert!(d
            .problems
            .contains(&IntegrationProblem::SameAddressTestProduction {
                address: "10.0.0.5".parse().unwrap()
            }));
        assert!(d.problems.contains(&IntegrationProblem::NotPublic {
            address: "10.0.0.5".parse().unwrap()
        }));
        assert!(d.problems.contains(&IntegrationProblem::InvalidAddress {
            written: "300.1.2.3".into()
        }));
    }

    #[test]
    fn file_names_say_the_environment_when_they_say_one() {
        for (name, env) in [
            ("test.cer", Some(Environment::Test)),
            ("SI_Primaria_TEST.crt", Some(Environment::Test)),
            ("certificat-testare.cer", Some(Environment::Test)),
            ("сертификат тест.cer", Some(Environment::Test)),
            ("prod.cer", Some(Environment::Production)),
            ("certificat_productie.cer", Some(Environment::Production)),
            ("SI Production.pem", Some(Environment::Production)),
            ("sistem.cer", None),
            ("test-prod.cer", None),
            ("contestatie.cer", None),
        ] {
            assert_eq!(Environment::of_name(name), env, "{name}");
        }
        let d = extract(
            "Certificat test: seria 5A17330C9E41\nCertificat producție: seria 4A3F00127BC9",
        );
        assert_eq!(d.environment_of("5A17330C9E41"), Some(Environment::Test));
        assert_eq!(
            d.environment_of("4A3F00127BC9"),
            Some(Environment::Production)
        );
        assert_eq!(d.environment_of("0102"), None);
    }

    #[test]
    fn one_certificate_for_test_and_production_is_a_problem() {
        let d = extract(
            "Certificatul pentru testare: seria 4A 3F 00 12 7B C9\nCertificatul pentru producție: seria 4a3f00127bc9\n",
        );
        assert_eq!(d.test_certificates, vec!["4A3F00127BC9"]);
        assert!(
            d.problems
                .contains(&IntegrationProblem::SameCertificateTestProduction {
                    serial: "4A3F00127BC9".into()
                }),
            "{d:?}"
        );
        let ok = extract(
            "Test certificate serial: 5A17330C9E41\nProduction certificate serial: 4A3F00127BC9",
        );
        assert!(ok.problems.is_empty(), "{ok:?}");
        assert_eq!(ok.production_certificates, vec!["4A3F00127BC9"]);
    }

    #[test]
    fn nothing_in_an_ordinary_mail() {
        let d = extract(
            "Bună ziua, anexăm certificatul. Versiunea 1.2.3.4 a aplicației.\nTelefon: 022 820 026",
        );
        assert!(!d.is_present(), "{d:?}");
    }
}
