//! The admin's loop around a policy: `show`, `diff` and `test --coverage`
//! on the example tenants, snapshotted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every example tenant's folder name, sorted.
fn tenants() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("policies"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn show_draws_every_example_tenant() {
    for tenant in tenants() {
        let folder = Path::new("policies").join(&tenant);
        let folder = folder.to_str().unwrap();
        for format in ["text", "mermaid"] {
            let out = switchboard(&["show", folder, "--week", "2026-11-23", "--format", format]);
            assert!(out.status.success(), "show {tenant}: {out:?}");
            insta::assert_snapshot!(format!("show_{format}@{tenant}"), stdout(&out));
        }
        let out = switchboard(&["show", folder, "--week", "2026-11-23", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("show json");
        assert_eq!(
            json["week"],
            serde_json::json!(["2026-11-23", "2026-11-29"])
        );
        assert!(json["inboxes"].as_array().is_some_and(|i| !i.is_empty()));
    }
}

#[test]
fn show_refuses_what_is_not_a_policy_or_a_date() {
    let out = switchboard(&["show", "policies"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("name the policy file"));
    let out = switchboard(&["show", "policies/team-sms", "--week", "next tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2026-12-07"),
        "{out:?}"
    );
}
