//! Cases in the store: by token, by the applicant's address and service, by thread, by
//! system, and the certificates they accepted.

use super::*;

/// The cases as read at a generation of the cases tree, with the stored bytes each
/// was read from: a case whose bytes did not change is not parsed again.
pub(super) struct CasesCopy {
    generation: u64,
    stored: Vec<(sled::IVec, sled::IVec)>,
    cases: Arc<Vec<Case>>,
}

/// See [`Store::changing_cases`].
pub(super) struct CasesChanging<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for CasesChanging<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A case as stored.
fn parse_case(key: &[u8], value: &[u8]) -> Result<Case, StoreError> {
    parsed(CASES_TREE, key, value)
}

impl Store {
    /// Held while the cases tree changes; on drop, the cases' copy is out of date.
    pub(super) fn changing_cases(&self) -> CasesChanging<'_> {
        CasesChanging(&self.cases_generation)
    }

    pub fn case(&self, token: &str) -> Result<Option<Case>, StoreError> {
        Self::get(&self.cases, CASES_TREE, token)
    }

    /// Writes every case's stored JSON, comma-separated, to `out`: the body of a JSON
    /// array, without holding the cases in memory (`cases` through the control socket).
    pub fn write_cases_json(&self, out: &mut dyn std::io::Write) -> Result<(), StoreError> {
        for (i, item) in self.cases.iter().enumerate() {
            let (_, value) = item?;
            if i > 0 {
                out.write_all(b",").map_err(StoreError::Write)?;
            }
            out.write_all(&value).map_err(StoreError::Write)?;
        }
        Ok(())
    }

    /// Every case, shared: read again only when a case changed since the last call
    /// (the console's queue reads them all at every page).
    pub fn cases_now(&self) -> Result<Arc<Vec<Case>>, StoreError> {
        use std::sync::atomic::Ordering;
        let generation = self.cases_generation.load(Ordering::SeqCst);
        let mut copy = self.cases_copy.lock().expect("cases copy lock");
        if let Some(c) = &*copy {
            if c.generation == generation {
                return Ok(c.cases.clone());
            }
        }
        // The tree and the copy are both in key order: walk them side by side, and
        // parse only what was added or changed since.
        let (old_stored, old_cases) = match copy.take() {
            Some(c) => (c.stored, c.cases),
            None => (Vec::new(), Arc::default()),
        };
        let mut old = old_stored.iter().zip(old_cases.iter()).peekable();
        let (mut stored, mut cases) = (Vec::new(), Vec::new());
        for item in self.cases.iter() {
            let (key, value) = item?;
            while old.peek().is_some_and(|((k, _), _)| *k < key) {
                old.next();
            }
            let kept = match old.peek() {
                Some(((k, v), case)) if *k == key && *v == value => Some((*case).clone()),
                _ => None,
            };
            let case = match kept {
                Some(case) => case,
                None => parse_case(&key, &value)?,
            };
            stored.push((key, value));
            cases.push(case);
        }
        let cases = Arc::new(cases);
        *copy = Some(CasesCopy {
            generation,
            stored,
            cases: cases.clone(),
        });
        Ok(cases)
    }

    pub fn cases(&self) -> Result<Vec<Case>, StoreError> {
        let mut out = Vec::new();
        for item in self.cases.iter() {
            let (key, value) = item?;
            out.push(parse_case(&key, &value)?);
        }
        Ok(out)
    }

    fn indexed_case(&self, key: &str) -> Result<Option<Case>, StoreError> {
        match self.case_index.get(key)? {
            Some(token) => self.case(&String::from_utf8_lossy(&token)),
            None => Ok(None),
        }
    }

    pub fn case_for_thread(&self, message_id: &MessageId) -> Result<Option<Case>, StoreError> {
        self.indexed_case(&thread_key(message_id))
    }

    /// The latest case of `address` for `service`.
    pub fn case_for_sender(
        &self,
        address: &str,
        service: &str,
    ) -> Result<Option<Case>, StoreError> {
        self.indexed_case(&sender_key(service, address))
    }

    /// The latest case of `address` among `services`, the one changed last.
    pub fn latest_case_for_sender<'s>(
        &self,
        address: &str,
        services: impl IntoIterator<Item = &'s str>,
    ) -> Result<Option<Case>, StoreError> {
        let mut latest: Option<Case> = None;
        for service in services {
            if let Some(c) = self.case_for_sender(address, service)? {
                if latest.as_ref().is_none_or(|l| c.updated_at > l.updated_at) {
                    latest = Some(c);
                }
            }
        }
        Ok(latest)
    }

    /// The institution `owner`'s case of `service` for the information system `name`,
    /// the newest if several.
    pub fn case_for_system(
        &self,
        owner: &str,
        service: &str,
        name: &str,
    ) -> Result<Option<Case>, StoreError> {
        Ok(self
            .cases()?
            .into_iter()
            .filter(|c| c.owner() == owner && c.service == service && c.is_for_system(name))
            .max_by_key(|c| c.updated_at))
    }

    /// The certificates our cases accepted, as registry entries (see
    /// [`crate::process::case_certificate_entries`]): from every mail record that got
    /// one accepted in a case still kept.
    pub fn case_certificates(
        &self,
        procedures: &crate::procedure::Catalogue,
    ) -> Result<Registry, StoreError> {
        let mut cases: std::collections::HashMap<String, Option<Case>> = Default::default();
        let mut entries = Vec::new();
        for record in self.seen_records()? {
            let Some(token) = record.case.as_deref() else {
                continue;
            };
            if record.accepted.is_empty() || record.held {
                continue;
            }
            let case = match cases.get(token) {
                Some(c) => c.clone(),
                None => {
                    let c = self.case(token)?;
                    cases.insert(token.to_string(), c.clone());
                    c
                }
            };
            if let Some(case) = case {
                entries.extend(crate::process::case_certificate_entries(
                    &record.accepted,
                    &case,
                    procedures,
                ));
            }
        }
        Ok(Registry::from_entries(entries))
    }

    /// The case `issuer`'s certificate `serial` was first accepted in, if any.
    pub fn certificate_case(
        &self,
        issuer: &str,
        serial: &str,
    ) -> Result<Option<CertificateCase>, StoreError> {
        let found: Option<CertificateCase> = Self::get(
            &self.certificate_cases,
            CERTIFICATE_CASES_TREE,
            &String::from_utf8_lossy(&certificate_key(issuer, serial)),
        )?;
        Ok(found.map(|f| CertificateCase {
            serial: f.serial.or_else(|| Some(serial.to_string())),
            issuer: f.issuer.or_else(|| Some(issuer.to_string())),
            ..f
        }))
    }

    pub fn save_case(&self, case: &Case) -> Result<(), StoreError> {
        let _writing = self.writing();
        let _cases = self.changing_cases();
        self.cases.insert(case.token.as_bytes(), to_json(case))?;
        self.case_index.insert(
            sender_key(&case.service, &case.applicant).as_bytes(),
            case.token.as_bytes(),
        )?;
        self.flush()
    }
}

/// The index key of `address`'s latest case of `service`: MNotify's keeps the form it
/// had before services were told apart (`sender/{address}`).
pub fn sender_key(service: &str, address: &str) -> String {
    let address = address.to_ascii_lowercase();
    if service == crate::procedure::MNOTIFY {
        format!("sender/{address}")
    } else {
        format!("sender/{service}/{address}")
    }
}
