//! The binary as users and other tools run it: `registry import`, `registry list`,
//! `inspect --json`, and the errors they see.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mnotify_intake::testkit::mail::Mail;
use mnotify_intake::testkit::pki::{pem, LeafSpec, Pki};
use serde_json::Value;

use crate::util::{APPLICANT, NOW};

struct Setup {
    dir: tempfile::TempDir,
    pki: Pki,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = Pki::new(NOW);
        std::fs::write(dir.path().join("stisc.pem"), pki.anchors_pem()).expect("write anchors");
        std::fs::write(
            dir.path().join("config.toml"),
            "[store]\npath = \"store\"\n\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"stisc.pem\"]\n",
        )
        .expect("write config");
        Setup { dir, pki }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write file");
        p
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
            .arg("--config")
            .arg(self.path("config.toml"))
            .args(args)
            .output()
            .expect("binary runs")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

const NOW_ARG: &str = "2026-11-24T12:00:00Z";

#[test]
fn import_then_inspect_json_carries_the_contract_fields() {
    let s = Setup::new();
    let known = s.pki.leaf(&LeafSpec::valid_at(
        NOW,
        "SI Cunoscut",
        &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66],
    ));
    let cer = s.write("known.cer", pem("CERTIFICATE", &known).as_bytes());
    let out = s.run(&[
        "registry",
        "import",
        "--service",
        "MPass",
        "--institution",
        "Agenția X",
        cer.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 adăugate"),
        "{}",
        text(&out.stdout)
    );

    let csv = "service,institution,serial,issuer,sha1,not_after,status\n\
               MSign,Agenția X,11:22:33:44:55:66,\"CN=STISC Issuing CA (test)\",,,active\n\
               MDocs,Primăria Y,0xABCDEF0123,CN=Other,,2030-01-01,revoked\n";
    let csv_path = s.write("registry.csv", csv.as_bytes());
    let out = s.run(&["registry", "import", csv_path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Re-importing both files changes nothing.
    let again = s.run(&[
        "registry",
        "import",
        "--service",
        "MPass",
        "--institution",
        "Agenția X",
        cer.to_str().expect("utf-8"),
        csv_path.to_str().expect("utf-8"),
    ]);
    assert!(
        text(&again.stdout).contains("0 adăugate, 0 actualizate"),
        "{}",
        text(&again.stdout)
    );

    let listed = json_lines(&s.run(&["registry", "list", "--json"]));
    assert_eq!(listed.len(), 2, "{listed:?}");

    let new_leaf = s.pki.leaf(&LeafSpec::valid_at(
        NOW,
        "SI Nou",
        &[0x77, 0x01, 0x02, 0x03],
    ));
    let new_mail = s.write(
        "new.eml",
        &Mail::new(APPLICANT, "Certificat MNotify")
            .text("Atașat.")
            .attach("nou.cer", "application/octet-stream", &new_leaf)
            .build(),
    );
    let reuse_mail = s.write(
        "reuse.eml",
        &Mail::new(APPLICANT, "MNotify")
            .text("Numărul de serie: 11 22 33 44 55 66")
            .build(),
    );
    let out = s.run(&[
        "inspect",
        "--json",
        "--now",
        NOW_ARG,
        new_mail.to_str().expect("utf-8"),
        reuse_mail.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);

    let new = &lines[0];
    assert_eq!(new["decision"], "new_certificate");
    assert_eq!(new["language"], "ro");
    assert_eq!(new["private_key_detected"], false);
    assert_eq!(new["problems"], serde_json::json!([]));
    let cert = &new["certificates"][0];
    for field in [
        "serial",
        "sha1",
        "sha256",
        "subject",
        "issuer",
        "not_before",
        "not_after",
        "problems",
        "known_for",
    ] {
        assert!(
            !cert[field].is_null(),
            "certificate field {field} missing: {cert}"
        );
    }
    assert_eq!(cert["serial"], "77010203");

    let reuse = &lines[1];
    assert_eq!(reuse["decision"], "reuse_confirmed");
    let q = &reuse["quoted"][0];
    assert_eq!(
        (q["kind"].as_str(), q["value"].as_str()),
        (Some("serial"), Some("112233445566"))
    );
    let services: Vec<&str> = q["matches"][0]["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        services,
        vec!["MPass", "MSign"],
        "one certificate known for two services"
    );
}

#[test]
fn unreadable_file_fails_at_the_end_but_the_others_are_analysed() {
    let s = Setup::new();
    let good = s.write(
        "ok.eml",
        &Mail::new(APPLICANT, "Salut")
            .text("Nimic despre certificat")
            .build(),
    );
    let out = s.run(&[
        "inspect",
        "--json",
        s.path("missing.eml").to_str().expect("utf-8"),
        good.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert!(lines[0]["error"].is_string());
    assert_eq!(lines[1]["decision"], "not_applicable");
    assert!(text(&out.stderr).contains("missing.eml"));
}

#[test]
fn human_output_reads_at_a_glance() {
    let s = Setup::new();
    let mail = s.write(
        "a.eml",
        &Mail::new(APPLICANT, "MNotify")
            .text("Serial number: 99 88 77 66 55 44")
            .build(),
    );
    let out = s.run(&["inspect", "--now", NOW_ARG, mail.to_str().expect("utf-8")]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("SERIAL NOT FOUND") && shown.contains("998877665544"),
        "{shown}"
    );
}

#[test]
fn config_errors_name_the_problem() {
    let s = Setup::new();
    std::fs::write(
        s.path("config.toml"),
        "[store]\npath = \"store\"\ncolour = 1\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"stisc.pem\"]\n",
    )
    .expect("write");
    let out = s.run(&["registry", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("colour"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(
        s.path("config.toml"),
        "[store]\npath = \"store\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"gone.pem\"]\n",
    )
    .expect("write");
    let out = s.run(&["registry", "list"]);
    assert!(
        text(&out.stderr).contains("gone.pem"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn certificate_import_needs_a_service_and_bad_csv_rows_change_nothing() {
    let s = Setup::new();
    let leaf = s
        .pki
        .leaf(&LeafSpec::valid_at(NOW, "X", &[0x01, 0x02, 0x03]));
    let cer = s.write("x.cer", &leaf);
    let out = s.run(&["registry", "import", cer.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--service"),
        "{}",
        text(&out.stderr)
    );

    let csv = s.write("bad.csv", b"service,institution,serial,issuer,sha1,not_after,status\nMPass,A,0102,CN=X,,,active\nMPass,B,zz-not-hex,CN=X,,,active\n");
    let out = s.run(&["registry", "import", csv.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !Path::new(&s.path("store")).exists()
            || json_lines(&s.run(&["registry", "list", "--json"])).is_empty()
    );
}

/// A registry exported by Excel in a Romanian locale (`;`, day-first dates) is read,
/// and the import says how it read it.
#[test]
fn a_registry_from_excel_in_a_romanian_locale_is_imported() {
    let s = Setup::new();
    let csv = s.write(
        "registru.csv",
        "service;institution;serial;issuer;sha1;not_after;status\r\nMPass;Agenția Servicii Publice;4A:3F:00:12;CN=STISC;;31.01.2027;active\r\n".as_bytes(),
    );
    let out = s.run(&["registry", "import", csv.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("fields separated by `;`") && said.contains("dd.mm.yyyy"),
        "{said}"
    );
    let listed = json_lines(&s.run(&["registry", "list", "--json"]));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["serial"], "4A3F0012");
    assert_eq!(listed[0]["institution"], "Agenția Servicii Publice");
    assert!(listed[0]["not_after"]
        .as_str()
        .unwrap()
        .starts_with("2027-01-31"));
}

/// An error is said once, with what to do, not followed by its own cause again.
#[test]
fn errors_are_said_once() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
        .args(["--config", "/nonexistent/mnotify.toml", "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("pass an existing file with --config"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    // `digest` alone names both choices.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
        .arg("digest")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--print|--send"), "{stderr}");
}

#[test]
fn status_on_a_missing_store_says_so_and_creates_nothing() {
    let s = Setup::new();
    for args in [&["status"][..], &["held", "list"]] {
        let out = s.run(args);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("no store at"), "{args:?}: {stderr}");
    }
    assert!(!s.path("store").exists(), "no empty store was made");
}
