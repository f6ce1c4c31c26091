//! What the end-to-end tests share: the mail stack ([`stack`], the driver is the
//! library's `testkit::stack`), a daemon's files and commands ([`service`]), the mail
//! they send and read ([`mail`]), and fixed times and the PKI world of the pure tests
//! ([`util`]).

pub mod browser;
pub mod mail;
pub mod service;
pub mod stack;
pub mod util;
