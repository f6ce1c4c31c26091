//! The product at work, end to end, on a private mail stack (run by `scripts/demo`):
//! Dovecot and Postfix start on loopback, the registry learns one certificate already
//! used for MPass, the daemon starts watching servicii@egov.md, six applicants' e-mails
//! from `demo/mail/` arrive over SMTP, and the replies each applicant received are
//! printed from their own mailboxes. Everything is stopped at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mail_parser::{Address, MessageParser};
use mnotify_intake::mailbox::Mailbox;
use mnotify_intake::testkit::stack::Stack;

const MAILBOX: &str = "servicii@egov.md";

/// The daemon binary: `MNOTIFY_INTAKE_BIN`, or the one built next to this example.
fn daemon_binary() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("MNOTIFY_INTAKE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe()?;
    let bin = me
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("mnotify-intake"))
        .context("cannot locate the target directory")?;
    if !bin.is_file() {
        bail!(
            "{} is missing; build it first (scripts/demo does: cargo build --release --bins --examples)",
            bin.display()
        );
    }
    Ok(bin)
}

fn sender(raw: &[u8]) -> (String, String) {
    let msg = MessageParser::default()
        .parse(raw)
        .expect("demo mail parses");
    let from = match msg.from() {
        Some(Address::List(list)) => list.first().cloned(),
        _ => None,
    }
    .expect("demo mail has a From");
    (
        from.address().unwrap_or_default().to_string(),
        msg.subject().unwrap_or_default().to_string(),
    )
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| format!("    │ {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_cli(bin: &Path, config: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "mnotify-intake {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn count(mb: &mut Mailbox, folder: &str) -> u32 {
    mb.count(folder).await.unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = repo.join("demo");
    let bin = daemon_binary()?;

    println!("== Starting a private Dovecot + Postfix on 127.0.0.1");
    // The applicants' institutions sign their mail, as their own servers would; AGE's
    // MX (OpenDKIM + OpenDMARC) checks it.
    let stack = Stack::private_with(
        "demo",
        &[(
            "MAIL_STACK_INSTITUTIONS",
            "ialoveni.md asp.gov.md spitalcahul.md moldatsa.md orhei.md furnizor.md",
        )],
    );
    let work = tempfile::Builder::new().prefix("mnotify-demo-").tempdir()?;
    let anchors = work.path().join("stisc-anchors.pem");
    std::fs::write(
        &anchors,
        std::fs::read_to_string(demo.join("pki/stisc-root.pem"))?
            + &std::fs::read_to_string(demo.join("pki/stisc-issuing.pem"))?,
    )?;
    let config = work.path().join("mnotify-intake.toml");
    // The production default for the mailbox's history (the tests' config handles it).
    std::fs::write(
        &config,
        stack
            .secure_config_toml(MAILBOX, &work.path().join("store"), &anchors)
            .replace("backlog = \"handle\"\n", ""),
    )?;
    println!("   config: {}", config.display());

    println!("\n== Checking the config against the servers before the first run");
    print!("{}", run_cli(&bin, &config, &["check"])?);

    println!("\n== Registering a certificate already in use for MPass");
    let known = demo.join("known/asp-mpass.cer");
    print!(
        "{}",
        run_cli(
            &bin,
            &config,
            &[
                "registry",
                "import",
                "--service",
                "MPass",
                "--institution",
                "Agenția Servicii Publice",
                known.to_str().context("path")?,
            ],
        )?
    );
    print!("{}", run_cli(&bin, &config, &["registry", "list"])?);

    println!("\n== Starting the daemon on {MAILBOX} (IMAP IDLE)");
    let log_path = work.path().join("daemon.log");
    let mut daemon = Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .spawn()
        .context("starting the daemon")?;
    let mut watch = Mailbox::connect(&stack.imap(MAILBOX)).await?;
    let start = Instant::now();
    while !std::fs::read_to_string(&log_path)?.contains("connected to IMAP") {
        if start.elapsed() > Duration::from_secs(30) {
            bail!(
                "the daemon did not start within 30 s; its log:\n{}",
                std::fs::read_to_string(&log_path)?
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut files: Vec<PathBuf> = std::fs::read_dir(demo.join("mail"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    // What the daemon will decide, from `inspect` (read-only): the replies to expect.
    let mut args = vec!["inspect", "--json"];
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let decisions: Vec<String> = run_cli(&bin, &config, &args)?
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["decision"].as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect();
    let expected = decisions
        .iter()
        .filter(|d| !matches!(d.as_str(), "not_applicable" | "ignored_automatic"))
        .count();

    println!(
        "\n== {} applicants write to {MAILBOX} (→ what `mnotify-intake inspect` decides for each)",
        files.len()
    );
    let mut applicants = Vec::new();
    for (file, decision) in files.iter().zip(&decisions) {
        let raw = std::fs::read(file)?;
        let (from, subject) = sender(&raw);
        println!(
            "   {:<28} {:<44} → {decision}",
            from,
            format!("\"{subject}\"")
        );
        stack.send_from_institution(&from, MAILBOX, &raw).await;
        applicants.push((from, subject));
    }

    // Wait until every mail is filed and every reply has arrived.
    let start = Instant::now();
    loop {
        let filed = count(&mut watch, "Processed").await + count(&mut watch, "Needs-Human").await;
        let mut received = 0;
        for (who, _) in &applicants {
            received += stack.messages(who, "INBOX").await.len();
        }
        if filed as usize == files.len() && received >= expected {
            println!(
                "\n   all {} mails handled, {received} replies delivered, in {:.1} s",
                files.len(),
                start.elapsed().as_secs_f64()
            );
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!(
                "after 60 s: {filed} of {} mails filed, {received} of {expected} replies arrived; daemon log: {}",
                files.len(),
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    println!("\n== What each applicant found in their mailbox");
    for (who, subject) in &applicants {
        println!("\n-- {who}  (wrote: {subject})");
        let replies = stack.messages(who, "INBOX").await;
        if replies.is_empty() {
            println!(
                "   no reply: the daemon never answers automatic mail, and files mail that is not about MNotify in Needs-Human for staff"
            );
        }
        for raw in replies {
            let msg = MessageParser::default()
                .parse(&raw)
                .context("reply parses")?;
            println!("   Subject: {}", msg.subject().unwrap_or_default());
            if let Some(irt) = msg.in_reply_to().as_text() {
                println!("   In-Reply-To: <{irt}>");
            }
            println!("{}", indent(&msg.body_text(0).unwrap_or_default()));
        }
    }

    // Staff take it from here: the case list, and one step recorded while the daemon
    // runs; the applicant is told what comes next.
    let first_reply = stack.messages(&applicants[0].0, "INBOX").await;
    let token = first_reply
        .first()
        .and_then(|raw| mnotify_intake::intake::read(raw, &[]).case_token)
        .context("the first applicant's reply carries a case token")?;
    println!("\n== AGE staff: mnotify-intake cases list");
    print!("{}", run_cli(&bin, &config, &["cases", "list"])?);
    println!(
        "\n== AGE staff: mnotify-intake cases advance {token} form --note \"formular primit\""
    );
    let advanced_at = Instant::now();
    print!(
        "{}",
        run_cli(
            &bin,
            &config,
            &[
                "cases",
                "advance",
                &token,
                "form",
                "--note",
                "formular primit",
                "--by",
                "demo"
            ],
        )?
    );
    let start = Instant::now();
    let notice = loop {
        let inbox = stack.messages(&applicants[0].0, "INBOX").await;
        if inbox.len() >= 2 {
            break inbox[1].clone();
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!(
                "the step notice did not arrive; daemon log: {}",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let msg = MessageParser::default()
        .parse(&notice)
        .context("notice parses")?;
    println!(
        "\n-- {} received, {:.1} s after the command:\n   Subject: {}",
        applicants[0].0,
        advanced_at.elapsed().as_secs_f64(),
        msg.subject().unwrap_or_default()
    );
    println!("{}", indent(&msg.body_text(0).unwrap_or_default()));

    // A stranger writes as the first applicant, straight to AGE's MX, in the case's
    // thread, with other IP addresses and a forged "pass" of their own.
    println!(
        "\n== A forger writes as {} (not through its institution's server), asking to change the case's IP addresses",
        applicants[0].0
    );
    let forged = format!(
        "From: {from}\r\nTo: {MAILBOX}\r\nSubject: Re: [MNotify #{token}] IP nou\r\nMessage-ID: <forged-demo@evil.example>\r\nAuthentication-Results: mx.egov.test; dmarc=pass header.from=ialoveni.md\r\nReply-To: attacker@evil.example\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMNotify: IP test 203.0.113.9, IP productie 203.0.113.10\r\n",
        from = applicants[0].0
    );
    let before = run_cli(&bin, &config, &["cases", "show", &token])?;
    stack
        .deliver(&applicants[0].0, MAILBOX, forged.as_bytes())
        .await;
    let start = Instant::now();
    while count(&mut watch, "Needs-Human").await < 2 {
        if start.elapsed() > Duration::from_secs(30) {
            bail!(
                "the forged mail was not filed; daemon log: {}",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = run_cli(&bin, &config, &["cases", "show", &token])?;
    println!(
        "   case #{token} {}",
        if before == after {
            "unchanged"
        } else {
            "CHANGED (a bug)"
        }
    );
    println!("\n== AGE staff: mnotify-intake held list");
    print!("{}", run_cli(&bin, &config, &["held", "list"])?);
    let start = Instant::now();
    let neutral = loop {
        let inbox = stack.messages(&applicants[0].0, "INBOX").await;
        if inbox.len() >= 3 {
            break inbox[2].clone();
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!(
                "the neutral answer did not arrive; daemon log: {}",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if stack.count("attacker@evil.example", "INBOX").await > 0 {
        bail!(
            "the daemon mailed the forger's Reply-To address (a bug); daemon log: {}",
            log_path.display()
        );
    }
    let msg = MessageParser::default()
        .parse(&neutral)
        .context("answer parses")?;
    println!(
        "\n-- {} received (the only mail anyone got; nothing went to attacker@evil.example):\n   Subject: {}",
        applicants[0].0,
        msg.subject().unwrap_or_default()
    );
    println!("{}", indent(&msg.body_text(0).unwrap_or_default()));

    println!("\n== Mailbox {MAILBOX} after the run");
    for folder in ["INBOX", "Processed", "Needs-Human", "Sent"] {
        println!(
            "   {folder:<12} {} message(s)",
            count(&mut watch, folder).await
        );
    }
    watch.logout().await;

    // SIGTERM: the daemon finishes what it does and exits 0.
    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()?;
    let status = daemon.wait()?;
    if !status.success() {
        bail!(
            "the daemon exited with {status}; log: {}",
            log_path.display()
        );
    }
    println!("\n== Daemon stopped cleanly. Its records (mnotify-intake status):");
    print!("{}", run_cli(&bin, &config, &["status"])?);
    println!("\n== Stopping the mail stack");
    drop(stack);
    Ok(())
}
