//! Answers staff write in the mailbox itself (Outlook): the Sent folder (`[imap]
//! sent_folder`, or the folder the server marks `\Sent`; Exchange Online's "Sent
//! Items") is looked at after each pass. A mail there from the mailbox's own address
//! that the daemon did not write, threaded to a case's mail or carrying a case tag, and
//! addressed to the case's applicant or institution, is recorded in that case: its
//! conversation, its timeline, the open question answered, the response clock stopped.
//! Nothing is sent for it. What was in Sent before the first start is history; a copy
//! that no case is theirs is left alone and counted (`status`).

use super::*;
use crate::conversation::SentCopy;
use crate::mailbox::Part;

/// Copies read per look (the rest at the next pass).
const BATCH: usize = 200;

impl Daemon {
    /// One look at the Sent folder; selects the inbox again after it (the inbox pass
    /// that follows selects it anyway).
    pub(super) async fn scan_sent(&mut self, mb: &mut Mailbox) -> Result<(), DaemonError> {
        let Some(sent) = self.imap.sent_folder.clone() else {
            return Ok(());
        };
        let validity = match mb.select(&sent).await {
            Ok(v) => v,
            // No Sent folder (yet): nothing staff wrote there to find.
            Err(e) if mb.refused(&e).await => {
                debug!(folder = %sent, "Sent folder not there: {e}");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let mark = self.store.sent_mark(validity)?;
        let fresh = match mark {
            Some(mark) => mb.uids_after(mark).await?,
            None => self.sent_since_first_start(mb).await?,
        };
        let batch: Vec<u32> = fresh.iter().copied().take(BATCH).collect();
        let Some(&last) = batch.last() else {
            if mark.is_none() {
                let highest = mb.uids().await?.last().copied().unwrap_or(0);
                self.store.set_sent_mark(validity, highest, 0)?;
            }
            return Ok(());
        };
        let mut untied = 0;
        for (uid, head) in mb.fetch(&batch, Part::Header).await? {
            let copy = SentCopy::read(&head, &self.config.own_addresses);
            if copy.ours || !copy.from_mailbox {
                continue;
            }
            let Some(case) = self.answered_case(&copy)? else {
                untied += 1;
                info!(
                    uid,
                    subject = copy.facts.subject.as_deref().unwrap_or("-"),
                    "a mail in Sent is tied to no case; left alone"
                );
                continue;
            };
            self.record_mailbox_answer(mb, uid, case).await?;
        }
        self.store.set_sent_mark(validity, last, untied)?;
        Ok(())
    }

    /// The Sent folder's UIDs of mail that arrived since the first start (what came
    /// before is history), for the first look at a folder.
    async fn sent_since_first_start(&mut self, mb: &mut Mailbox) -> Result<Vec<u32>, DaemonError> {
        let since = (self.first_start - time::Duration::days(1)).date();
        let uids = mb.uids_since(Some(since)).await?;
        let cut = self.first_start.unix_timestamp();
        Ok(mb
            .sizes(&uids)
            .await?
            .into_iter()
            .filter(|&(_, _, arrived)| arrived.is_none_or(|t| t >= cut))
            .map(|(uid, _, _)| uid)
            .collect())
    }

    /// The case a copy in Sent answers: named by its tag or thread, and addressed to
    /// that case's applicant or institution.
    fn answered_case(&self, copy: &SentCopy) -> Result<Option<crate::case::Case>, DaemonError> {
        Ok(self
            .store
            .case_of_keys(&process::case_keys(&copy.facts))?
            .filter(|case| copy.answers(case)))
    }

    /// Reads the whole copy and records it in `case`, once.
    async fn record_mailbox_answer(
        &mut self,
        mb: &mut Mailbox,
        uid: u32,
        case: crate::case::Case,
    ) -> Result<(), DaemonError> {
        let Some((_, raw)) = mb.fetch(&[uid], Part::Whole).await?.into_iter().next() else {
            return Ok(());
        };
        let copy = SentCopy::read(&raw, &self.config.own_addresses);
        let digest = process::content_digest(&raw, &copy.facts);
        let identity = process::identity(copy.facts.message_id.as_deref(), &digest);
        if self.store.mailbox_answer_recorded(&identity)? {
            return Ok(());
        }
        let at = now();
        let by = copy.facts.from.clone().unwrap_or_default();
        let procedure = self.config.procedures.procedure_of(&case.service);
        let event = crate::case::Event::AnswerSent {
            by: &by,
            in_mailbox: true,
        };
        let (mut next, _) = crate::case::apply(procedure, &case, event, at);
        let thread_id = process::message_id_of(&identity);
        if let Some(id) = &thread_id {
            next.message_ids.push(id.bare().to_string());
        }
        let bare = thread_id.as_ref().map(|m| m.bare().to_string());
        let letter = copy.letter(bare, &next.token, at);
        self.store
            .commit_mailbox_answer(&identity, &next, &letter, thread_id.as_ref())?;
        info!(case = %next.token, uid, "answer written in the mailbox recorded in the case");
        Ok(())
    }
}
