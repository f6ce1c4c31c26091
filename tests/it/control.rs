//! The control socket, as local users meet it: staff commands reach the running daemon
//! through it (also while it cannot reach IMAP), the user is taken from the socket's
//! credentials, users outside the staff group are refused, a second `run` is told the
//! daemon is running, and what the daemon writes is its own.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mnotify_intake::testkit::mail::Mail;

use crate::mail::token_of;
use crate::service::{Setup, BIN};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);
const STAFF_GROUP: &str = "mnx-staff";
const MEMBER: &str = "mnx-member";
const OUTSIDER: &str = "mnx-outsider";

/// The test users and group (the suite runs as root, as CI does).
fn users() {
    let root = nix::unistd::Uid::current().is_root();
    assert!(root, "the control socket tests create local users: run the suite as root (scripts/test does in CI)");
    let run = |args: &[&str]| {
        let out = Command::new(args[0])
            .args(&args[1..])
            .output()
            .expect(args[0]);
        assert!(
            out.status.success() || String::from_utf8_lossy(&out.stderr).contains("already exists"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["groupadd", "-f", STAFF_GROUP]);
    run(&["useradd", "-M", "-N", "-G", STAFF_GROUP, MEMBER]);
    run(&["useradd", "-M", "-N", OUTSIDER]);
}

/// The binary and the setup's files where the test users can read them.
fn readable_by_others(setup: &Setup) -> PathBuf {
    let dir = setup.dir.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in ["config.toml", "anchors.pem"] {
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let bin = dir.join("mnotify-intake");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Runs the CLI as `user`.
fn as_user(user: &str, bin: &Path, setup: &Setup, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(bin)
        .arg("--config")
        .arg(&setup.config)
        .args(args)
        .output()
        .expect("runuser")
}

/// Points the setup's IMAP at a loopback port where nothing listens; returns the port.
fn point_imap_nowhere(stack: &Stack, setup: &Setup) -> u16 {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = std::fs::read_to_string(&setup.config).unwrap();
    let config = config.replacen(
        &format!("port = {}", stack.imaps_port),
        &format!("port = {dead}"),
        1,
    );
    std::fs::write(&setup.config, config).unwrap();
    dead
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_in_the_group_are_recorded_by_user_and_others_are_refused() {
    users();
    let stack = Stack::get();
    let mailbox = "svc-ctl@egov.test";
    let ion = "ion-ctl@inst-a.test";
    let setup = Setup::new(
        stack,
        mailbox,
        &format!("[control]\ngroup = \"{STAFF_GROUP}\"\n"),
    );
    let bin = readable_by_others(&setup);
    let mut question = Mail::new(ion, "MNotify")
        .message_id("<c1@inst-a.test>")
        .text("Ce trebuie pentru MNotify?");
    question.to = mailbox.to_string();
    stack.deliver(ion, mailbox, &question.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let daemon = setup.start();
    let token = token_of(&stack.wait_for(ion, "INBOX", 1, WAIT).await[0]);
    let socket = setup.dir.path().join("store.sock");
    assert_eq!(mode(&socket), 0o660, "the staff group may connect");
    let group = nix::unistd::Group::from_name(STAFF_GROUP).unwrap().unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&socket).unwrap()),
        group.gid.as_raw()
    );
    // Everything else the daemon wrote is its own.
    assert_eq!(
        mode(&setup.dir.path().join("store")) & 0o077,
        0,
        "the store is private"
    );

    // A member: the note is recorded under their user, whatever --by says.
    let out = as_user(
        MEMBER,
        &bin,
        &setup,
        &["cases", "note", &token, "called them", "--by", "root"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = as_user(MEMBER, &bin, &setup, &["cases", "show", &token]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.contains(&format!("note by root ({MEMBER}, uid ")),
        "{shown}"
    );

    // An outsider is refused, and nothing changes.
    let out = as_user(OUTSIDER, &bin, &setup, &["cases", "note", &token, "hijack"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("not allowed to use the daemon's control socket"),
        "{stderr}"
    );
    let out = as_user(OUTSIDER, &bin, &setup, &["status"]);
    assert!(!out.status.success());
    assert!(!setup.cli(&["cases", "show", &token]).contains("hijack"));

    // A second daemon is told the first one runs.
    let second = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success() && stderr.contains("already running (pid"),
        "{stderr}"
    );
    daemon.stop();
    assert!(!socket.exists(), "the socket goes with the daemon");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_answered_while_the_daemon_cannot_reach_imap() {
    let stack = Stack::get();
    let mailbox = "svc-ctl-down@egov.test";
    let setup = Setup::new(stack, mailbox, "");
    // The daemon retries with backoff.
    point_imap_nowhere(stack, &setup);
    let daemon = setup.start();
    let socket = setup.dir.path().join("store.sock");
    mnotify_intake::testkit::wait::eventually(WAIT, "the control socket", || {
        socket
            .exists()
            .then_some(())
            .ok_or_else(|| format!("log:\n{}", setup.log()))
    });
    // Let it fail a connection or two first.
    setup.wait_for_log("reconnecting", 1, WAIT);
    let asked = Instant::now();
    let status: serde_json::Value =
        serde_json::from_str(&setup.cli(&["status", "--json"])).unwrap();
    let took = asked.elapsed();
    println!("status through the control socket while IMAP is down: {took:?}");
    assert_eq!(status["cases"], 0, "{status}");
    assert!(took < Duration::from_secs(5), "answered in {took:?}");
    let listed = setup.run_cli(&["cases", "list"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    daemon.stop();
}

/// `run --once` is for cron and first tries: it gives up after a few tries, says why,
/// and exits non-zero (it used to retry forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_gives_up_when_imap_cannot_be_reached() {
    let stack = Stack::get();
    let setup = Setup::new(stack, "svc-once@egov.test", "");
    let dead = point_imap_nowhere(stack, &setup);
    let started = Instant::now();
    let out = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("gave up after 3 tries") && stderr.contains(&dead.to_string()),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let error = stderr
        .lines()
        .find(|l| l.starts_with("mnotify-intake: error:"))
        .expect("an error line");
    assert_eq!(
        error.matches("Connection refused").count(),
        1,
        "said once: {error}"
    );
}

/// A folder the server will not create (Cyrus refuses `Processed` outside `INBOX.`;
/// Dovecot a name that begins with `~`) is
/// a configuration error that names the folder and the command: `run --once` stops at
/// once with it, and `run` keeps trying with a growing pause, not every second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_the_server_refuses_is_named_and_not_hammered() {
    let stack = Stack::get();
    let setup = Setup::new(stack, "svc-refused-folder@egov.test", "");
    let text = std::fs::read_to_string(&setup.config).unwrap().replace(
        "backlog = \"handle\"\n",
        "backlog = \"handle\"\nprocessed_folder = \"~Processed\"\n",
    );
    std::fs::write(&setup.config, text).unwrap();
    let started = Instant::now();
    let out = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("refused CREATE of folder \"~Processed\"")
            && stderr.contains("gave up after 1 tries"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // The daemon keeps trying, with pauses that grow (1 s, 2 s, 4 s …), not every
    // second: six seconds after its first refusal it has tried three times, four at
    // most (a login a second would be seven).
    let daemon = setup.start();
    let first = Instant::now();
    while !setup.log().contains("refused CREATE of folder") {
        assert!(first.elapsed() < Duration::from_secs(60), "{}", setup.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(6));
    daemon.stop();
    let log = setup.log();
    let refusals = log.matches("refused CREATE of folder").count();
    assert!(
        (2..=4).contains(&refusals),
        "{refusals} refusals in 6 s: {log}"
    );
}
