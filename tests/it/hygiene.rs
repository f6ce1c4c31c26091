//! Rules the end-to-end tests keep so that they can run side by side on one shared
//! mail stack: no two tests read or write the same mailbox (a test's daemon would
//! move another test's mail, or its replies would count as the other's).

use std::collections::BTreeMap;
use std::path::Path;

/// Every address written in quotes in a test file, by the function it appears in.
fn addresses_by_function(source: &str) -> BTreeMap<String, Vec<String>> {
    let mut by_address: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut function = String::from("(top)");
    for line in source.lines() {
        let code = line.trim_start();
        for prefix in [
            "async fn ",
            "fn ",
            "pub fn ",
            "pub async fn ",
            "pub(crate) fn ",
        ] {
            if let Some(rest) = code.strip_prefix(prefix) {
                function = rest
                    .split(['(', '<'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        for quoted in line.split('"').skip(1).step_by(2) {
            let looks_like_address = quoted.contains('@')
                && quoted.ends_with(".test")
                && quoted
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@.-+_".contains(c));
            if looks_like_address {
                let users = by_address.entry(quoted.to_string()).or_default();
                if !users.contains(&function) {
                    users.push(function.clone());
                }
            }
        }
    }
    by_address
}

#[test]
fn no_two_tests_share_a_mailbox() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut shared = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/it") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        for (address, functions) in addresses_by_function(&source) {
            shared.push((
                address,
                functions
                    .into_iter()
                    .map(|f| format!("{file}::{f}"))
                    .collect::<Vec<_>>(),
            ));
        }
    }
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (address, functions) in shared {
        users.entry(address).or_default().extend(functions);
    }
    let twice: Vec<String> = users
        .iter()
        .filter(|(_, functions)| functions.len() > 1)
        .map(|(address, functions)| format!("{address}: {}", functions.join(", ")))
        .collect();
    assert!(
        twice.is_empty(),
        "addresses used by more than one test (give each test its own):\n{}",
        twice.join("\n")
    );
}

#[test]
fn the_check_sees_an_address_two_functions_write() {
    let source =
        "fn a() {\n  let x = \"ana@x.test\";\n}\nasync fn b() {\n  go(\"ana@x.test\");\n}\n";
    let found = addresses_by_function(source);
    assert_eq!(found["ana@x.test"], ["a", "b"]);
}
