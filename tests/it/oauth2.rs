//! OAuth2 bearer tokens (XOAUTH2), the only login Microsoft 365 accepts, against the
//! real stack: Dovecot checks the tokens (JWTs signed with the stack's key) for IMAP and,
//! through Postfix's SASL, for SMTP submission.

use std::time::Duration;

use mnotify_intake::config::{Auth, SmtpConfig, TlsMode};
use mnotify_intake::secret::SecretSource;
use mnotify_intake::smtp::{SendError, SmtpSender};
use mnotify_intake::testkit::mail::Mail;

use crate::service::Setup;
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

/// `setup`'s config with every password replaced by a token helper command.
pub fn use_tokens(stack: &Stack, setup: &Setup, user: &str, seconds: i64) {
    let text = std::fs::read_to_string(&setup.config).unwrap();
    let password = format!(
        "password = {{ file = \"{}\" }}",
        stack.password_file().display()
    );
    assert_eq!(
        text.matches(&password).count(),
        2,
        "[imap] and [smtp] passwords"
    );
    let token = format!(
        "oauth2_token = {{ command = \"{}\" }}",
        stack.token_command(user, seconds)
    );
    std::fs::write(&setup.config, text.replace(&password, &token)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_logs_in_with_oauth2_tokens_for_imap_and_smtp() {
    let stack = Stack::get();
    let mailbox = "svc-oauth@egov.test";
    let ana = "ana-oauth@scoala.test";
    let setup = Setup::new(stack, mailbox, "");

    // An expired token: refused at start, with what to fix, and the token not shown.
    use_tokens(stack, &setup, mailbox, -60);
    let out = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "an expired token must stop the start: {stderr}"
    );
    assert!(
        stderr.contains("login as svc-oauth@egov.test was refused")
            && stderr.contains("password or token"),
        "{stderr}"
    );
    assert!(!stderr.contains("eyJ"), "a token leaked: {stderr}");

    // A helper that issues fresh tokens: mail is read, answered and filed.
    let setup = Setup::new(stack, mailbox, "");
    use_tokens(stack, &setup, mailbox, 3600);
    let m = crate::mail::question(ana, mailbox, "<o1@scoala.test>");
    stack.deliver(ana, mailbox, &m.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    stack.wait_for(ana, "INBOX", 1, WAIT).await;
    assert_eq!(stack.messages(mailbox, "Processed").await.len(), 1);

    // The servers say how the daemon logged in.
    let dovecot = std::fs::read_to_string(stack.dir.join("dovecot/dovecot.log")).unwrap();
    assert!(
        dovecot.contains(&format!("Login: user=<{mailbox}>, method=XOAUTH2")),
        "IMAP login by XOAUTH2 expected in dovecot.log"
    );
    let postfix = std::fs::read_to_string(stack.dir.join("postfix/log/maillog")).unwrap();
    assert!(
        postfix.contains(&format!("sasl_method=XOAUTH2, sasl_username={mailbox}")),
        "SMTP login by XOAUTH2 expected in the maillog"
    );
}

/// Tokens expire within the hour: every new SMTP connection reads the token again, so a
/// helper's fresh token is used without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_reads_the_token_again_for_a_new_connection() {
    let stack = Stack::get();
    let user = "svc-oauth-smtp@egov.test";
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, stack.token(user, -60)).unwrap();
    let smtp = SmtpSender::new(&SmtpConfig {
        host: "localhost".into(),
        port: stack.submission_port,
        tls: TlsMode::Starttls,
        ca_file: Some(stack.ca_file.clone()),
        login: Some((
            user.into(),
            Auth::OAuth2(SecretSource::File(token_file.clone())),
        )),
        retry_base: Duration::from_secs(1),
        max_attempts: 1,
        connections: 1,
        pace: mnotify_intake::pace::Limits::NONE,
    })
    .expect("SMTP client");
    let mut m = Mail::new(user, "token test").text("x");
    m.to = "someone-oauth@scoala.test".into();
    let raw = m.build();

    match smtp.send(user, "someone-oauth@scoala.test", &raw).await {
        Err(SendError::Transient(why)) => assert!(
            why.contains("login to localhost refused") && !why.contains("eyJ"),
            "{why}"
        ),
        other => panic!("an expired token is a transient login failure, got {other:?}"),
    }
    // The helper has refreshed the token: the next connection uses it.
    std::fs::write(&token_file, stack.token(user, 3600)).unwrap();
    smtp.send(user, "someone-oauth@scoala.test", &raw)
        .await
        .expect("the refreshed token is used");
    stack
        .wait_for("someone-oauth@scoala.test", "INBOX", 1, WAIT)
        .await;
}

/// Exchange Online's front door where the tenant turned SMTP AUTH off, as public
/// reports quote it (email-oauth2-proxy#193, nodemailer#1484): the greeting and EHLO
/// as usual, then every AUTH refused with `535 5.7.139`. A stand-in of our own (no
/// real Exchange runs here); one connection at a time, answered line by line.
async fn smtp_auth_off_front_door() -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 AM0PR02CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-AM0PR02CA0001.outlook.office365.com Hello\r\n250-SIZE 157286400\r\n250 AUTH LOGIN XOAUTH2\r\n",
                        "AUTH" => b"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [AM0PR02CA0001.eurprd02.prod.outlook.com]\r\n",
                        "QUIT" => b"221 2.0.0 Service closing transmission channel\r\n",
                        _ => b"503 5.5.2 Send hello first\r\n",
                    };
                    if write.write_all(answer).await.is_err() || verb == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// `check` and the daemon say what to do when the tenant turned SMTP AUTH off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_with_smtp_auth_off_is_told_the_two_ways_out() {
    let stack = Stack::get();
    let mailbox = "svc-authoff@egov.test";
    let setup = Setup::new(stack, mailbox, "");
    let port = smtp_auth_off_front_door().await;
    let text = std::fs::read_to_string(&setup.config).unwrap();
    let start = text.find("[smtp]\n").expect("an [smtp] section");
    let end = text[start..].find("ca_file").expect("its ca_file") + start;
    let text = format!(
        "{}[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(&setup.config, text).unwrap();
    let out = setup.run_cli(&["check"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{report}");
    for said in [
        "5.7.139",
        "SMTP AUTH turned off",
        &format!("Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false"),
        "mode = \"draft\"",
    ] {
        assert!(report.contains(said), "{said:?} missing from:\n{report}");
    }
    // The daemon: a mail to answer, the reply refused at login; the log says the same.
    let ana = "ana-authoff@scoala.test";
    stack
        .deliver(
            ana,
            mailbox,
            &crate::mail::question(ana, mailbox, "<ao1@scoala.test>").build(),
        )
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let daemon = setup.start();
    setup.wait_for_log("SmtpClientAuthenticationDisabled $false", 1, WAIT);
    daemon.stop();
}
