use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/tnef/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The attachment names tnefparse's own tests expect of these real Outlook files.
#[test]
fn real_outlook_files_give_their_attachments() {
    let specs: &[(&str, &[&str])] = &[
        ("body.tnef", &[]),
        ("two-files.tnef", &["AUTHORS", "README"]),
        (
            "data-before-name.tnef",
            &["AUTOEXEC.BAT", "CONFIG.SYS", "boot.ini"],
        ),
        (
            "MAPI_ATTACH_DATA_OBJ.tnef",
            &[
                "VIA_Nytt_1402.doc",
                "VIA_Nytt_1402.pdf",
                "VIA_Nytt_14021.htm",
            ],
        ),
        ("garbage-at-end.tnef", &[]),
        ("long-filename.tnef", &["allproductsmar2000.dat"]),
        (
            "missing-filenames.tnef",
            &[
                "generpts.src",
                "TechlibDEC99.doc",
                "TechlibDEC99-JAN00.doc",
                "TechlibNOV99.doc",
            ],
        ),
        (
            "multi-value-attribute.tnef",
            &["208225__5_seconds__Voice_Mail.mp3"],
        ),
        ("one-file.tnef", &["AUTHORS"]),
        ("triples.tnef", &[]),
        (
            "unicode-mapi-attr-name.tnef",
            &[
                "spaconsole2.cfg",
                "image001.png",
                "image002.png",
                "image003.png",
            ],
        ),
        ("unicode-mapi-attr.tnef", &["example.dat"]),
        (
            "umlaut.tnef",
            &["TBZ PARIV GmbH.jpg", "image003.jpg", "UmlautAnhang-äüö.txt"],
        ),
    ];
    for (file, names) in specs {
        let found = attachments(&fixture(file)).unwrap_or_else(|| panic!("{file}: not read"));
        let got: Vec<&str> = found.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(&got, names, "{file}");
        // (Some files hold empty attachments: data-before-name's first two are 0 bytes.)
        assert!(
            found.is_empty() || found.iter().any(|a| !a.data.is_empty()),
            "{file}: no attachment has data"
        );
    }
    // The text of a known attachment, whole.
    let two = attachments(&fixture("two-files.tnef")).unwrap();
    assert!(
        String::from_utf8_lossy(&two[0].data).contains("Mark"),
        "AUTHORS"
    );
}

#[test]
fn damaged_streams_keep_what_came_before_and_never_panic() {
    let whole = fixture("two-files.tnef");
    assert!(attachments(b"not tnef").is_none());
    assert!(!is_tnef(b"\x78\x9f"));
    for cut in (0..whole.len()).step_by(37) {
        let _ = attachments(&whole[..cut]);
    }
    let mut flipped = whole.clone();
    for i in (6..flipped.len()).step_by(53) {
        flipped[i] ^= 0xFF;
        let _ = attachments(&flipped);
    }
    // Cut in the middle of the second attachment: the first is still there.
    let first_only = attachments(&whole[..whole.len() - 400]).unwrap();
    assert_eq!(first_only[0].name, "AUTHORS");
}

#[test]
fn what_the_testkit_writes_reads_back() {
    let tnef = crate::testkit::mail::winmail_dat(&[("sistem.cer", b"DER BYTES".as_slice())]);
    let found = attachments(&tnef).unwrap();
    assert_eq!(
        found,
        [Attachment {
            name: "sistem.cer".into(),
            data: b"DER BYTES".to_vec()
        }]
    );
}
