//! CPython's e-mail test corpus (real, often malformed messages; see
//! tests/fixtures/cpython-email/ORIGIN.md): every message gets a decision, none panics,
//! and the ones whose nature is known get the right one.

use std::path::PathBuf;

use mnotify_intake::decision::Decision;

use crate::util::World;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cpython-email");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("corpus directory exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read(&p).expect("readable"),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_message_gets_a_decision() {
    let w = World::new();
    let files = corpus();
    assert!(files.len() >= 45, "corpus incomplete: {}", files.len());
    let automatic = [
        "msg_05.txt",
        "msg_16.txt",
        "msg_25.txt",
        "msg_32.txt",
        "msg_33.txt",
        "msg_43.txt",
    ];
    for (name, raw) in &files {
        let a = w.analyse(raw);
        if automatic.contains(&name.as_str()) {
            assert_eq!(a.decision, Decision::IgnoredAutomatic, "{name}");
        } else {
            // None of them is about MNotify or carries a certificate.
            assert_eq!(
                a.decision,
                Decision::NotApplicable,
                "{name}: {:?} {:?}",
                a.problems,
                a.numbers
            );
        }
    }
}

#[test]
fn truncated_and_mangled_corpus_messages_still_get_a_decision() {
    let w = World::new();
    for (name, raw) in corpus() {
        for cut in [
            0,
            1,
            raw.len() / 3,
            raw.len() / 2,
            raw.len().saturating_sub(7),
        ] {
            let a = w.analyse(&raw[..cut]);
            assert!(Decision::ALL.contains(&a.decision), "{name} cut at {cut}");
        }
        let mut flipped = raw.clone();
        for i in (0..flipped.len()).step_by(97) {
            flipped[i] ^= 0x5A;
        }
        let _ = w.analyse(&flipped);
    }
}

/// Seeded structural mutations of the corpus: bytes cut, copied from elsewhere in the
/// message, and MIME fragments spliced in (boundaries, encoded words, PEM armour, NULs).
/// Every result gets a decision; nothing panics.
#[test]
fn spliced_corpus_messages_still_get_a_decision() {
    const FRAGMENTS: &[&[u8]] = &[
        b"\r\n--",
        b"\r\n\r\n",
        b"=?utf-8?B?",
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"-----BEGIN CERTIFICATE-----\r\n",
        b"\x00",
        b"\xff\xfe",
        b"Content-Type: message/rfc822\r\n\r\n",
    ];
    let w = World::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    let files = corpus();
    for round in 0..600 {
        let (name, raw) = &files[next(files.len())];
        let mut m = raw.clone();
        for _ in 0..1 + next(20) {
            if m.is_empty() {
                break;
            }
            let at = next(m.len());
            match next(3) {
                0 => {
                    let end = (at + 1 + next(50)).min(m.len());
                    m.drain(at..end);
                }
                1 => {
                    let from = next(m.len());
                    let piece: Vec<u8> = m[from..(from + next(200)).min(m.len())].to_vec();
                    m.splice(at..at, piece);
                }
                _ => {
                    m.splice(at..at, FRAGMENTS[next(FRAGMENTS.len())].iter().copied());
                }
            }
        }
        let a = w.analyse(&m);
        assert!(
            Decision::ALL.contains(&a.decision),
            "round {round} from {name}"
        );
    }
}
