//! Integration tests: one binary, helpers in `util`.

mod cli;
mod corpus;
mod decisions;
mod formats;
mod util;
