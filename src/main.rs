//! `mnotify-intake`: parse the command line, run the command, map errors to exit codes.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mnotify-intake: error: {}", said_once(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each said once: most of our errors already name their
/// cause in their own words, and a cause repeated after them only confuses.
fn said_once(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let words = cause.to_string();
        if !text.contains(&words) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&words);
        }
    }
    text
}
