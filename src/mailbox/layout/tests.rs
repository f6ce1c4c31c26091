use super::*;
use crate::config::FoldersNamed;

fn responses(lines: &[&str]) -> Vec<Vec<u8>> {
    lines
        .iter()
        .map(|l| format!("{l}\r\n").into_bytes())
        .collect()
}

/// Answers as Cyrus IMAP 3.6 gave them in Debian's default namespace (seen on the
/// test stack), with an Exchange-like `Sent Items` made by CREATE … (USE (\Sent)).
fn cyrus() -> Layout {
    Layout::read(
        &responses(&[r#"* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))"#]),
        &responses(&[
            r#"* LIST (\HasChildren) "." INBOX"#,
            r#"* LIST (\HasNoChildren \Sent) "." "INBOX.Sent Items""#,
            r#"* LIST (\HasNoChildren \Drafts) "." INBOX.Ciorne"#,
        ]),
    )
}

/// The defaults, as `[imap]` without folder names gives them.
fn imap() -> ImapConfig {
    ImapConfig {
        host: "localhost".into(),
        port: 993,
        tls: crate::config::TlsMode::Implicit,
        ca_file: None,
        user: "servicii".into(),
        auth: crate::config::Auth::Password(crate::secret::SecretSource::Env("P".into())),
        inbox: "INBOX".into(),
        processed_folder: "Processed".into(),
        needs_human_folder: Some("Needs-Human".into()),
        sent_folder: Some("Sent".into()),
        drafts_folder: "Drafts".into(),
        junk_folder: None,
        idle: true,
        poll_interval: std::time::Duration::from_secs(60),
        backlog: crate::config::Backlog::Handle,
        command_timeout: std::time::Duration::from_secs(120),
        named: FoldersNamed::default(),
    }
}

#[test]
fn cyrus_answers_give_the_prefix_and_the_marked_folders() {
    let layout = cyrus();
    assert_eq!(layout.prefix, "INBOX.");
    assert_eq!(layout.separator, Some('.'));
    assert_eq!(
        layout.foreign,
        ["user."],
        "the shared namespace's empty prefix says nothing"
    );
    assert_eq!(layout.sent.as_deref(), Some("INBOX.Sent Items"));
    assert_eq!(layout.drafts.as_deref(), Some("INBOX.Ciorne"));
    assert_eq!(
        layout.folders,
        ["INBOX", "INBOX.Sent Items", "INBOX.Ciorne"]
    );
}

#[test]
fn defaults_move_into_the_namespace_and_to_the_marked_folders() {
    let (out, choices) = cyrus().adapt(&imap());
    assert_eq!(out.processed_folder, "INBOX.Processed");
    assert_eq!(out.needs_human_folder.as_deref(), Some("INBOX.Needs-Human"));
    assert_eq!(out.sent_folder.as_deref(), Some("INBOX.Sent Items"));
    assert_eq!(out.drafts_folder, "INBOX.Ciorne");
    assert_eq!(out.inbox, "INBOX", "the inbox is never adapted");
    let why: Vec<_> = choices
        .iter()
        .map(|c| (c.setting, c.why.as_str()))
        .collect();
    assert!(
        why.contains(&("sent_folder", "the server marks it \\Sent")),
        "{why:?}"
    );
    assert!(
        why.contains(&(
            "processed_folder",
            "default, in the server's personal namespace \"INBOX.\""
        )),
        "{why:?}"
    );
}

#[test]
fn names_the_config_wrote_stay_as_written() {
    let mut cfg = imap();
    cfg.named = FoldersNamed {
        processed: true,
        needs_human: true,
        sent: true,
        drafts: true,
        junk: true,
    };
    let (out, choices) = cyrus().adapt(&cfg);
    assert_eq!(out, cfg);
    assert!(choices.iter().all(|c| c.why == "as configured"));
}

#[test]
fn sent_turned_off_stays_off() {
    let mut cfg = imap();
    cfg.sent_folder = None;
    cfg.named.sent = true;
    let (out, choices) = cyrus().adapt(&cfg);
    assert_eq!(out.sent_folder, None);
    assert!(!choices.iter().any(|c| c.setting == "sent_folder"));
}

#[test]
fn a_folder_an_earlier_run_made_outside_the_namespace_keeps_its_name() {
    let layout = Layout::read(
        &responses(&[r#"* NAMESPACE (("INBOX/" "/")) NIL NIL"#]),
        &responses(&[r#"* LIST () "/" Processed"#, r#"* LIST () "/" INBOX"#]),
    );
    let (out, _) = layout.adapt(&imap());
    assert_eq!(out.processed_folder, "Processed");
    assert_eq!(out.needs_human_folder.as_deref(), Some("INBOX/Needs-Human"));
}

#[test]
fn dovecot_and_exchange_answers() {
    let dovecot = Layout::read(
        &responses(&[r#"* NAMESPACE (("" "/")) NIL NIL"#]),
        &responses(&[
            r#"* LIST (\HasNoChildren \Sent) "/" Sent"#,
            r#"* LIST (\HasNoChildren \Drafts) "/" Drafts"#,
            r#"* LIST (\HasNoChildren) "/" INBOX"#,
        ]),
    );
    assert_eq!(
        dovecot.adapt(&imap()).0,
        imap(),
        "nothing changes on a server like the test stack's"
    );
    let exchange = Layout::read(
        &responses(&[r#"* NAMESPACE (("" "/")) NIL NIL"#]),
        &responses(&[
            r#"* LIST (\Marked \HasNoChildren \Sent) "/" "Sent Items""#,
            r#"* LIST (\HasNoChildren \Drafts) "/" Drafts"#,
            r#"* LIST (\HasChildren) "/" INBOX"#,
        ]),
    );
    let (out, _) = exchange.adapt(&imap());
    assert_eq!(
        out.sent_folder.as_deref(),
        Some("Sent Items"),
        "never a second Sent beside Exchange's own"
    );
    assert_eq!(out.processed_folder, "Processed");
}

#[test]
fn literals_escapes_nil_separators_and_namespace_extensions() {
    let layout = Layout::read(
        &[b"* NAMESPACE ((\"\" NIL \"X-PARAM\" (\"a\"))) NIL NIL\r\n".to_vec()],
        &[
            b"* LIST (\\Sent) \"/\" {11}\r\nSent \"quote\r\n".to_vec(),
            b"* LIST (\\Drafts) \"/\" \"Dra\\\"fts\"\r\n".to_vec(),
            b"* LIST (\\NoSelect \\HasChildren) \"/\" Archive\r\n".to_vec(),
        ],
    );
    assert_eq!(layout.prefix, "");
    assert_eq!(layout.separator, None);
    assert_eq!(layout.sent.as_deref(), Some("Sent \"quote"));
    assert_eq!(layout.drafts.as_deref(), Some("Dra\"fts"));
    assert!(
        !layout.folders.contains(&"Archive".to_string()),
        "a \\NoSelect name holds no mail"
    );
}

#[test]
fn answers_that_are_not_what_was_asked_or_are_broken_change_nothing() {
    for broken in [
        "* NAMESPACE NIL NIL NIL",
        "* OK [ALERT] hello",
        "* NAMESPACE ((\"INBOX.",
        "* LIST (\\Sent \"/\" Sent",
        "* LIST (\\Sent) \"/\" {999}",
        "* LIST (\\Sent) \"/\" {x}",
        "",
    ] {
        let layout = Layout::read(&responses(&[broken]), &responses(&[broken]));
        assert_eq!(layout, Layout::default(), "{broken:?}");
    }
}

#[test]
fn the_suggestion_for_a_refused_name_is_the_name_in_the_namespace() {
    assert_eq!(
        cyrus().suggestion("Processed").as_deref(),
        Some("INBOX.Processed")
    );
    assert_eq!(cyrus().suggestion("INBOX.Processed"), None);
    assert_eq!(Layout::default().suggestion("Processed"), None);
}

#[test]
fn tokens_never_panic_on_arbitrary_bytes() {
    let mut seed = 7u64;
    for _ in 0..2000 {
        let len = (seed % 40) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"* LIST()\"\\{}12 \r\nNAMESPACE+x"[(seed >> 33) as usize % 28]
            })
            .collect();
        let both = std::slice::from_ref(&bytes);
        let _ = Layout::read(both, both);
    }
}

#[test]
fn a_mark_on_the_inbox_or_a_folder_we_file_into_is_not_followed() {
    // Anyone with access to the mailbox can set a special use; copies of replies in the
    // inbox would come back to the daemon as mail.
    let layout = Layout::read(
        &responses(&[r#"* NAMESPACE (("" "/")) NIL NIL"#]),
        &responses(&[
            r#"* LIST (\Sent) "/" inbox"#,
            r#"* LIST (\Drafts) "/" Processed"#,
        ]),
    );
    let (out, _) = layout.adapt(&imap());
    assert_eq!(out.sent_folder.as_deref(), Some("Sent"));
    assert_eq!(out.drafts_folder, "Drafts");
}

#[test]
fn a_marked_folder_of_another_user_or_outside_the_personal_namespace_is_not_ours() {
    // Another user's folder shared with us, marked \Sent by its owner: replies (with
    // applicants' data) must not land there.
    let cyrus_shared = Layout::read(
        &responses(&[r#"* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))"#]),
        &responses(&[
            r#"* LIST (\HasNoChildren \Sent) "." user.bob.Sent"#,
            r#"* LIST (\HasNoChildren \Drafts) "." Public.Drafts"#,
            r#"* LIST (\HasNoChildren \Sent) "." INBOX.Trimise"#,
        ]),
    );
    assert_eq!(cyrus_shared.sent.as_deref(), Some("INBOX.Trimise"));
    assert_eq!(
        cyrus_shared.drafts, None,
        "outside INBOX. on a server that keeps ours there"
    );
    let dovecot_shared = Layout::read(
        &responses(&[r#"* NAMESPACE (("" "/")) (("users/" "/")) (("shared/" "/"))"#]),
        &responses(&[
            r#"* LIST (\Sent) "/" shared/Sent"#,
            r#"* LIST (\Drafts) "/" users/ana/Drafts"#,
        ]),
    );
    assert_eq!(dovecot_shared.foreign, ["users/", "shared/"]);
    assert_eq!(dovecot_shared.sent, None);
    assert_eq!(dovecot_shared.drafts, None);
    let (out, _) = dovecot_shared.adapt(&imap());
    assert_eq!(out.sent_folder.as_deref(), Some("Sent"));
}

#[test]
fn the_junk_folder_is_the_one_the_server_marks_and_never_a_folder_we_file_into() {
    let namespace = responses(&[r#"* NAMESPACE (("" "/")) NIL NIL"#]);
    let layout = Layout::read(
        &namespace,
        &responses(&[
            r#"* LIST (\HasNoChildren) "/" INBOX"#,
            r#"* LIST (\HasNoChildren \Junk) "/" "Junk Email""#,
        ]),
    );
    let (out, choices) = layout.adapt(&imap());
    assert_eq!(out.junk_folder.as_deref(), Some("Junk Email"));
    assert!(choices.iter().any(|c| c.setting == "junk_folder"));
    let marked_processed =
        Layout::read(&namespace, &responses(&[r#"* LIST (\Junk) "/" Processed"#]));
    assert_eq!(marked_processed.adapt(&imap()).0.junk_folder, None);
    let none = Layout::read(&namespace, &[]);
    assert_eq!(
        none.adapt(&imap()).0.junk_folder,
        None,
        "no junk folder is guessed"
    );
}
