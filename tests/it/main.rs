//! Integration tests: one binary; what they share is in `support`.

mod abuse;
mod backups;
mod cases;
mod cli;
mod console;
mod console_registry;
mod control;
mod corpus;
mod daemon;
mod decisions;
mod exchange;
mod faults;
mod formats;
mod golden;
mod health;
mod hygiene;
mod junk;
mod limits;
mod oauth2;
mod oauth_app;
mod one_truth;
mod procedures;
mod revocation;
mod security;
mod servers;
mod staff_language;
mod support;

use support::{browser, mail, service, stack, util};
