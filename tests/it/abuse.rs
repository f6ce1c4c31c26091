//! Abuse on the real stack: what a stranger can make the daemon spend (an applicant's
//! reply allowance, the disk, the daemon's time) and what a local user can make it do.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::mail::body;
use crate::mail::{delivery_report, mail};
use crate::service::Setup;
use crate::service::{case_json, secure};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

/// Six forgeries "from" an applicant each get the neutral answer (up to her address's
/// neutral cap), and her own authenticated mail afterwards is answered all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgeries_do_not_spend_the_applicant_s_allowance() {
    let stack = Stack::get();
    let mailbox = "svc-allowance@egov.test";
    let ana = "ana-allowance@inst-a.test";
    let setup = secure(stack, mailbox, "");
    for n in 0..6 {
        let forged = mail(
            ana,
            mailbox,
            "MNotify",
            &format!("<forged-{n}@evil.test>"),
            "Cum ne conectăm la MNotify?",
        );
        stack.deliver(ana, mailbox, &forged.build()).await;
    }
    stack.wait_for(mailbox, "INBOX", 6, WAIT).await;
    setup.cli(&["run", "--once"]);
    let neutral = stack.wait_for(ana, "INBOX", 5, WAIT).await;
    assert!(
        neutral
            .iter()
            .all(|r| body(r).contains("nu a putut fi verificat")),
        "only neutral answers so far"
    );
    assert_eq!(
        neutral.len(),
        5,
        "the sixth forgery is over the neutral cap for her address"
    );

    let genuine = mail(
        ana,
        mailbox,
        "Conectare MNotify",
        "<genuine-allowance@inst-a.test>",
        "Bună ziua, dorim să ne conectăm la MNotify. Care sunt pașii?",
    );
    stack
        .send_from_institution(ana, mailbox, &genuine.build())
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let all = stack.wait_for(ana, "INBOX", 6, WAIT).await;
    let answered = all
        .iter()
        .filter(|r| !body(r).contains("nu a putut fi verificat"))
        .count();
    assert_eq!(answered, 1, "her own mail got its reply");
    let status = setup.status();
    assert_eq!(status["outbox"]["sent"], 6, "{status}");
}

/// The config of [`Setup::new`] (every sender answered) with a one-second scan.
fn polling(stack: &Stack, mailbox: &str, extra: &str) -> Setup {
    let setup = Setup::new(stack, mailbox, extra);
    let text = std::fs::read_to_string(&setup.config).unwrap().replace(
        "backlog = \"handle\"\n",
        "backlog = \"handle\"\nidle = false\npoll_seconds = 1\n",
    );
    std::fs::write(&setup.config, text).unwrap();
    setup
}

