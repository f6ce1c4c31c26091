//! App-only OAuth 2.0 built in (`[oauth2]`), against a real OAuth server on loopback
//! (oidc-provider, started by scripts/mail-stack) whose tokens Dovecot checks: the
//! client-credentials grant with a client secret and with a certificate's signed
//! assertion, renewal of short-lived tokens, a wrong secret and a token server that
//! does not answer, each said in words that say what to fix, the mail waiting.

use std::time::{Duration, Instant};

use mnotify_intake::testkit::mail::Mail;

use crate::mail::body;
use crate::service::Setup;
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

/// A config for `mailbox` whose IMAP and SMTP logins use `[oauth2]` (`oauth2` holds
/// the section's lines after its header).
fn app_only(stack: &Stack, mailbox: &str, oauth2: &str) -> Setup {
    let setup = Setup::new(stack, mailbox, "");
    let text = std::fs::read_to_string(&setup.config).unwrap();
    let password = format!(
        "password = {{ file = \"{}\" }}\n",
        stack.password_file().display()
    );
    assert!(text.contains(&password), "{text}");
    let text = text.replace(&password, "") + "[oauth2]\n" + oauth2;
    std::fs::write(&setup.config, text).unwrap();
    setup
}

fn secret_client(stack: &Stack, client: &str, secret_file: &std::path::Path) -> String {
    format!(
        "token_url = \"http://127.0.0.1:{}/token\"\nclient_id = \"{client}\"\nclient_secret = {{ file = \"{}\" }}\n",
        stack.oauth_port,
        secret_file.display()
    )
}

async fn ask(stack: &Stack, from: &str, mailbox: &str, id: &str) {
    let mut m = Mail::new(from, "Conectare MNotify")
        .message_id(id)
        .text("Bună ziua, dorim să ne conectăm la MNotify. Care sunt pașii?");
    m.to = mailbox.to_string();
    stack.deliver(from, mailbox, &m.build()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_fetches_its_own_tokens_with_a_secret_or_a_certificate() {
    let stack = Stack::get();
    // A client secret.
    let mailbox = "svc-app@egov.test";
    let ion = "ion-app@primarie.test";
    // Entra says the secret expires in ten days: said before the mail stops.
    let expires = time::OffsetDateTime::now_utc().date() + time::Duration::days(10);
    let setup = app_only(
        stack,
        mailbox,
        &format!(
            "{}client_secret_expires = \"{expires}\"\n",
            secret_client(stack, "mnx-secret-app", &stack.oauth_dir.join("secret"))
        ),
    );
    let check = setup.cli(&["check"]);
    assert!(
        check.contains("app-only token fetched for client mnx-secret-app"),
        "{check}"
    );
    assert!(
        check.contains(&format!("the client secret expires on {expires}"))
            && check.contains("make a new secret"),
        "{check}"
    );
    ask(stack, ion, mailbox, "<app-1@primarie.test>").await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let out = setup.run_cli(&["run", "--once"]);
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("app-only OAuth2 token fetched"), "{log}");
    assert!(!log.contains("eyJ"), "no token in the log");
    let reply = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    assert!(
        body(&reply[0]).contains("MNotify"),
        "answered over SMTP with the app's token"
    );

    // A certificate's assertion (PS256, x5t#S256), as Entra prefers.
    let mailbox = "svc-app-cert@egov.test";
    let ana = "ana-app@primarie.test";
    let setup = app_only(
        stack,
        mailbox,
        &format!(
            "token_url = \"http://127.0.0.1:{}/token\"\nclient_id = \"mnx-cert-app\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\n",
            stack.oauth_port,
            stack.oauth_dir.join("app.pem").display(),
            stack.oauth_dir.join("app.key").display()
        ),
    );
    let check = setup.cli(&["check"]);
    assert!(
        check.contains("app-only token fetched for client mnx-cert-app"),
        "{check}"
    );
    assert!(
        check.contains("the client certificate is valid until"),
        "{check}"
    );
    ask(stack, ana, mailbox, "<app-2@primarie.test>").await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    stack.wait_for(ana, "INBOX", 1, WAIT).await;
}

/// Tokens of 12 seconds: a connection made after the first token expired (the IMAP
/// server restarted under the daemon) logs in with a renewed one, and mail is fetched
/// and answered as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_are_renewed() {
    let stack = &Stack::private("oauth-renew");
    let mailbox = "svc-app-short@egov.test";
    let ion = "ion-app-short@primarie.test";
    let setup = app_only(
        stack,
        mailbox,
        &secret_client(stack, "mnx-short-app", &stack.oauth_dir.join("secret")),
    );
    let text = std::fs::read_to_string(&setup.config).unwrap().replace(
        "backlog = \"handle\"\n",
        "backlog = \"handle\"\nidle = false\npoll_seconds = 2\n",
    );
    std::fs::write(&setup.config, text).unwrap();
    let daemon = setup.start();
    setup.wait_until_connected();
    ask(stack, ion, mailbox, "<short-1@primarie.test>").await;
    stack.wait_for(ion, "INBOX", 1, WAIT).await;
    tokio::time::sleep(Duration::from_secs(14)).await;
    stack.run_script("restart-dovecot");
    ask(stack, ion, mailbox, "<short-2@primarie.test>").await;
    stack.wait_for(ion, "INBOX", 2, WAIT).await;
    daemon.stop();
    let log = setup.log();
    assert!(
        log.matches("app-only OAuth2 token fetched").count() >= 2,
        "renewed:\n{log}"
    );
}

/// A wrong secret and a token server that does not answer: `run --once` stops with
/// what to fix, and the mail stays in the inbox for the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_no_token_server_is_said_and_the_mail_waits() {
    let stack = Stack::get();
    // Its own mailbox: another test's daemon reads svc-app's inbox meanwhile.
    let mailbox = "svc-app-dead@egov.test";
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not-the-secret").unwrap();
    let setup = app_only(
        stack,
        "svc-app-wrong@egov.test",
        &secret_client(stack, "mnx-secret-app", &wrong),
    );
    let out = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("invalid_client") && stderr.contains("check [oauth2] client_id"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-the-secret"),
        "the secret is never said"
    );

    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let setup = app_only(
        stack,
        mailbox,
        &format!(
            "token_url = \"http://127.0.0.1:{dead}/token\"\nclient_id = \"mnx-secret-app\"\nclient_secret = {{ file = \"{}\" }}\n",
            stack.oauth_dir.join("secret").display()
        ),
    );
    ask(
        stack,
        "ana-dead@scoala.test",
        mailbox,
        "<dead-1@scoala.test>",
    )
    .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let before = stack.count(mailbox, "INBOX").await;
    let started = Instant::now();
    let out = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("cannot be reached"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "gave up in time"
    );
    assert_eq!(stack.count(mailbox, "INBOX").await, before, "nothing moved");
}
