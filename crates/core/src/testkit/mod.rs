//! Test support, compiled only with the `testkit` feature: a throw-away PKI and e-mails
//! built the way real clients build them. Used by the integration tests, the benchmarks
//! and the demo data generator; never by the daemon.

pub mod faults;
pub mod hostile;
pub mod mail;
pub mod pki;

/// The certificate generator, for tests that need more than the helpers give.
pub use rcgen;