/// A mail whose reading stalls (injected: no real mail does any more) is abandoned at
/// the read deadline, three times, then set aside; meanwhile `/health` answers at once
/// and the mail after it is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_whose_reading_stalls_is_set_aside_while_health_answers() {
    let stack = Stack::get();
    let mailbox = "svc-stall@egov.test";
    let (stranger, ion) = ("stall@evil.test", "ion-stall@primarie.test");
    let setup = polling(
        stack,
        mailbox,
        "[metrics]\nlisten = \"127.0.0.1:0\"\n[digest]\nto = [\"staff@egov.test\"]\n",
    );
    let daemon = setup.start_with(&[
        ("MNOTIFY_INTAKE_FAULT_READ", "stall:STALL-MARKER-77"),
        ("MNOTIFY_INTAKE_FAULT_READ_DEADLINE_MS", "3000"),
    ]);
    let addr = setup.metrics_address();
    setup.wait_until_connected();
    let hostile = mail(stranger, mailbox, "MNotify", "<stall@evil.test>", "MNotify")
        .header("X-Fault", "STALL-MARKER-77");
    stack.deliver(stranger, mailbox, &hostile.build()).await;
    let genuine = mail(
        ion,
        mailbox,
        "MNotify",
        "<after-stall@primarie.test>",
        "Cum ne conectăm la MNotify?",
    );
    stack.deliver(ion, mailbox, &genuine.build()).await;

    // While the hostile mail is being read (three deadlines of 3 s), /health answers.
    let mut slowest = Duration::ZERO;
    let mut status_took = None;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(8) {
        if status_took.is_none() && start.elapsed() > Duration::from_secs(1) {
            let asked = std::time::Instant::now();
            setup.cli(&["status"]);
            status_took = Some(asked.elapsed());
        }
        let asked = std::time::Instant::now();
        let (status, body) = crate::health::get(&addr, "/health");
        slowest = slowest.max(asked.elapsed());
        assert!(status.contains("200"), "{status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("/health while a mail's reading stalls: slowest answer {slowest:?}; staff status {status_took:?}");
    let status_took = status_took.unwrap();
    assert!(
        status_took < Duration::from_secs(5),
        "status waited on the reading: {status_took:?}"
    );
    assert!(
        slowest < Duration::from_secs(2),
        "/health waited on the reading: {slowest:?}"
    );
    stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let set_aside = stack
        .wait_for(mailbox, "Needs-Human", 1, Duration::from_secs(60))
        .await;
    assert!(
        String::from_utf8_lossy(&set_aside[0]).contains("STALL-MARKER-77"),
        "the hostile mail is the one set aside, kept whole"
    );
    let log = setup.log();
    assert!(log.contains("reading this message failed 3 times"), "{log}");
    assert_eq!(
        log.matches("reading it took longer than").count(),
        3,
        "read three times, never more:\n{log}"
    );
    daemon.stop();
    assert_eq!(stack.count(stranger, "INBOX").await, 0, "no answer to it");
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("reading this message failed 3 times"),
        "{digest}"
    );
}

/// A mail that kills the daemon while it is read (injected abort) is counted before
/// each read: after three deaths the fourth start sets it aside and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_that_kills_the_daemon_is_set_aside_after_three_starts() {
    let stack = Stack::get();
    let mailbox = "svc-crash@egov.test";
    let (stranger, ion) = ("crash@evil.test", "ion-crash@primarie.test");
    let setup = Setup::new(stack, mailbox, "");
    let hostile = mail(stranger, mailbox, "MNotify", "<crash@evil.test>", "MNotify")
        .header("X-Fault", "CRASH-MARKER-78");
    stack.deliver(stranger, mailbox, &hostile.build()).await;
    let genuine = mail(
        ion,
        mailbox,
        "MNotify",
        "<after-crash@primarie.test>",
        "Cum ne conectăm la MNotify?",
    );
    stack.deliver(ion, mailbox, &genuine.build()).await;
    stack.wait_for(mailbox, "INBOX", 2, WAIT).await;
    let run = || {
        std::process::Command::new(crate::service::BIN)
            .arg("--config")
            .arg(&setup.config)
            .args(["run", "--once"])
            .env("MNOTIFY_INTAKE_FAULT_READ", "abort:CRASH-MARKER-78")
            .output()
            .expect("run the binary")
    };
    for n in 1..=3 {
        let out = run();
        assert!(
            !out.status.success(),
            "start {n} died reading the mail: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run();
    assert!(
        out.status.success(),
        "the fourth start sets it aside: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reading this message failed 3 times"),
        "{stderr}"
    );
    assert_eq!(stack.count(mailbox, "Needs-Human").await, 1);
    assert_eq!(stack.count(mailbox, "INBOX").await, 0);
    stack.wait_for(ion, "INBOX", 1, WAIT).await;
    assert_eq!(stack.count(stranger, "INBOX").await, 0);
}

