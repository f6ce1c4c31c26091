//! mnotify-intake: reads the e-mails institutions send to AGE's mailbox for the
//! certificate step of platform-service onboarding (MNotify, MPass, MSign, MLog, MDocs:
//! the STISC system certificate, or the serial number of one already registered for
//! another service) and decides what happens next.
//!
//! # Layout
//! Two crates in one workspace. The pure core, `mnotify-core` (`crates/core`), is
//! bytes → facts → decision → plan with the time passed in, and depends on no async
//! runtime, store, mail transport or HTTP client; its modules are re-exported here
//! under the same names: [`intake`], [`serials`], [`integration`], [`certificate`],
//! [`registry`], [`import`], [`trust`], [`problem`], [`procedure`], [`decision`],
//! [`analysis`], [`case`], [`calendar`], [`process`], [`record`], [`reply`],
//! [`digest`], [`report`], [`revocation`] (its CRL reading and verdicts), [`pace`],
//! [`health`] and the `testkit` (feature). Its `lib.rs` has their map.
//!
//! At the edges:
//! - [`store`]: the only module that names sled (trees, keys, transactions).
//! - [`mailbox`]: IMAP, and [`mailbox::MailboxOps`], the operations the daemon's inbox
//!   and copy policies use (an in-process stub stands in for unit tests), and
//!   [`mailbox::Layout`], the server's namespace and special-use folders (pure);
//!   [`smtp`]: sending ([`smtp::Transport`], likewise), with [`pace`] (pure) the
//!   provider's sending limits the outbox keeps; [`secret`]: passwords and tokens;
//!   [`secret::oauth2`]: app-only tokens fetched by the client-credentials grant.
//! - [`control`]: the local control socket (server in the daemon, client in commands).
//! - [`daemon`]: the session loop (`daemon/mod.rs`), the inbox pass (`inbox.rs`), one
//!   message from bytes to commit, read off the loop within a deadline (`message.rs`),
//!   the junk folder (`junk.rs`), the outbox (`outbox.rs`), chores (`chores.rs`);
//!   [`routine`]: the daily digest and reminders.
//! - [`revocation`]: the core's CRL verdicts, and [`revocation::keeper`], which reads
//!   CRL files and fetches the certificates' distribution points over HTTP.
//! - [`staff`]: staff requests → the changes they make, applied to the store.
//! - [`check`]: `check`, every part tried without changing anything.
//! - [`config`]: the TOML configuration, validated.
//! - `testkit` (feature): test PKI and mail builders for tests, benches and the demo,
//!   hostile mail shapes (`testkit::hostile`) and faults injected into the daemon's
//!   reading of a mail (`testkit::faults`, only when the environment asks).
#![forbid(unsafe_code)]

pub use mnotify_core::{
    analysis, calendar, case, certificate, decision, digest, health, import, intake, integration,
    pace, problem, procedure, process, record, registry, reply, report, serials, trust,
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
