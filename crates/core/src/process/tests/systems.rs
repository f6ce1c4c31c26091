//! A case per information system.

use super::*;

#[test]
fn a_second_information_system_gets_a_case_of_its_own() {
    let first = stamped(
        "ion@inst-a.test",
        "pass",
        "Subject: MNotify\r\n\r\nConectare MNotify.\r\nDenumirea sistemului în MPass: SI Registrul Elevilor\r\n",
    );
    let a = plan_with(&first, Known::default(), require()).case.unwrap();
    assert_eq!(a.system(), Some("SI Registrul Elevilor"));
    let with_case = |case: &Case| Known {
        case: Some(case.clone()),
        ..Known::default()
    };
    // The same sender, a new mail (not in the case's thread) about another system.
    let other = stamped(
        "ion@inst-a.test",
        "pass",
        "Subject: MNotify, al doilea sistem\r\n\r\nConectare MNotify.\r\nDenumirea sistemului în MPass: SI Cantine\r\n",
    );
    let b = plan_with(&other, with_case(&a), require()).case.unwrap();
    assert_ne!(b.token, a.token);
    assert_eq!(b.system(), Some("SI Cantine"));
    assert!(
        b.timeline.iter().any(|e| e.what.contains(&format!(
            "case #{} of the same institution is for SI Registrul Elevilor",
            a.token
        ))),
        "{:?}",
        b.timeline
    );
    // The same system, however written, joins; so does a mail in the case's thread.
    let same = stamped(
        "ion@inst-a.test",
        "pass",
        "Subject: MNotify\r\n\r\nDenumirea sistemului în MPass: si  registrul elevilor\r\n",
    );
    assert_eq!(
        plan_with(&same, with_case(&a), require())
            .case
            .unwrap()
            .token,
        a.token
    );
    let renamed = stamped(
        "ion@inst-a.test",
        "pass",
        &format!(
            "Subject: Re: MNotify [MNotify #{}]\r\n\r\nDenumirea sistemului în MPass: SI Registrul Elevilor 2\r\n",
            a.token
        ),
    );
    assert_eq!(
        plan_with(&renamed, with_case(&a), require())
            .case
            .unwrap()
            .token,
        a.token
    );
}