/// CPU seconds a process has used (user + system), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// 1,100 idle connections to the metrics port of a daemon limited to 1,024
/// descriptors: it holds a few, closes the rest, stays idle, and answers `/health`
/// and staff commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_exhaust_the_metrics_endpoint() {
    let stack = Stack::get();
    let mailbox = "svc-idle@egov.test";
    let setup = Setup::new(stack, mailbox, "[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let daemon = setup.start_with_open_files(1024);
    let addr = setup.metrics_address();
    setup.wait_until_connected();
    // This test holds 1,100 sockets of its own.
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        hard.min(8192),
        hard,
    )
    .expect("raise this test's descriptor limit");
    let target: std::net::SocketAddr = addr.parse().unwrap();
    let mut idle = Vec::new();
    for _ in 0..1100 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
            idle.push(s);
        }
    }
    let before = cpu_seconds(daemon.pid());
    tokio::time::sleep(Duration::from_secs(6)).await;
    let used = cpu_seconds(daemon.pid()) - before;
    let asked = std::time::Instant::now();
    let (status, _) = crate::health::get(&addr, "/health");
    let took = asked.elapsed();
    println!(
        "{} idle metrics connections held: daemon CPU {used:.2} s in 6 s; /health then answered in {took:?}",
        idle.len()
    );
    assert!(idle.len() >= 1000, "only {} connections opened", idle.len());
    assert!(status.contains("200"), "{status}");
    assert!(used < 1.5, "the daemon spun: {used:.2} CPU-s in 6 s");
    setup.cli(&["status"]);
    drop(idle);
    let log = setup.log();
    assert!(!log.contains("Too many open files"), "{log}");
    daemon.stop();
}

/// An idle connection to the control socket keeps no staff command waiting, a name
/// that could mislead the timeline is refused, and the socket's directory is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_socket_serves_commands_beside_an_idle_connection() {
    let stack = Stack::get();
    let mailbox = "svc-ctl-idle@egov.test";
    let setup = Setup::new(stack, mailbox, "");
    let daemon = setup.start();
    setup.wait_until_connected();
    let socket = setup.dir.path().join("store.sock");
    mnotify_intake::testkit::wait::eventually(WAIT, "the control socket", || {
        socket
            .exists()
            .then_some(())
            .ok_or_else(|| socket.display().to_string())
    });
    let idle: Vec<_> = (0..3)
        .map(|_| std::os::unix::net::UnixStream::connect(&socket).unwrap())
        .collect();
    let asked = std::time::Instant::now();
    setup.cli(&["status"]);
    let took = asked.elapsed();
    println!("staff status beside 3 idle control connections: {took:?}");
    assert!(took < Duration::from_secs(10), "status waited {took:?}");
    for name in ["root (uid 0)", "Ana\u{202E}ucsepoP"] {
        let out = setup.run_cli(&["cases", "note", "NOSUCH", "--by", name, "x"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name:?} accepted");
        assert!(stderr.contains("--by"), "{name:?}: {stderr}");
    }
    // An idle connection does not hold the stop up (stop() allows 15 s).
    daemon.stop();
    drop(idle);
}

