use super::*;
use crate::testkit::pki::Pki;
use time::macros::datetime;
use time::Duration;

/// Parts that need no server: anchors judged at `now`, a missing store directory,
/// no [imap] and no [smtp] while replies are to be sent.
#[tokio::test]
async fn anchors_store_and_missing_sections_are_judged() {
    let issued = datetime!(2026-11-24 12:00 UTC);
    let pki = Pki::new(issued);
    let dir = tempfile::tempdir().unwrap();
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, pki.anchors_pem()).unwrap();
    // The store's place is taken by a file (the tests run as root, who may write
    // anywhere, so a read-only directory would not do).
    std::fs::write(dir.path().join("blocked"), "").unwrap();
    let text = format!(
        "[store]\npath = \"{}\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"{}\"]\n[reply]\nmode = \"send\"\n",
        dir.path().join("blocked/store").display(),
        anchors.display()
    );
    let config = Config::parse(&dir.path().join("c.toml"), &text).unwrap();
    let level_of = |report: &Report, part: &str| -> Vec<Level> {
        report
            .lines
            .iter()
            .filter(|l| l.part == part)
            .map(|l| l.level)
            .collect()
    };

    let report = check(&config, issued).await;
    assert_eq!(level_of(&report, "trust anchors"), [Level::Ok, Level::Ok]);
    assert_eq!(level_of(&report, "store"), [Level::Failed], "{report:?}");
    assert_eq!(level_of(&report, "IMAP"), [Level::Warning]);
    assert_eq!(level_of(&report, "SMTP"), [Level::Failed]);
    assert_eq!(level_of(&report, "templates"), [Level::Ok]);
    // The socket beside the store cannot be made either.
    assert_eq!(level_of(&report, "control"), [Level::Failed], "{report:?}");
    assert_eq!(report.failures(), 3);
    assert_eq!(level_of(&report, "config"), [], "no old key");
    // An old key is read and said, with the key that replaced it.
    let old = Config::parse(
        &dir.path().join("c.toml"),
        &format!("{text}from_name = \"AGE Servicii\"\n"),
    )
    .unwrap();
    let report = check(&old, issued).await;
    assert_eq!(level_of(&report, "config"), [Level::Warning]);
    assert!(
        report.lines[0].text.contains("[agency] name"),
        "{:?}",
        report.lines[0]
    );

    let expiry = issued + Duration::days(3650);
    let soon = check(&config, expiry - Duration::days(30)).await;
    assert_eq!(
        level_of(&soon, "trust anchors"),
        [Level::Warning, Level::Warning],
        "{soon:?}"
    );
    let late = check(&config, expiry + Duration::days(1)).await;
    assert_eq!(
        level_of(&late, "trust anchors"),
        [Level::Failed, Level::Failed]
    );
    assert!(
        late.lines[0].text.contains("has expired"),
        "{:?}",
        late.lines[0]
    );
}

#[tokio::test]
async fn crl_files_are_read_against_the_anchors() {
    let now = datetime!(2026-11-24 12:00 UTC);
    let pki = Pki::new(now);
    let stranger = Pki::named("Other Root", "Other Issuing", now);
    let dir = tempfile::tempdir().unwrap();
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, pki.anchors_pem()).unwrap();
    let ours = dir.path().join("ours.crl");
    std::fs::write(
        &ours,
        pki.crl(&[], now - Duration::days(1), now + Duration::days(6)),
    )
    .unwrap();
    let theirs = dir.path().join("theirs.crl");
    let other = stranger.crl(&[], now - Duration::days(1), now + Duration::days(6));
    std::fs::write(&theirs, other).unwrap();
    let text = format!(
        "[store]\npath = \"{}\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"{}\"]\n[reply]\nmode = \"off\"\n[revocation]\ncrl_files = [\"ours.crl\", \"theirs.crl\"]\nfetch = true\n",
        dir.path().join("store").display(),
        anchors.display()
    );
    let config = Config::parse(&dir.path().join("c.toml"), &text).unwrap();
    let lines: Vec<(Level, String)> = check(&config, now)
        .await
        .lines
        .into_iter()
        .filter(|l| l.part == "revocation")
        .map(|l| (l.level, l.text))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0].0, Level::Ok, "{lines:?}");
    assert!(lines[0].1.contains("0 listed"), "{lines:?}");
    assert_eq!(lines[1].0, Level::Failed, "{lines:?}");
    assert!(
        lines[1].1.contains("not one of the trust anchors"),
        "{lines:?}"
    );
    assert!(lines[2].1.contains("fetched over HTTP"), "{lines:?}");
    let stale = check(&config, now + Duration::days(10)).await;
    assert!(stale.lines.iter().any(|l| l.part == "revocation"
        && l.level == Level::Warning
        && l.text.contains("out of date")));
}
