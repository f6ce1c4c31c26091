//! Staff changes that touch two cases at once (`cases merge`, `cases split`): both
//! cases, and where the first case's mail now goes, in one transaction.

use super::*;

impl Store {
    /// Saves `cases` and points `thread_ids` and the sender `address` (if any) at
    /// `to`, marking the staff request `request_id` applied, together.
    pub fn commit_cases(
        &self,
        request_id: &str,
        cases: &[&Case],
        thread_ids: &[MessageId],
        address: Option<&str>,
        to: &str,
    ) -> Result<(), StoreError> {
        let _writing = self.writing();
        let _cases = self.changing_cases();
        let service = cases
            .iter()
            .find(|c| c.token == to)
            .map_or(crate::procedure::MNOTIFY, |c| c.service.as_str());
        let sender = address.map(|a| sender_key(service, a));
        let jsons: Vec<(String, Vec<u8>)> = cases
            .iter()
            .map(|c| (c.token.clone(), to_json(c)))
            .collect();
        let result =
            (&self.seen, &self.cases, &self.case_index).transaction(|(seen, cases, index)| {
                seen.insert(format!("request/{request_id}").as_bytes(), &[])?;
                for (token, json) in &jsons {
                    cases.insert(token.as_bytes(), json.as_slice())?;
                }
                for id in thread_ids {
                    index.insert(thread_key(id).as_bytes(), to.as_bytes())?;
                }
                if let Some(key) = &sender {
                    index.insert(key.as_bytes(), to.as_bytes())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        committed(result)?;
        self.flush()
    }

    /// The case mail for `case` goes to: itself, or the case staff merged it into
    /// (followed a few steps).
    pub fn current_case(&self, case: Case) -> Result<Case, StoreError> {
        let mut case = case;
        for _ in 0..4 {
            let Some(next) = case.merged_into.clone() else {
                break;
            };
            match self.case(&next)? {
                Some(c) => case = c,
                None => break,
            }
        }
        Ok(case)
    }
}