/// A socket in a directory everyone can write is refused at start; and a command
/// never sends its request to a socket another user took first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_path_others_can_take_is_refused_and_an_impostor_hears_nothing() {
    assert!(
        nix::unistd::Uid::current().is_root(),
        "this test runs a process as nobody: run the suite as root (scripts/test does in CI)"
    );
    let stack = Stack::get();
    let mailbox = "svc-ctl-taken@egov.test";
    let setup = Setup::new(stack, mailbox, "");
    let open = setup.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(setup.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = open.join("ctl.sock");
    let text = std::fs::read_to_string(&setup.config).unwrap()
        + &format!("[control]\nsocket = \"{}\"\n", socket.display());
    std::fs::write(&setup.config, text).unwrap();
    let out = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("writable by everyone"), "{stderr}");

    // The store exists (owned by root); nobody binds the socket path and listens.
    setup.cli(&[
        "registry",
        "import",
        "--service",
        "MPass",
        "--institution",
        "x",
        &{
            let der = setup.leaf(&[0x44, 0x01]);
            let path = setup.dir.path().join("known.cer");
            std::fs::write(&path, der).unwrap();
            path.display().to_string()
        },
    ]);
    let heard = open.join("heard");
    let impostor = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--", "python3", "-c"])
        .arg(
            "import socket,sys\n\
             s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen()\n\
             open(sys.argv[2]+'.ready','w').close()\n\
             c,_=s.accept(); c.settimeout(3)\n\
             try: data=c.recv(65536)\n\
             except Exception: data=b''\n\
             open(sys.argv[2],'wb').write(data)\n\
             try: c.sendall(b'{\"status\":\"done\",\"text\":\"[]\"}\\n')\n\
             except Exception: pass\n",
        )
        .arg(&socket)
        .arg(&heard)
        .spawn()
        .expect("python3 as nobody");
    let ready = open.join("heard.ready");
    mnotify_intake::testkit::wait::eventually(WAIT, "the impostor to listen", || {
        ready
            .exists()
            .then_some(())
            .ok_or_else(|| ready.display().to_string())
    });
    let out = setup.run_cli(&["cases", "note", "ABC123", "--by", "Ana", "secret note"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("neither root nor the owner"), "{stderr}");
    let mut impostor = impostor;
    let _ = impostor.wait();
    let heard = std::fs::read(&heard).unwrap_or_default();
    assert!(
        heard.is_empty(),
        "the impostor heard {:?}",
        String::from_utf8_lossy(&heard)
    );
}

/// A delivery report a user of our own mail system wrote and submitted (with the
/// Message-ID of a reply of ours they saw) marks nothing failed: staff see it ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_submitted_by_a_user_of_our_mail_system_is_not_believed() {
    use mnotify_intake::config::{Auth, SmtpConfig, TlsMode};
    use mnotify_intake::secret::SecretSource;
    let stack = Stack::get();
    let mailbox = "svc-dsn-local@egov.test";
    let ion = "ion-dsn-local@inst-a.test";
    let colleague = "colleague-dsn@egov.test";
    let setup = secure(stack, mailbox, "");
    let first = mail(
        ion,
        mailbox,
        "MNotify",
        "<q-dsn-local@inst-a.test>",
        "Intrebare despre MNotify.",
    );
    stack
        .send_from_institution(ion, mailbox, &first.build())
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let ours = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let our_id = mnotify_intake::intake::read(&ours[0], &[])
        .message_id
        .unwrap();
    let report = delivery_report("egov.test", "mx.egov.test", mailbox, ion, &our_id);
    let submission = mnotify_intake::smtp::SmtpSender::new(&SmtpConfig {
        host: "localhost".into(),
        port: stack.submission_port,
        tls: TlsMode::Starttls,
        ca_file: Some(stack.ca_file.clone()),
        login: Some((
            colleague.into(),
            Auth::Password(SecretSource::File(stack.password_file())),
        )),
        retry_base: Duration::from_secs(1),
        max_attempts: 1,
        connections: 1,
        pace: mnotify_intake::pace::Limits::NONE,
    })
    .expect("SMTP client");
    submission
        .send(colleague, mailbox, report.as_bytes())
        .await
        .expect("our submission service takes the colleague's mail");
    let arrived = stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    assert!(
        String::from_utf8_lossy(&arrived[0]).contains("ESMTPSA"),
        "the submission hop is in the trace"
    );
    setup.cli(&["run", "--once"]);
    let status = setup.status();
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
    let listed = setup.cli(&["cases", "list", "--json"]);
    let case: serde_json::Value = serde_json::from_str(listed.trim()).expect("one case");
    assert_eq!(case["unreachable"], false, "{case}");
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("delivery report about our reply") && digest.contains("ignored"),
        "staff see the ignored report, in the staff language:\n{digest}"
    );
}

