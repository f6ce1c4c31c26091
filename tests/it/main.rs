//! Integration tests: one binary; what they share is in `support`. Each module's
//! charter is the line above it: a new test goes where its charter says.

// What a stranger can make the daemon spend: floods, loops, bounces, huge mail.
mod abuse;
// Backups, restores and a store that is never silently new.
mod backups;
// A case's life: steps, staff changes, questions, merge and split, the digest.
mod cases;
// The binary as users and tools run it: its commands, output formats and errors.
mod cli;
// The staff console in Chromium: sign-in, roles, case pages, hostile text.
mod console;
// The console's registry page: import, preview, forged posts.
mod console_registry;
// The control socket: who may ask the running daemon, and what.
mod control;
// Staff in the conversation: the case's mails, answers from the case and from Outlook.
mod conversation;
// Real, often malformed messages (CPython's corpus) never crash or get lost.
mod corpus;
// The mail loop end to end: fetch, decide, reply, file, exactly once.
mod daemon;
// One test per decision and problem code, on mails built like real ones.
mod decisions;
// Exchange Online as the receiving server: its stamps and its front door.
mod exchange;
// Faults: kills mid-drain, servers restarted or gone, nothing lost or sent twice.
mod faults;
// Every way a certificate reaches us: DER, PEM, PKCS#7, archives, pasted text.
mod formats;
// Golden replies: every reply in every language, byte for byte.
mod golden;
// Monitoring: metrics and health as an operator's tools read them.
mod health;
// Rules that let the end-to-end tests share one stack side by side.
mod hygiene;
// The junk folder: authenticated applicants found there, the rest left alone.
mod junk;
// Sending limits: pace, daily ceiling, quota refusals.
mod limits;
// XOAUTH2 bearer logins to IMAP and SMTP.
mod oauth2;
// App-only OAuth built in ([oauth2]) against a real OAuth server.
mod oauth_app;
// One truth: replies, cases show, the console and the digest say one state.
mod one_truth;
// The five services on one mailbox: their cases, steps and replies.
mod procedures;
// Revocation lists fetched, cached and applied.
mod revocation;
// The trust boundary attacked: forgeries, pre-emption, redirects, escaping.
mod security;
// What differs between IMAP servers (Cyrus beside Dovecot).
mod servers;
// Staff texts in the staff language, nothing in another.
mod staff_language;
mod support;

use support::{browser, mail, service, stack, util};
