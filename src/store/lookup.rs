//! The store's answers to what process asks about a mail: before it is analysed
//! ([`process::Recall`]: handled before? which case does it name or continue?), and
//! after ([`Lookup`]: the sender's case, the case for the system the mail names, the
//! reply counters of each candidate case, the cases its certificates are in, the reply
//! a report names). It only looks up; [`crate::process`] chooses.

use super::*;
use crate::process::{self, Found, Lookup, ReplyCounts, Reported};

impl Store {
    /// Answers `lookup` for a mail whose named or continued case is `in_case`.
    /// Answers what is asked before a mail is analysed ([`process::Recall`]): its
    /// records under its identity and beside it, and the case it names or continues.
    pub fn recall(&self, recall: &process::Recall) -> Result<process::Recalled, StoreError> {
        let first = self.seen_identity(&recall.identity)?;
        let beside = match &first {
            Some(_) => self.seen_identity(&recall.beside)?,
            None => None,
        };
        Ok(process::Recalled {
            first,
            beside,
            in_thread: self.case_of_keys(&recall.case_keys)?,
        })
    }

    /// The case of the first of `keys` that finds one (a token, or a Message-ID of
    /// its thread), after any merge.
    pub fn case_of_keys(&self, keys: &[process::CaseKey]) -> Result<Option<Case>, StoreError> {
        for key in keys {
            let found = match key {
                process::CaseKey::Token(token) => self.case(token)?,
                process::CaseKey::Thread(id) => self.case_for_thread(id)?,
            };
            if let Some(case) = found {
                // A case staff merged into another: its mail joins that one.
                return Ok(Some(self.current_case(case)?));
            }
        }
        Ok(None)
    }

    pub fn look_up(&self, lookup: &Lookup, in_case: Option<&Case>) -> Result<Found, StoreError> {
        let sender_case = match &lookup.sender {
            Some((to, Some(service))) => self.case_for_sender(to, service)?,
            Some((to, None)) => {
                self.latest_case_for_sender(to, lookup.services.iter().map(String::as_str))?
            }
            None => None,
        };
        let sender_case = sender_case.map(|c| self.current_case(c)).transpose()?;
        let system_case = match (in_case.or(sender_case.as_ref()), &lookup.system) {
            (Some(c), Some(named)) => self.case_for_system(&c.owner(), &c.service, named)?,
            _ => None,
        };
        let mut tokens: Vec<Option<String>> = vec![None];
        for c in [in_case, sender_case.as_ref(), system_case.as_ref()]
            .into_iter()
            .flatten()
        {
            if !tokens.contains(&Some(c.token.clone())) {
                tokens.push(Some(c.token.clone()));
            }
        }
        // The recipient's, domain's and hour's counters are the same for every
        // candidate: read once; each candidate adds its own case counter.
        let base = match process::lookup::rate_keys(lookup, None) {
            Some(keys) => ReplyCounts {
                recipient_today: self.replies_counted(&keys.recipient)?,
                case_today: 0,
                domain_today: self.replies_counted(&keys.domain)?,
                this_hour: self.replies_counted(&keys.hour)?,
            },
            None => ReplyCounts::default(),
        };
        let mut counts = Vec::new();
        for token in tokens {
            let keys = process::lookup::rate_keys(lookup, token.as_deref());
            let case_today = match keys.as_ref().and_then(|k| k.case.as_deref()) {
                Some(key) => self.replies_counted(key)?,
                None => 0,
            };
            counts.push((token, ReplyCounts { case_today, ..base }));
        }
        let mut certificate_cases = Vec::new();
        let mut certificate_case_records: Vec<Case> = Vec::new();
        for (issuer, serial) in &lookup.certificates {
            let Some(first) = self.certificate_case(issuer, serial)? else {
                continue;
            };
            if !certificate_case_records
                .iter()
                .any(|c| c.token == first.case)
            {
                if let Some(other) = self.case(&first.case)? {
                    certificate_case_records.push(self.current_case(other)?);
                }
            }
            certificate_cases.push(first);
        }
        let reported = match &lookup.report {
            Some(id) => match self.outbox_entry(id)? {
                Some(entry) => {
                    let case = match &entry.case {
                        Some(token) => self.case(token)?,
                        None => None,
                    };
                    Some(Reported { entry, case })
                }
                None => None,
            },
            None => None,
        };
        Ok(Found {
            sender_case,
            system_case,
            counts,
            certificate_cases,
            certificate_case_records,
            reported,
        })
    }
}
