//! The first judgement of a mail, before the store is asked about it: who sent it as
//! our receiving server authenticated them, whether they may be believed, whether it
//! waits for staff, and where an answer would go. Made once per mail; the daemon's
//! lookups and the plan both follow it.

use crate::decision::Decision;
use crate::intake::Facts;
use crate::record::Outcome;
use crate::remark::Remark;
use crate::trust::{self, domain, Policy, SenderRule};

use super::Content;

/// What a mail is and who may be believed.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub sender: trust::Sender,
    /// Staff vouched for the sender of this held mail (who).
    pub vouched_by: Option<String>,
    /// Authenticated, vouched for, or authentication not required.
    pub trusted: bool,
    /// Processed although not authenticated (`senders = "flag"`).
    pub flagged: bool,
    /// Would change a case or get a real answer, from a sender we cannot believe: it
    /// changes nothing and waits for staff.
    pub held: bool,
    /// The institution the mail speaks for: proven, or (without `require`) claimed.
    pub institution: Option<String>,
    pub outcome: Outcome,
    /// Filed for people (not about MNotify, unreadable, oversized).
    pub for_people: bool,
    /// Its decision gets an answer.
    pub wants_reply: bool,
    /// Where an answer goes: [`reply_address`], or the bare `From:` of held mail.
    pub recipient: Option<String>,
    /// What the sender wrote may be quoted back: only to an authenticated sender (or
    /// to anyone, when the operator turned sender authentication off).
    pub echo: bool,
}

impl Judgement {
    /// The sender's own case may be looked up: only for a sender we believe.
    pub fn may_use_sender_case(&self) -> bool {
        self.sender.authenticated || self.vouched_by.is_some()
    }

    /// For the record of a held mail staff vouched for: whom they vouched for.
    pub fn vouched_note(&self) -> Option<Remark> {
        let by = self.vouched_by.as_ref()?;
        Some(Remark::SenderVouched {
            reason: self.sender.reason.clone(),
            by: by.clone(),
        })
    }

    /// For the record of a held mail: why it is held.
    pub fn held_note(&self) -> Option<Remark> {
        self.held.then(|| Remark::SenderHeld {
            reason: self.sender.reason.clone(),
        })
    }

    /// The sender as timelines record it, with who vouched for them.
    pub fn who(&self) -> String {
        match &self.vouched_by {
            Some(by) => format!("{}, accepted by {by}", self.sender.describe()),
            None => self.sender.describe(),
        }
    }
}

/// Judges one mail. `vouched_by`: staff accepted it by hand (`held accept`).
pub fn judge(content: Content<'_>, vouched_by: Option<String>, policy: &Policy) -> Judgement {
    let facts = content.facts();
    let sender = trust::assess(&facts.trace, facts.from.as_deref(), policy);
    let rule = policy.senders;
    let vouched = vouched_by.is_some();
    let trusted = sender.authenticated || vouched || rule != SenderRule::Require;
    let institution = sender.identity().or_else(|| {
        trusted
            .then(|| sender.domain.as_deref().map(domain::organizational))
            .flatten()
    });
    let automatic = facts.automatic.is_some();
    let (outcome, for_people, wants_reply) = match content {
        Content::Analysed(a) => (
            Outcome::from(a.decision),
            a.decision == Decision::NotApplicable || a.facts.unparseable,
            answers(a.decision),
        ),
        Content::Oversized { .. } => (Outcome::Oversized, true, !automatic),
    };
    let held = wants_reply && !trusted;
    let recipient = if held {
        sender.address.clone()
    } else {
        reply_address(facts)
    };
    Judgement {
        flagged: !sender.authenticated && !vouched && rule == SenderRule::Flag && wants_reply,
        echo: sender.authenticated || vouched || rule == SenderRule::Off,
        sender,
        vouched_by,
        trusted,
        held,
        institution,
        outcome,
        for_people,
        wants_reply,
        recipient,
    }
}

/// Whether a decision gets a reply at all.
pub(super) fn answers(decision: Decision) -> bool {
    !matches!(
        decision,
        Decision::NotApplicable | Decision::IgnoredAutomatic
    )
}

/// Where a reply goes: the `From:` address; a `Reply-To:` only inside the same
/// organizational domain (anything else would let a sender have us mail a stranger).
pub fn reply_address(facts: &Facts) -> Option<String> {
    let clean = |a: &str| Some(a.trim().to_ascii_lowercase()).filter(|a| a.contains('@'));
    let from = facts.from.as_deref().and_then(clean)?;
    let reply_to = facts.reply_to.as_deref().and_then(clean);
    match (reply_to, domain::of_address(&from)) {
        (Some(r), Some(from_domain))
            if domain::of_address(&r).is_some_and(|d| domain::aligned(&d, &from_domain)) =>
        {
            Some(r)
        }
        _ => Some(from),
    }
}
