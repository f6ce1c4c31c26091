//! For tests, benches and the demo (the `testkit` feature): the core's certificate
//! authorities and mail builders, hostile mail shapes and faults
//! ([`mnotify_core::testkit`]), and the driver of the real mail stack the end-to-end
//! tests run on ([`stack`]).

pub use mnotify_core::testkit::*;

pub mod stack;
pub mod wait;