fn token_of(raw: &[u8]) -> String {
    crate::mail::token_of(raw)
}

/// A serial the registry gives to another institution's domain, quoted by an
/// authenticated institution: no step is completed, staff check it, the reply says a
/// colleague will look and names no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_registered_to_another_institution_completes_nothing() {
    let stack = Stack::get();
    let mailbox = "svc-owner-serial@egov.test";
    let eve = "eve-owner@inst-b.test";
    let setup = secure(stack, mailbox, "");
    let csv = setup.dir.path().join("registry.csv");
    std::fs::write(
        &csv,
        "service,institution,serial,issuer,sha1,not_after,status,domain\nMPass,Instituția A,5A:0B:0C:0D,CN=STISC Issuing CA (test),,2027-12-31,active,inst-a.test\n",
    )
    .unwrap();
    setup.cli(&["registry", "import", csv.to_str().unwrap()]);
    let quoted = mail(
        eve,
        mailbox,
        "Conectare MNotify",
        "<owner-serial@inst-b.test>",
        "Certificatul este deja înregistrat pentru MPass, seria 5A 0B 0C 0D.",
    );
    stack
        .send_from_institution(eve, mailbox, &quoted.build())
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let reply = stack.wait_for(eve, "INBOX", 1, WAIT).await.remove(0);
    let token = token_of(&reply);
    let case = case_json(&setup, &token);
    assert_eq!(case["last_decision"], "reuse_confirmed", "{case}");
    assert_eq!(case["steps_done"], serde_json::json!([]), "{case}");
    assert_eq!(case["waiting_on"], "age", "{case}");
    let check = case["certificate_check"].as_str().unwrap_or_default();
    assert!(
        check.contains("registered to Instituția A, inst-a.test, not to inst-b.test"),
        "{case}"
    );
    let text = body(&reply);
    assert!(text.contains("un coleg verifică dacă"), "{text}");
    assert!(
        !text.contains("inst-a") && !text.contains("Instituția A"),
        "names no one: {text}"
    );
    // Staff settle it: completing the step closes the check.
    setup.cli(&[
        "cases",
        "advance",
        &token,
        "certificate",
        "--note",
        "confirmed by phone",
    ]);
    let case = case_json(&setup, &token);
    assert!(case["certificate_check"].is_null(), "{case}");
    assert_eq!(
        case["steps_done"],
        serde_json::json!(["certificate"]),
        "{case}"
    );
}

/// Two institutions send the same certificate, which names no address and which no
/// registry entry gives a domain: nothing decides whose it is, so the second mail
/// completes nothing and its case waits on a staff check that names the first case;
/// the first applicant, told her certificate is accepted, keeps her step (its
/// timeline says the later mail is checked) and is mailed nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_nothing_shows_whose_a_certificate_the_later_case_is_checked() {
    let stack = Stack::get();
    let mailbox = "svc-owner-both@egov.test";
    let (eve, ion) = ("eve-both@inst-b.test", "ion-both@inst-a.test");
    let setup = secure(stack, mailbox, "");
    let cert = setup.leaf(&[0x5B, 0x01]);
    let send = |from: &str, id: &str| {
        mail(
            from,
            mailbox,
            "Certificat MNotify",
            id,
            "Certificatul pentru MNotify.",
        )
        .attach("s.cer", "application/pkix-cert", &cert)
        .build()
    };
    stack
        .send_from_institution(eve, mailbox, &send(eve, "<both-1@inst-b.test>"))
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let eve_token = token_of(&stack.wait_for(eve, "INBOX", 1, WAIT).await[0]);
    assert_eq!(
        case_json(&setup, &eve_token)["steps_done"],
        serde_json::json!(["certificate"]),
        "nothing spoke against the first"
    );
    stack
        .send_from_institution(ion, mailbox, &send(ion, "<both-2@inst-a.test>"))
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let ion_reply = stack.wait_for(ion, "INBOX", 1, WAIT).await.remove(0);
    let ion_case = case_json(&setup, &token_of(&ion_reply));
    assert_eq!(ion_case["steps_done"], serde_json::json!([]), "{ion_case}");
    assert!(
        ion_case["certificate_check"]
            .as_str()
            .is_some_and(|c| c.contains("nothing shows whose it is")),
        "{ion_case}"
    );
    assert!(
        ion_case["certificate_check"]
            .as_str()
            .is_some_and(|c| c.contains(&format!("#{eve_token}"))),
        "the check names the case that holds it: {ion_case}"
    );
    let eve_case = case_json(&setup, &eve_token);
    assert_eq!(
        eve_case["steps_done"],
        serde_json::json!(["certificate"]),
        "{eve_case}"
    );
    assert!(eve_case["certificate_check"].is_null(), "{eve_case}");
    let eve_shown = setup.cli(&["cases", "show", &eve_token]);
    assert!(
        eve_shown.contains("sent by inst-a.test too")
            && eve_shown.contains("the certificate step stays done"),
        "{eve_shown}"
    );
    assert!(
        !body(&ion_reply).contains("inst-b") && !body(&ion_reply).contains(&eve_token),
        "the reply names no one"
    );
    assert_eq!(
        stack.count(eve, "INBOX").await,
        1,
        "eve is not mailed about it"
    );
}

