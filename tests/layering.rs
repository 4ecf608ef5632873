//! The layering the code relies on, checked on the source: a domain
//! module's storage never calls another domain module's storage (what spans
//! modules is composed in `src/ops`), and domain modules never call the
//! layers above them (`ops`, and the front doors `api` and `startup`). So
//! the modules' storage has no cycle.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

const DOMAINS: [&str; 6] = [
    "events",
    "actors",
    "places",
    "alerts",
    "cases",
    "attachments",
];
/// The files of a domain module that hold storage and its helpers
/// (`mod.rs` holds types and rules).
const STORAGE_PARTS: [&str; 6] = [
    "store", "matching", "import", "suggest", "delivery", "index",
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// `crate::<other>::<part>::<fn>(` or `<other>::<part>::<fn>(` calls.
fn foreign_calls(source: &str, own: &str) -> Vec<String> {
    let mut found = Vec::new();
    for other in DOMAINS.iter().filter(|d| **d != own) {
        for part in STORAGE_PARTS {
            let needle = format!("{other}::{part}::");
            let mut rest = source;
            while let Some(at) = rest.find(&needle) {
                let after = &rest[at + needle.len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let called = after[name.len()..].trim_start().starts_with('(');
                let imported = rest[..at]
                    .rsplit('\n')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with("use ");
                let is_function = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
                if is_function && (called || imported) {
                    found.push(format!("{needle}{name}"));
                }
                rest = &after[name.len()..];
            }
        }
    }
    found
}

#[test]
fn no_domain_storage_calls_another_domains_storage_or_the_operations() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for own in DOMAINS {
        for file in rust_files(&src.join(own)) {
            let source = std::fs::read_to_string(&file).unwrap();
            for call in foreign_calls(&source, own) {
                problems.push(format!("{}: calls {call}", file.display()));
            }
            for above in ["crate::ops", "crate::api", "crate::startup"] {
                if source.contains(above) {
                    problems.push(format!("{}: uses {above}", file.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_a_foreign_call() {
    let source = "fn f() { crate::places::store::holder_changed(conn, id)?; }";
    assert_eq!(
        foreign_calls(source, "actors"),
        vec!["places::store::holder_changed"]
    );
    assert!(foreign_calls(source, "places").is_empty());
    assert!(foreign_calls("pub x: Vec<crate::actors::store::EventActor>,", "events").is_empty());
}
