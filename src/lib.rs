//! mnotify-intake: reads the e-mails institutions send to AGE's mailbox for the
//! certificate step of platform-service onboarding (MNotify, MPass, MSign, MLog, MDocs:
//! the STISC system certificate, or the serial number of one already registered for
//! another service) and decides what happens next.
//!
//! # Layout
//! Two crates in one workspace. The pure core, `mnotify-core` (`crates/core`), is
//! bytes → facts → decision → plan with the time passed in, and depends on no async
//! runtime, store, mail transport or HTTP client (`scripts/test` checks its dependency
//! tree); its modules are re-exported here under the same names: [`intake`],
//! [`serials`], [`integration`], [`certificate`], [`registry`], [`import`], [`trust`],
//! [`problem`], [`procedure`], [`decision`], [`analysis`], [`case`], [`calendar`],
//! [`process`] (one message: judge → what to look up → where it lands → the plan of
//! one commit, delivery reports included), [`record`], [`reply`] (with
//! [`reply::ReplyKind`]), [`digest`], [`report`], [`pace`], [`health`], and the pure
//! half of [`staff`] and [`revocation`]. Its `lib.rs` has their map. No two top-level
//! modules of either crate use each other (`scripts/layout-check`).
//!
//! One message goes down the layers once (`daemon/message.rs`, `handle_as`): read off
//! the loop → [`process::judge`] → [`process::lookup()`] says what to ask the store,
//! [`store::Store::look_up`] answers in one call, [`process::known`] picks the case →
//! [`process::plan`] → one [`store::MessageCommit`].
//!
//! At the edges:
//! - [`daemon`]: [`daemon::serve`] runs the daemon as a process does (the mail loop and
//!   every task beside it, one shutdown); the session loop (`daemon/mod.rs`, the
//!   connection's state in `Session`), the inbox pass (`inbox.rs`, its `Inbox`), one
//!   message (`message.rs`), the junk folder (`junk.rs`), the outbox (`outbox.rs`, its
//!   `Outbox`), chores (`chores.rs`, its `Chores`); [`routine`]: the daily digest and
//!   reminders.
//! - [`store`]: the only module that names sled (trees, keys, transactions).
//! - [`mailbox`]: IMAP, and [`mailbox::MailboxOps`], the operations the daemon's inbox
//!   and copy policies use (an in-process stub stands in for unit tests), and
//!   [`mailbox::Layout`], the server's namespace and special-use folders (pure);
//!   [`smtp`]: sending ([`smtp::Transport`], likewise); [`tls`]: the TLS clients'
//!   roots; [`secret`]: passwords and tokens, [`secret::oauth2`]: app-only tokens
//!   fetched by the client-credentials grant.
//! - [`control`]: the local control socket (server in the daemon, client in commands).
//! - [`web`]: the staff console (`[web]`): OpenID Connect sign-in, sessions, the pages
//!   over the store, every change a staff request as from the control socket.
//! - [`revocation`]: the core's CRL verdicts, and [`revocation::keeper`], which reads
//!   CRL files and fetches the certificates' distribution points over HTTP.
//! - [`staff`]: the core's staff requests ([`staff::CaseAction`],
//!   [`staff::StoreRequest`]) and planner, executed against the store
//!   ([`staff::Service::submit`], answering [`staff::Answer`]).
//! - [`check`]: `check`, every part tried without changing anything.
//! - [`config`]: the TOML configuration, validated.
//! - `testkit` (feature): the core's test PKI, mail builders, hostile mail and faults,
//!   the real mail stack's driver (`testkit::stack`) and `testkit::wait::eventually`,
//!   for tests, benches and the demo.
//! - The binary (`src/main.rs`, `src/cli/`): clap, `run` (logging, umask, signals
//!   around [`daemon::serve`]), the staff and store commands.
#![forbid(unsafe_code)]

pub use mnotify_core::{
    analysis, calendar, case, certificate, conversation, decision, digest, health, import, intake,
    integration, pace, problem, procedure, process, queue, record, registry, remark, reply, report,
    serials, trust,
};

pub mod check;
pub mod config;
pub mod control;
pub mod daemon;
pub mod mailbox;
pub mod metrics;
pub mod notify;
pub mod revocation;
pub mod routine;
pub mod secret;
pub mod smtp;
pub mod staff;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod web;
