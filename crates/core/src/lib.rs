//! mnotify-core: the pure core of mnotify-intake, which reads the e-mails institutions
//! send to AGE's mailbox for the certificate step of platform-service onboarding
//! (MNotify, MPass, MSign, MLog, MDocs: the STISC system certificate, or the serial
//! number of one already registered for another service) and decides what happens next.
//!
//! # Layout
//! Everything here is pure: bytes → facts → decision → plan, with the time passed in.
//! The crate depends on no async runtime, store, mail transport or HTTP client (its
//! manifest says so); the daemon, the store and the mail edges are in `mnotify-intake`,
//! which re-exports these modules under the same names.
//!
//! - [`intake`]: raw e-mail bytes → [`intake::Facts`] (MIME walk, attachments, archives,
//!   Outlook's `winmail.dat` ([`intake::tnef`]), large attachments nothing reads cut
//!   before parsing,
//!   body text without quoted mail, automatic mail, delivery reports, language).
//! - [`serials`]: serial numbers and thumbprints quoted in text, and their canonical form.
//! - [`integration`]: onboarding step-4 data (system name, IP addresses, channels) in a mail.
//! - [`certificate`]: DER/PEM/PKCS#7 decoding, private-key and CSR detection, validation
//!   against the configured trust anchors.
//! - [`registry`]: the known certificates and their lookups (issuer+serial, serial,
//!   thumbprints); [`import`]: `registry import` files (CSV or certificates) → records.
//! - [`trust`]: who sent a mail (`Authentication-Results` of our own MX, or Exchange
//!   Online's above its front door, [`trust::exchange`]), organizational domains; the
//!   trust boundary's facts.
//! - [`problem`]: the problem codes and their wording.
//! - [`procedure`]: each platform service's onboarding procedure as data (steps, who
//!   acts, what a mail completes, links, wording), validated, with the published ones
//!   built in; [`procedure::mention`]: which services a mail asks to connect to.
//! - [`decision`]: the decision vocabulary and the rules that pick one per message;
//!   [`analysis`]: the whole pipeline for one message, as `inspect` uses it.
//! - [`case`]: the onboarding state machine, `(procedure, case, event, now) → (case,
//!   actions)`, a case's steps its service's procedure's,
//!   and AGE's response clock ([`case::clock`]) counted in [`calendar`] working days.
//! - [`process`]: one message → [`process::judge`] (who sent it, held or not, where an
//!   answer goes) → the store lookups it names ([`process::case_keys`], caps,
//!   certificates' cases) → [`process::plan`], the changes of one commit (case, record,
//!   reply, counters); staff requests are planned in `mnotify_intake::staff`.
//! - [`conversation`]: a case's mails in order (the applicant's, ours, staff answers) as
//!   staff read them.
//! - [`record`]: the records the domain owns and the store keeps: what became of a mail
//!   ([`record::Outcome`], [`record::SeenRecord`]), certificates accepted, the outbox,
//!   Message-IDs in one canonical form ([`record::MessageId`]).
//! - [`reply`]: templates and their context, threading headers, our replies built by
//!   `mail-builder`; [`digest`]: the staff digest (sections defined once, rendered as
//!   text and HTML) and its schedule; [`report`]: `inspect` output for people and tools.
//!
//! - [`revocation`]: CRLs read and checked, and the verdicts they give (fetching them is
//!   the daemon's `revocation::keeper`); [`pace`]: a provider's sending limits;
//!   [`queue`]: the staff queue (what waits on the agency first, filters, search, pages);
//!   [`health`]: the daemon's health verdict.
//! - [`words`]: the staff's word tables (key → ro, en, ru), checked alike.
//! - `testkit` (feature): test PKI and mail builders for tests, benches and the demo,
//!   hostile mail shapes (`testkit::hostile`) and faults injected into the daemon's
//!   reading of a mail (`testkit::faults`, only when the environment asks).
#![forbid(unsafe_code)]

pub mod analysis;
pub mod calendar;
pub mod case;
pub mod certificate;
pub mod conversation;
pub mod decision;
pub mod digest;
pub mod health;
pub mod html;
pub mod import;
pub mod intake;
pub mod integration;
pub mod language;
pub mod pace;
pub mod problem;
pub mod procedure;
pub mod process;
pub mod queue;
pub mod record;
pub mod registry;
pub mod remark;
pub mod reply;
pub mod report;
pub mod revocation;
pub mod serials;
pub mod staff;
pub mod trust;
pub mod words;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
