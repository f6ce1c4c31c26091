//! The console's registry page on the real stack: staff import a CSV file chosen in the
//! browser, see what it would change, and only the confirmation changes the registry.

use fantoccini::Locator;

use crate::browser::Browser;
use crate::console::{console_setup, console_url, password, post};
use crate::stack::Stack;

/// A file upload previews what it adds; nothing is known until staff confirm; then the
/// registry (and `registry list`) holds it, an institution's name with markup as text;
/// a confirmation forged from another site changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_import_a_registry_csv_file_after_its_preview() {
    let stack = Stack::get();
    let setup = console_setup(stack, "svc-console-registry@egov.test", "");
    let daemon = setup.start();
    let base = console_url(&setup);
    let file = setup.dir.path().join("registru.csv");
    std::fs::write(
        &file,
        "service,institution,serial,issuer,sha1,not_after,status\n\
         MSign,Agenția <b>X</b>,7C:0D:0E:01,\"CN=STISC Issuing CA (test)\",,2030-12-31,active\n",
    )
    .unwrap();
    let browser = Browser::start().await;
    browser.sign_in(&base, "ana", &password(stack)).await;
    browser.find("#matched").await;
    browser.goto(&format!("{base}/registry")).await;
    assert_eq!(browser.text_of("#known").await, "0");
    browser
        .find("#import-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    browser.find("#import-upload").await.click().await.unwrap();
    let page = browser.client.source().await.unwrap_or_default();
    assert!(
        !page.contains("cannot be rendered"),
        "daemon log:\n{}",
        setup.log()
    );
    let preview = browser.text_of("#import-result").await;
    assert!(
        preview.contains("1 / 0 / 0") && preview.contains("+ 7C0D0E01"),
        "{preview}"
    );
    assert!(
        !setup.cli(&["registry", "list"]).contains("7C0D0E01"),
        "a preview changes nothing"
    );
    browser.find("#import-confirm").await.click().await.unwrap();
    let answer = browser.text_of("#import-answer").await;
    assert!(answer.contains("registrul: 1 adăugate"), "{answer}");
    let table = browser.text_of("#registry").await;
    assert!(
        table.contains("7C0D0E01") && table.contains("Agenția <b>X</b>"),
        "{table}"
    );
    // The status in the console's language (Romanian here); `registry list` says it
    // in the staff language (English in these tests).
    assert!(
        table.contains("activ") && !table.contains("active"),
        "{table}"
    );
    let listed = setup.cli(&["registry", "list"]);
    assert!(
        listed.contains("active ")
            && listed.contains(" until ")
            && listed.contains("1 known certificates"),
        "{listed}"
    );
    let bold = browser
        .client
        .find_all(Locator::Css("#registry b"))
        .await
        .unwrap();
    assert!(bold.is_empty(), "the institution's name is text");
    // A file that is not a registry CSV: said so, nothing changed.
    let wrong = setup.dir.path().join("not-a-registry.csv");
    std::fs::write(&wrong, "name,colour\nion,blue\n").unwrap();
    browser
        .find("#import-file")
        .await
        .send_keys(wrong.to_str().unwrap())
        .await
        .unwrap();
    browser.find("#import-upload").await.click().await.unwrap();
    let refused = browser.text_of("#import-result [role=alert]").await;
    assert!(!refused.is_empty(), "the reason is shown");
    assert!(browser
        .client
        .find_all(Locator::Css("#import-confirm"))
        .await
        .unwrap()
        .is_empty());
    // Another site's page sending staff's session to confirm an import of its own,
    // with the form token or without: refused, the registry unchanged.
    let cookie = browser
        .cookie("mnotify_session")
        .await
        .expect("staff's session");
    let csrf = browser.value("input[name=csrf]").await;
    let forged = "service,institution,serial,issuer,sha1,not_after,status\n\
                  MSign,Evil,99:88:77:66,\"CN=STISC Issuing CA (test)\",,2030-12-31,active\n";
    for (origin, token) in [
        (Some("http://evil.test"), csrf.as_str()),
        (Some(base.as_str()), ""),
    ] {
        let form = [("csrf", token), ("csv", forged), ("confirm", "1")];
        let (status, _) = post(&format!("{base}/registry/import"), &cookie, origin, &form);
        assert_eq!(status, 403, "from {origin:?}");
    }
    // From the console itself with its token but no request id (the confirming form
    // always has one: a change is applied once by it): refused, nothing imported.
    let form = [("csrf", csrf.as_str()), ("csv", forged), ("confirm", "1")];
    let (status, page) = post(
        &format!("{base}/registry/import"),
        &cookie,
        Some(base.as_str()),
        &form,
    );
    assert_eq!(status, 400, "{page}");
    browser.close().await;
    daemon.stop();
    let listed = setup.cli(&["registry", "list"]);
    assert_eq!(listed.matches("7C0D0E01").count(), 1, "{listed}");
    assert!(!listed.contains("99887766"), "{listed}");
}
