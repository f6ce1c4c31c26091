//! `mnotify-intake`: parse the command line, run the command, map errors to exit codes.
#![forbid(unsafe_code)]

mod cli;
mod staff_cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mnotify-intake: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