/// Held mail past the ceiling keeps only its record: staff see why, and accepting it
/// reads it again from Needs-Human and answers it as the institution's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_mail_past_the_ceiling_is_read_again_when_accepted() {
    let stack = Stack::get();
    let mailbox = "svc-held-ceiling@egov.test";
    let ion = "ion-held@inst-a.test";
    let setup = secure(stack, mailbox, "");
    let text = std::fs::read_to_string(&setup.config)
        .unwrap()
        .replace("[store]\n", "[store]\nheld_max_messages = 2\n");
    std::fs::write(&setup.config, text).unwrap();
    for n in 0..3 {
        let forged = mail(
            ion,
            mailbox,
            "Conectare MNotify",
            &format!("<held-{n}@inst-a.test>"),
            "Bună ziua, dorim conectarea la MNotify. Ce trebuie să trimitem?",
        );
        // Straight to the MX: not signed, so held.
        stack.deliver(ion, mailbox, &forged.build()).await;
    }
    stack.wait_for(mailbox, "INBOX", 3, WAIT).await;
    setup.cli(&["run", "--once"]);
    assert_eq!(stack.count(mailbox, "Needs-Human").await, 3);
    let held = setup.cli(&["held", "list"]);
    assert_eq!(
        held.matches("held mail ceiling is reached").count(),
        1,
        "the third is not kept whole:\n{held}"
    );
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("Senders not authenticated")
            && digest.contains("held mail ceiling is reached"),
        "in the staff language: {digest}"
    );
    let neutral = stack.wait_for(ion, "INBOX", 3, WAIT).await.len();

    let accepted = setup.cli(&["held", "accept", "<held-2@inst-a.test>"]);
    assert!(accepted.contains("accepted"), "{accepted}");
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ion, "INBOX", neutral + 1, WAIT).await;
    let answered = replies
        .iter()
        .filter(|r| !body(r).contains("nu a putut fi verificat"))
        .count();
    assert_eq!(answered, 1, "the accepted mail got its reply");
    let cases = setup.cli(&["cases", "list", "--json"]);
    assert_eq!(cases.lines().count(), 1, "one case opened: {cases}");
    // The accepted one (read again from Needs-Human) is filed with the handled mail;
    // nothing is lost.
    stack.wait_for(mailbox, "Processed", 1, WAIT).await;
    assert_eq!(stack.count(mailbox, "Needs-Human").await, 2);
    assert_eq!(stack.count(mailbox, "INBOX").await, 0);
}
