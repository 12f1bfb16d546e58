//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod postgres;
pub mod service;
pub mod sse;

use serde_json::Value;
use std::path::PathBuf;

/// A tree with every span removed and blank lines dropped: what a policy
/// means, not where its parts sit.
pub fn without_layout<T: serde::Serialize>(tree: &T) -> Value {
    fn strip(value: Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| k != "span")
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .filter(|v| v.as_str() != Some("Blank"))
                    .map(strip)
                    .collect(),
            ),
            other => other,
        }
    }
    strip(serde_json::to_value(tree).expect("trees serialize"))
}

/// Every example policy under policies/.
pub fn example_policies() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "policy") {
                found.push(path);
            }
        }
    }
    found.sort();
    assert!(!found.is_empty(), "policies/ holds example policies");
    found
}

/// Every example policy, compiled with its hook scripts and tables.
pub fn example_engines() -> Vec<switchboard::engine::Engine> {
    example_policies()
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).unwrap();
            let folder = switchboard::sources::Folder::of(&path);
            let policy = switchboard::compile_sources(&source, &folder).unwrap();
            switchboard::engine::Engine::new(policy).explaining(true)
        })
        .collect()
}
