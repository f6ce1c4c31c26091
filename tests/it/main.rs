//! Integration tests: one binary, helpers in `util`.

mod abuse;
mod backups;
mod cases;
mod cli;
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
mod procedures;
mod revocation;
mod security;
mod servers;
mod service;
mod stack;
mod util;
