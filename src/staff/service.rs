//! The one staff service: every staff request, from the CLI (on the store itself when
//! no daemon runs), the control socket or the console, is submitted here. It is
//! applied once by its request id ([`super::execute`]), a change is logged under the
//! person who asked, and the mail loop is woken only when something changed (a notice
//! to send, a digest queued, a registry to reload).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;
use tracing::info;

use super::{execute, Answer, Desk, Request, StaffAction, StaffError, StoreRequest};
use crate::config::Config;
use crate::intake::Language;
use crate::reply::Templates;
use crate::store::Store;

/// What the staff service works with, shared by the daemon's control socket and its
/// console (each stands beside the other, neither on the other).
pub struct Service {
    pub store: Store,
    pub config: Config,
    pub templates: Templates,
    /// Wakes the mail loop: a notice to send, a digest queued.
    pub poke: Arc<Notify>,
    /// Set when the registry changed: the mail loop reloads it.
    pub registry_changed: Arc<AtomicBool>,
}

impl Service {
    /// Applies `request` (once by its id) and answers it in `language`; on a change,
    /// logs it and wakes the mail loop.
    pub fn submit(
        &self,
        request: &Request,
        language: Language,
        now: OffsetDateTime,
    ) -> Result<Answer, StaffError> {
        let mut desk = Desk::new(&self.config, &self.templates);
        desk.language = language;
        let answer = execute(&self.store, request, &desk, now)?;
        if matches!(answer, Answer::Done(_)) && changes(&request.action) {
            let service = self
                .store
                .case(&request.case)
                .ok()
                .flatten()
                .map(|c| c.service)
                .unwrap_or_default();
            let procedure = self.config.procedures.procedure_of(&service);
            info!(by = %request.by, case = %request.case, action = %request.action.describe(procedure), "staff request applied");
            if matches!(
                request.action,
                StaffAction::Store(StoreRequest::RegistryImport { .. })
            ) {
                self.registry_changed.store(true, Ordering::SeqCst);
            }
            self.poke.notify_one();
        }
        Ok(answer)
    }
}

/// Whether a request changes something the mail loop must act on (a read does not).
fn changes(action: &StaffAction) -> bool {
    !matches!(
        action,
        StaffAction::Store(StoreRequest::Cases)
            | StaffAction::Store(StoreRequest::Registry)
            | StaffAction::Store(StoreRequest::Ping)
            | StaffAction::Store(StoreRequest::Conversation)
            | StaffAction::Store(StoreRequest::Status)
            | StaffAction::Store(StoreRequest::Backup)
            | StaffAction::Store(StoreRequest::HeldList)
            | StaffAction::Store(StoreRequest::Digest { send: false, .. })
    )
}
