//! The certificates of a case, per environment: AGE connects a system in a test and a
//! production environment, each with its own certificate (never the same one for
//! both). A certificate's environment is what the applicant said: the file name
//! (`test.cer`, `prod.cer`) or the serial listed under an environment in the mail.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Case, Step};
pub use crate::integration::Environment;
use crate::remark::Remark;

/// A certificate the case received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCertificate {
    /// Canonical serial.
    pub serial: String,
    pub sha1: Option<String>,
    /// `None` until the applicant says which environment it is for.
    pub environment: Option<Environment>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl CaseCertificate {
    fn same_as(&self, other: &CaseCertificate) -> bool {
        self.serial == other.serial
            && (self.sha1.is_none() || other.sha1.is_none() || self.sha1 == other.sha1)
    }
}

impl Case {
    /// The certificate recorded for `environment`, the latest if several.
    pub fn certificate_for(&self, environment: Environment) -> Option<&CaseCertificate> {
        self.certificates
            .iter()
            .rev()
            .find(|c| c.environment == Some(environment))
    }

    /// The environment whose certificate AGE needs for `step` and the case lacks:
    /// test access needs the test one, production the production one. Only once the
    /// applicant has named environments at all (a case with one certificate for
    /// nothing in particular is AGE's to judge).
    pub fn certificate_missing_for(&self, step: Step) -> Option<Environment> {
        if self.certificates.iter().all(|c| c.environment.is_none()) {
            return None;
        }
        let needed = match step {
            Step::TEST_ACCESS => Environment::Test,
            Step::PRODUCTION => Environment::Production,
            _ => return None,
        };
        self.certificate_for(needed).is_none().then_some(needed)
    }

    /// New certificates: kept with their environment. One certificate given for both
    /// environments is refused for the second, with the reason on the timeline (each
    /// environment needs its own).
    pub(super) fn on_certificates(&mut self, list: &[CaseCertificate], now: OffsetDateTime) {
        for new in list {
            let known = self.certificates.iter().position(|c| c.same_as(new));
            let Some(at) = known else {
                if let Some(env) = new.environment {
                    self.log(
                        now,
                        Remark::CertificateFor {
                            serial: new.serial.clone(),
                            environment: env,
                        },
                    );
                }
                self.certificates.push(new.clone());
                continue;
            };
            match (self.certificates[at].environment, new.environment) {
                (None, Some(env)) => {
                    self.certificates[at].environment = Some(env);
                    self.log(
                        now,
                        Remark::CertificateFor {
                            serial: new.serial.clone(),
                            environment: env,
                        },
                    );
                }
                (Some(was), Some(env)) if was != env => self.log(
                    now,
                    Remark::CertificateEnvironmentRefused {
                        serial: new.serial.clone(),
                        was,
                        now: env,
                    },
                ),
                _ => {}
            }
        }
    }
}
