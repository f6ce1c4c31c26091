//! `status`: the store's summary, typed. The daemon answers it as JSON (what
//! `status --json` prints, its keys as they always were); the command reads the same
//! type back to say it in the staff language.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{MessageId, OutboxState};
use crate::store::{Store, StoreError};

/// The store's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// When the daemon first ran on this store (RFC 3339), if it has.
    pub first_start: Option<String>,
    /// Messages handled, by outcome code.
    pub messages: BTreeMap<String, u64>,
    /// Cases waiting for a person to answer the applicant's question.
    pub questions_open: u64,
    /// Mail in Sent from the mailbox that no case was theirs (left alone).
    #[serde(default)]
    pub sent_left_alone: u64,
    pub cases: u64,
    pub cases_by_service: BTreeMap<String, u64>,
    pub outbox: OutboxCounts,
    /// Every reply given up, with why.
    pub failed: Vec<FailedReply>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedReply {
    pub message_id: MessageId,
    pub to: String,
    pub attempts: u32,
    pub error: Option<String>,
}

/// The store's summary now.
pub fn report(store: &Store) -> Result<StatusReport, StoreError> {
    let mut messages: BTreeMap<String, u64> = BTreeMap::new();
    for record in store.seen_records()? {
        *messages
            .entry(record.outcome.code().to_string())
            .or_default() += 1;
    }
    let outbox = store.outbox()?;
    let count = |state: OutboxState| outbox.iter().filter(|e| e.state == state).count() as u64;
    let first_start = store.first_started()?.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    let cases = store.cases()?;
    let mut cases_by_service: BTreeMap<String, u64> = BTreeMap::new();
    for c in &cases {
        *cases_by_service.entry(c.service.clone()).or_default() += 1;
    }
    // A question mail's decision stays need_certificate: the questions are counted
    // beside the decisions, from the cases that wait on a person for an answer.
    let questions_open = cases
        .iter()
        .filter(|c| c.question.is_some() && c.merged().is_none())
        .count() as u64;
    Ok(StatusReport {
        first_start,
        messages,
        questions_open,
        sent_left_alone: store.sent_untied()?,
        cases: cases.len() as u64,
        cases_by_service,
        outbox: OutboxCounts {
            pending: count(OutboxState::Pending),
            sent: count(OutboxState::Sent),
            failed: count(OutboxState::Failed),
        },
        failed: outbox
            .iter()
            .filter(|e| e.state == OutboxState::Failed)
            .map(|e| FailedReply {
                message_id: e.message_id.clone(),
                to: e.to.clone(),
                attempts: e.attempts,
                error: e.last_error.clone(),
            })
            .collect(),
    })
}
