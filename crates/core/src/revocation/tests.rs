use super::*;
use crate::revocation::for_tests::{leaf, week_crl, GOOD, HELD, NOW, REVOKED};
use crate::testkit::pki::Pki;
use time::Duration;

#[test]
fn a_signed_crl_says_revoked_on_hold_and_good() {
    let pki = Pki::new(NOW);
    let crl = Crl::read(&week_crl(&pki), "file.crl", &pki.trust_anchors()).expect("reads");
    assert_eq!(crl.entries.len(), 2);
    let mut revocations = Revocations::checking();
    revocations.insert(crl);
    let status = |serial: &[u8]| {
        let c = leaf(&pki, serial);
        revocations
            .status(&c.issuer_raw, &c.serial, &c.crl_urls, NOW)
            .unwrap()
    };
    assert!(matches!(status(REVOKED), Revocation::Revoked { .. }));
    assert!(matches!(status(HELD), Revocation::OnHold { .. }));
    assert_eq!(
        status(GOOD),
        Revocation::Good {
            source: "file.crl".into()
        }
    );
    // Not checking: nothing is said.
    let c = leaf(&pki, REVOKED);
    assert_eq!(
        Revocations::default().status(&c.issuer_raw, &c.serial, &[], NOW),
        None
    );
}

#[test]
fn pem_crls_are_read_too() {
    let pki = Pki::new(NOW);
    let pem = crate::testkit::pki::pem("X509 CRL", &week_crl(&pki));
    assert!(Crl::read(pem.as_bytes(), "p", &pki.trust_anchors()).is_ok());
}

#[test]
fn a_crl_not_signed_by_an_anchor_is_refused() {
    let pki = Pki::new(NOW);
    let stranger = Pki::new(NOW);
    // Same names, other keys: the signature gives it away.
    let err = Crl::read(&week_crl(&stranger), "x", &pki.trust_anchors()).unwrap_err();
    assert!(matches!(err, CrlError::BadSignature(_)), "{err}");
    let other = Pki::named("Other Root", "Other Issuing", NOW);
    let err = Crl::read(&week_crl(&other), "x", &pki.trust_anchors()).unwrap_err();
    assert!(matches!(err, CrlError::UnknownIssuer(_)), "{err}");
    let err = Crl::read(b"not a crl", "x", &pki.trust_anchors()).unwrap_err();
    assert!(matches!(err, CrlError::Unreadable(_)), "{err}");
}

#[test]
fn out_of_date_or_missing_crls_leave_revocation_unknown_with_the_reason() {
    let pki = Pki::new(NOW);
    let mut revocations = Revocations::checking();
    let c = leaf(&pki, GOOD);
    let urls = vec!["http://crl.stisc.test/issuing.crl".to_string()];
    let why = |r: Option<Revocation>| match r {
        Some(Revocation::Unknown { why }) => why,
        other => panic!("not unknown: {other:?}"),
    };
    let nothing = why(revocations.status(&c.issuer_raw, &c.serial, &urls, NOW));
    assert!(nothing.contains("no CRL of its issuer"), "{nothing}");
    revocations.failed(&urls[0], "no answer within 10 s".into());
    let failed = why(revocations.status(&c.issuer_raw, &c.serial, &urls, NOW));
    assert!(failed.contains("no answer within 10 s"), "{failed}");
    let stale = pki.crl(
        &[(REVOKED, false)],
        NOW - Duration::days(10),
        NOW - Duration::days(3),
    );
    revocations.insert(Crl::read(&stale, &urls[0], &pki.trust_anchors()).unwrap());
    let old = why(revocations.status(&c.issuer_raw, &c.serial, &urls, NOW));
    assert!(old.contains("out of date"), "{old}");
    // What an old list says was revoked stays revoked.
    let r = leaf(&pki, REVOKED);
    assert!(matches!(
        revocations.status(&r.issuer_raw, &r.serial, &urls, NOW),
        Some(Revocation::Revoked { .. })
    ));
}

#[test]
fn a_fetched_crl_vouches_only_for_the_certificates_naming_its_point() {
    let pki = Pki::new(NOW);
    let a = "http://crl.stisc.test/a.crl".to_string();
    let b = "http://crl.stisc.test/b.crl".to_string();
    let crl = Crl::read(&week_crl(&pki), &a, &pki.trust_anchors()).unwrap();
    let mut revocations = Revocations::checking();
    revocations.insert(Crl {
        whole_issuer: false,
        ..crl
    });
    let good = leaf(&pki, GOOD);
    let at = |urls: &[String]| {
        revocations
            .status(&good.issuer_raw, &good.serial, urls, NOW)
            .unwrap()
    };
    assert!(matches!(
        at(std::slice::from_ref(&a)),
        Revocation::Good { .. }
    ));
    assert!(matches!(
        at(std::slice::from_ref(&b)),
        Revocation::Unknown { .. }
    ));
    assert!(matches!(at(&[]), Revocation::Unknown { .. }));
    // Listed is listed, whichever list of the issuer says it.
    let revoked = leaf(&pki, REVOKED);
    assert!(matches!(
        revocations.status(&revoked.issuer_raw, &revoked.serial, &[b], NOW),
        Some(Revocation::Revoked { .. })
    ));
}
