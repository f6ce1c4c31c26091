//! mnotify-intake: reads the e-mails institutions send to AGE for step 3 of MNotify
//! onboarding (the STISC system certificate, or the serial number of one already
//! registered for MPass, MSign or MDocs) and decides what happens next.
//!
//! # Layout
//! The core is pure: bytes → facts → decision, with the time passed in.
//!
//! - [`intake`]: raw e-mail bytes → [`intake::Facts`] (MIME walk, attachments, archives,
//!   body text without quoted mail, automatic-mail detection, language).
//! - [`serials`]: serial numbers and thumbprints quoted in text, and their canonical form.
//! - [`certificate`]: DER/PEM/PKCS#7 decoding, private-key and CSR detection, validation
//!   against the configured trust anchors.
//! - [`registry`]: the known certificates and their lookups (issuer+serial, serial,
//!   thumbprints); CSV and certificate-file import.
//! - [`decision`]: the decision vocabulary and the rules that pick one per message.
//! - [`analysis`]: the whole pipeline for one message, as used by `inspect`.
//! - [`import`]: `registry import` files (CSV or certificates) → registry records.
//! - [`store`]: the only module that names sled.
//! - [`config`]: the TOML configuration, validated.
//! - [`report`]: `inspect` output for people and for tools (JSON lines).
#![forbid(unsafe_code)]

pub mod analysis;
pub mod case;
pub mod certificate;
pub mod check;
pub mod config;
pub mod control;
pub mod daemon;
pub mod decision;
pub mod digest;
pub mod import;
pub mod intake;
pub mod integration;
pub mod mailbox;
pub mod problem;
pub mod process;
pub mod registry;
pub mod reply;
pub mod report;
pub mod routine;
pub mod secret;
pub mod serials;
pub mod smtp;
pub mod staff;
pub mod store;
pub mod trust;

#[cfg(feature = "testkit")]
pub mod testkit;
