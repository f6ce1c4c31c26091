use super::keeper;
use super::*;
use crate::certificate::Certificate;
use crate::revocation::for_tests::{leaf, week_crl, GOOD, NOW, REVOKED};
use crate::testkit::pki::{LeafSpec, Pki};
use time::Duration;

#[test]
fn only_trusted_certificates_name_urls_worth_fetching() {
    let pki = Pki::new(NOW);
    let mut spec = LeafSpec::valid_at(NOW, "SI", GOOD);
    spec.crl_url = Some("http://crl.stisc.test/issuing.crl".into());
    let trusted = Certificate::from_der(&pki.leaf(&spec)).unwrap();
    assert_eq!(trusted.crl_urls, ["http://crl.stisc.test/issuing.crl"]);
    let mut hostile = spec.clone();
    hostile.crl_url = Some("http://127.0.0.1:9464/metrics".into());
    let stranger = Certificate::from_der(&crate::testkit::pki::self_signed(&hostile)).unwrap();
    let mut ldap = spec.clone();
    ldap.crl_url = Some("ldap://dir.stisc.test/cn=crl".into());
    let ldap = Certificate::from_der(&pki.leaf(&ldap)).unwrap();
    let urls = keeper::trusted_urls(&[trusted, stranger, ldap], &pki.trust_anchors());
    assert_eq!(urls, ["http://crl.stisc.test/issuing.crl"]);
}

#[test]
fn the_keeper_reads_crl_files_again_when_they_change() {
    let pki = Pki::new(NOW);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stisc.crl");
    std::fs::write(
        &path,
        pki.crl(&[], NOW - Duration::days(1), NOW + Duration::days(6)),
    )
    .unwrap();
    let sources = keeper::CrlSources {
        files: vec![path.clone()],
        ..keeper::CrlSources::default()
    };
    let mut keeper = keeper::Keeper::new(sources, pki.trust_anchors(), NOW);
    let c = leaf(&pki, REVOKED);
    let status = |k: &keeper::Keeper| k.revocations().status(&c.issuer_raw, &c.serial, &[], NOW);
    assert!(matches!(status(&keeper), Some(Revocation::Good { .. })));
    // The CA publishes a new list: the file is replaced, the next refresh reads it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, week_crl(&pki)).unwrap();
    keeper.refresh(NOW);
    assert!(matches!(status(&keeper), Some(Revocation::Revoked { .. })));
    // Fetching is off: certificates' distribution points are not followed.
    keeper.learn(&["http://127.0.0.1:1/never".to_string()]);
    assert!(keeper
        .revocations()
        .crl("http://127.0.0.1:1/never")
        .is_none());
    // A file that is not a CRL of ours is refused and said so.
    std::fs::write(&path, b"garbage").unwrap();
    keeper.refresh(NOW);
    assert!(
        matches!(status(&keeper), Some(Revocation::Revoked { .. })),
        "the last good list stays"
    );
}
