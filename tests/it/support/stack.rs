//! The mail stack driver (`mnotify_intake::testkit::stack`), and running a test on
//! each IMAP server.

pub use mnotify_intake::testkit::stack::*;

/// Runs an end-to-end test on each IMAP server: `NAME::dovecot` on the shared Dovecot
/// stack, `NAME::cyrus` on the shared Cyrus one. The body gets `stack: &Stack`.
macro_rules! on_each_server {
    ($(#[doc = $doc:literal])* async fn $name:ident($stack:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($stack: &'static crate::stack::Stack) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn dovecot() {
                run(crate::stack::Stack::get()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cyrus() {
                run(crate::stack::Stack::cyrus()).await
            }
        }
    };
}
pub(crate) use on_each_server;
