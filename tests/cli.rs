//! The `switchboard` binary as a user runs it: exit codes, output formats,
//! and `fmt` rewriting files safely.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn switchboard(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch folder under the target dir.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_passes_on_the_example_policies() {
    let out = switchboard(&["check", "policies"], &root());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(" 0 errors, 0 warnings"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_fails_with_located_errors() {
    let out = switchboard(
        &[
            "check",
            "tests/fixtures/invalid/number_in_two_inboxes.policy",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("number_in_two_inboxes.policy:"), "{text}");
    assert!(text.contains("error[E0302]"), "{text}");
    assert!(text.contains("= hint:"), "{text}");
}

#[test]
fn check_json_lists_diagnostics() {
    let out = switchboard(
        &[
            "check",
            "--format",
            "json",
            "tests/fixtures/invalid/unknown_zone.policy",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"], 1);
    let first = &report["diagnostics"][0];
    assert_eq!(first["code"], "E0401");
    assert_eq!(first["severity"], "error");
    assert!(first["line"].as_u64().unwrap() > 0);
    assert!(first["hint"].is_string());
}

#[test]
fn warnings_alone_exit_zero() {
    let out = switchboard(
        &["check", "tests/fixtures/warnings/unused_team.policy"],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("warning[W0002]"));
}

#[test]
fn usage_errors_exit_two() {
    let missing = switchboard(&["check", "no/such/policy.policy"], &root());
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no such file or folder"));
    let bad_flag = switchboard(&["check", "--colour"], &root());
    assert_eq!(bad_flag.status.code(), Some(2));
    let empty = scratch("empty-folder");
    let out = switchboard(&["check", "."], &empty);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no .policy files"));
}

#[test]
fn non_utf8_policies_are_errors_not_crashes() {
    let dir = scratch("binary");
    std::fs::write(dir.join("junk.policy"), [0xff, 0xfe, 0x00, 0x80, b'\n']).unwrap();
    let out = switchboard(&["check", "junk.policy"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("error[E0008]"), "{}", stdout(&out));
    let fmt = switchboard(&["fmt", "junk.policy"], &dir);
    assert_eq!(fmt.status.code(), Some(1));
    assert_eq!(
        std::fs::read(dir.join("junk.policy")).unwrap(),
        [0xff, 0xfe, 0x00, 0x80, b'\n']
    );
}

#[test]
fn fmt_check_lists_then_fmt_rewrites() {
    let dir = scratch("fmt");
    let messy = "tenant acme{zone UTC;country GB}\nnumber +442071838750\nagent a\ninbox main shared { numbers +442071838750; agents a }\n";
    std::fs::write(dir.join("acme.policy"), messy).unwrap();

    let check = switchboard(&["fmt", "--check", "."], &dir);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stdout(&check).contains("would reformat"),
        "{}",
        stdout(&check)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("acme.policy")).unwrap(),
        messy,
        "--check writes nothing"
    );

    let fmt = switchboard(&["fmt", "."], &dir);
    assert_eq!(fmt.status.code(), Some(0), "{}", stderr(&fmt));
    let formatted = std::fs::read_to_string(dir.join("acme.policy")).unwrap();
    assert_eq!(
        formatted,
        "tenant acme {\n  zone UTC\n  country GB\n}\n\nnumber +442071838750\nagent a\n\ninbox main shared {\n  numbers +442071838750\n  agents a\n}\n"
    );
    let check = switchboard(&["check", "acme.policy"], &dir);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));

    let again = switchboard(&["fmt", "--check", "."], &dir);
    assert_eq!(again.status.code(), Some(0));
    assert!(!dir.join("acme.policy.fmt-tmp").exists());
}

#[test]
fn fmt_leaves_files_with_syntax_errors_alone() {
    let dir = scratch("fmt-broken");
    let broken = "tenant acme {\n  zone = UTC\n";
    std::fs::write(dir.join("broken.policy"), broken).unwrap();
    let out = switchboard(&["fmt", "broken.policy"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not formatted"));
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.policy")).unwrap(),
        broken
    );
}

#[test]
fn check_refuses_hostile_files_with_a_code() {
    let dir = scratch("hostile");
    std::fs::write(dir.join("deep.policy"), "a {".repeat(10_000)).unwrap();
    std::fs::write(dir.join("huge.policy"), "#".repeat(5 << 20)).unwrap();
    let out = switchboard(&["check", "."], &dir);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("error[E0006]"), "{text}");
    assert!(text.contains("error[E0005]"), "{text}");
}

#[test]
fn simulate_prints_one_decision_per_event() {
    let out = switchboard(
        &[
            "simulate",
            "policies/team-sms/team-sms.policy",
            "policies/team-sms/example.events.jsonl",
            "--explain",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["outcome"], "routed");
    assert_eq!(lines[2]["denial"]["code"], "locked");
    assert!(lines[2]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("locked by ana")));
    // Reasons give the tenant's time, with its zone named.
    assert_eq!(
        lines[4]["reasons"][2],
        "hours sales_hours are closed until 2026-03-03 08:00 America/Los_Angeles"
    );
}

#[test]
fn simulate_reports_bad_lines_and_goes_on() {
    let dir = scratch("simulate-bad");
    let events = "{\"type\":\"tick\",\"at\":\"2026-03-02T17:00:00Z\"}\nnot json\n{\"type\":\"tick\",\"at\":\"2026-03-02T18:00:00Z\"}\n";
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    let policy = root().join("policies/team-sms/team-sms.policy");
    let out = switchboard(
        &["simulate", policy.to_str().unwrap(), "events.jsonl"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
    let printed = stdout(&out);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "one output line per input line");
    assert!(lines[1].contains("\"error\""));
    assert!(stderr(&out).contains("events.jsonl:2"));
}

#[test]
fn test_reports_failures_as_diffs_and_update_fixes_them() {
    let dir = scratch("scenario");
    std::fs::copy(
        root().join("policies/team-sms/team-sms.policy"),
        dir.join("team-sms.policy"),
    )
    .unwrap();
    let scenario = "description: a wrong expectation\nsteps:\n  - type: inbound\n    at: 2026-03-02T17:00:00Z\n    from: \"+14155551234\"\n    to: \"+14155550100\"\n    body: Hi\n    expect:\n      outcome: denied\n      visible_to: [ana]\n";
    std::fs::write(dir.join("wrong.scenario.yaml"), scenario).unwrap();

    let out = switchboard(&["test", "."], &dir);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("expected: \"denied\""), "{text}");
    assert!(text.contains("actual:   \"routed\""), "{text}");
    assert!(
        text.lines().last().unwrap() == "0 passed, 1 failed",
        "{text}"
    );

    let update = switchboard(&["test", "--update", "."], &dir);
    assert_eq!(update.status.code(), Some(0), "{}", stdout(&update));
    let rewritten = std::fs::read_to_string(dir.join("wrong.scenario.yaml")).unwrap();
    assert!(rewritten.contains("outcome: routed"), "{rewritten}");
    let again = switchboard(&["test", "."], &dir);
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).ends_with("1 passed, 0 failed\n"));
}

#[test]
fn test_tells_errors_from_failures() {
    let dir = scratch("scenario-error");
    std::fs::copy(
        root().join("policies/team-sms/team-sms.policy"),
        dir.join("team-sms.policy"),
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.scenario.yaml"),
        "description: x\nsteps:\n  - type: teleport\n",
    )
    .unwrap();
    let out = switchboard(&["test", "."], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("ERROR"), "{}", stdout(&out));
    assert!(stdout(&out).contains("step 1"), "{}", stdout(&out));
}

/// Times the engine cannot print as RFC 3339, or that chrono cannot carry
/// into a time zone: each line is an error naming the range, never a panic.
#[test]
fn simulate_refuses_times_outside_the_accepted_range() {
    let dir = scratch("simulate-bad-time");
    let events = [
        r#"{"type":"inbound","at":"2026-03-02T17:00:00Z","from":"+14155551234","to":"+14155550100","body":"Hi"}"#,
        r#"{"type":"inbound","at":"-262143-01-01T00:00:00Z","from":"+14155551234","to":"+14155550100","body":"Hi"}"#,
        r#"{"type":"reply","at":"+262142-12-31T23:59:59Z","agent":"ana","conversation":"c1","body":"Hello"}"#,
        r#"{"type":"reply","at":"9999-12-31T00:00:00Z","agent":"ana","conversation":"c1","body":"Hello"}"#,
        r#"{"type":"reply","at":"2026-03-02T17:05:00Z","agent":"ana","conversation":"c1","body":"Hello"}"#,
    ]
    .join("\n");
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    let policy = root().join("policies/team-sms/team-sms.policy");
    let out = switchboard(
        &["simulate", policy.to_str().unwrap(), "events.jsonl"],
        &dir,
    );
    let errors = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{errors}");
    assert!(!errors.contains("panicked"), "{errors}");
    for line in 2..=4 {
        assert!(
            errors.contains(&format!("events.jsonl:{line}: `at` ")),
            "{errors}"
        );
    }
    assert!(
        errors.contains(
            "is outside the accepted range: from 1970-01-01T00:00:00Z up to (not including) 9000-01-01T00:00:00Z"
        ),
        "{errors}"
    );
    let printed = stdout(&out);
    let lines: Vec<serde_json::Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "one output line per input line: {printed}");
    assert!(
        lines[1..4].iter().all(|l| l["error"].is_string()),
        "{printed}"
    );
    // The refused lines left the state alone: the last reply locks as usual.
    assert_eq!(lines[4]["outcome"], "allowed", "{printed}");
    assert_eq!(
        lines[4]["changes"][0]["until"], "2026-03-02T17:35:00Z",
        "{printed}"
    );
}

#[test]
fn test_reports_a_step_outside_the_accepted_range_as_an_error() {
    let dir = scratch("scenario-bad-time");
    std::fs::copy(
        root().join("policies/team-sms/team-sms.policy"),
        dir.join("team-sms.policy"),
    )
    .unwrap();
    std::fs::write(
        dir.join("late.scenario.yaml"),
        "description: x\nsteps:\n  - type: tick\n    at: \"2026-03-02T17:00:00Z\"\n  - type: tick\n    at: \"+262142-12-31T23:59:59Z\"\n",
    )
    .unwrap();
    let out = switchboard(&["test", "."], &dir);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(text.contains("ERROR"), "{text}");
    assert!(
        text.contains("step 2: `at` +262142-12-31T23:59:59Z is outside the accepted range"),
        "{text}"
    );
}

/// A scenario's mistakes are named where they are: a misspelt `expect` key,
/// a time without its `T` and offset, a YAML error with its line.
#[test]
fn test_names_a_scenarios_mistakes() {
    let dir = scratch("scenario-mistakes");
    let policy = root().join("policies/team-sms/team-sms.policy");
    std::fs::copy(&policy, dir.join("team-sms.policy")).unwrap();
    let step = "  - type: inbound\n    at: AT\n    from: \"+14155551234\"\n    to: \"+14155550100\"\n    body: Hi\n";
    let cases = [
        (
            "typo",
            format!(
                "description: d\nsteps:\n{}    expect:\n      outcom: routed\n",
                step.replace("AT", "2026-03-02T17:00:00Z")
            ),
            "./typo.scenario.yaml:9:7: error: step 1: expect: `outcom` is not a key of a decision\n  |\n9 |       outcom: routed\n  |       ^^^^^^\n  = hint: did you mean `outcome`?",
        ),
        (
            "time",
            format!(
                "description: d\nsteps:\n{}",
                step.replace("AT", "2026-12-21 10:00")
            ),
            "./time.scenario.yaml:4:5: error: step 1: `at: 2026-12-21 10:00` is not an RFC 3339 time",
        ),
        (
            "yaml",
            "description: d\nsteps:\n  - note: a: b\n".to_string(),
            "./yaml.scenario.yaml:3:",
        ),
    ];
    for (name, text, expected) in cases {
        std::fs::write(dir.join(format!("{name}.scenario.yaml")), text).unwrap();
        let out = switchboard(&["test", "."], &dir);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains(expected), "{name}: {text}");
        assert!(text.contains("= hint: "), "{name}: {text}");
        std::fs::remove_file(dir.join(format!("{name}.scenario.yaml"))).unwrap();
    }
}

/// `simulate` takes a tenant's folder for the one policy in it, and says
/// plainly when a folder holds none.
#[test]
fn simulate_takes_a_tenants_folder() {
    let out = switchboard(
        &[
            "simulate",
            "policies/team-sms",
            "policies/team-sms/example.events.jsonl",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 5);
    let none = switchboard(
        &[
            "simulate",
            "policies",
            "policies/team-sms/example.events.jsonl",
        ],
        &root(),
    );
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("no .policy file in policies; name the policy file"),
        "{}",
        stderr(&none)
    );
}

/// The binary with `input` on its standard input.
fn switchboard_with_input(args: &[&str], dir: &Path, input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `-` is standard input for `check` and `fmt`; `fmt --diff` shows what it
/// would change and changes nothing.
#[test]
fn check_and_fmt_read_standard_input_and_fmt_shows_a_diff() {
    let messy = "tenant acme{zone UTC;country GB}\nnumber +442071838750\nagent a\ninbox main shared { numbers +442071838750; agents a }\n";
    let checked = switchboard_with_input(&["check", "-"], &root(), messy);
    assert_eq!(checked.status.code(), Some(0), "{}", stdout(&checked));
    assert!(
        stdout(&checked).contains("checked 1 policy: 0 errors"),
        "{}",
        stdout(&checked)
    );
    let broken = switchboard_with_input(&["check", "-"], &root(), "tenant acme {\n");
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).contains("<stdin>:1:13: error[E0003]"),
        "{}",
        stdout(&broken)
    );

    let formatted = switchboard_with_input(&["fmt", "-"], &root(), messy);
    assert_eq!(formatted.status.code(), Some(0), "{}", stderr(&formatted));
    assert!(
        stdout(&formatted).starts_with("tenant acme {\n  zone UTC\n"),
        "{}",
        stdout(&formatted)
    );

    let dir = scratch("fmt-diff");
    std::fs::write(dir.join("acme.policy"), messy).unwrap();
    let diff = switchboard(&["fmt", "--diff", "acme.policy"], &dir);
    assert_eq!(diff.status.code(), Some(1), "something would change");
    let text = stdout(&diff);
    assert!(
        text.starts_with("--- acme.policy\n+++ acme.policy (formatted)\n"),
        "{text}"
    );
    assert!(
        text.contains("\n-tenant acme{zone UTC;country GB}\n+tenant acme {\n"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("acme.policy")).unwrap(),
        messy,
        "unchanged"
    );
}

/// `test --filter` runs the scenarios whose name or description says so.
#[test]
fn test_filters_scenarios_by_name_or_description() {
    let out = switchboard(&["test", "policies", "--filter", "opt-out"], &root());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("P1-opt-out.scenario.yaml"), "{text}");
    assert!(!text.contains("T3-locked-reply-denied"), "{text}");
    assert!(text.trim_end().ends_with("filtered out"), "{text}");
}

/// Completion scripts come from clap's own generator.
#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = switchboard(&["completions", shell], &root());
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(stdout(&out).contains("simulate"), "{shell}");
    }
    let bad = switchboard(&["completions", "cmd"], &root());
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn colour_on_request_and_never_into_a_pipe_or_under_no_color() {
    let bad = "tests/fixtures/invalid/unclosed_block.policy";
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command.args(args).current_dir(root());
        command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        command.envs(env.iter().copied());
        stdout(&command.output().unwrap())
    };
    let coloured = run(&["check", bad, "--color", "always"], &[]);
    assert!(
        coloured.contains("\u{1b}[31m"),
        "errors in red: {coloured:?}"
    );
    assert!(coloured.contains("error[E0003]"));
    // Standard output here is a pipe, not a terminal.
    for (args, env) in [
        (vec!["check", bad], vec![]),
        (vec!["check", bad, "--color", "never"], vec![]),
        (
            vec!["check", bad, "--color", "auto"],
            vec![("NO_COLOR", "1")],
        ),
    ] {
        let plain = run(&args, &env);
        assert!(!plain.contains('\u{1b}'), "{args:?} {env:?}: {plain:?}");
        assert!(plain.contains("error[E0003]"));
    }
    let tests = run(&["test", "policies/team-sms", "--color", "always"], &[]);
    assert!(tests.contains("\u{1b}[1m\u{1b}[32mok"), "{tests:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["check", "--color", "sometimes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A command run with `--watch` in `dir`: each `(file, text, awaited)`
/// is written once the line before it was seen, and `awaited` must follow.
fn watched(args: &[&str], dir: &Path, first: &str, edits: &[(&Path, String, &str)]) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let wait_for = |text: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => panic!("no line with {text:?} within 20 s"),
            }
        }
    };
    wait_for(first);
    for (file, text, awaited) in edits {
        // Give the watcher a moment to be set up, then change the file.
        std::thread::sleep(std::time::Duration::from_millis(500));
        std::fs::write(file, text).unwrap();
        wait_for(awaited);
    }
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn check_watch_checks_again_when_a_policy_changes() {
    let dir = scratch("watch");
    let policy = dir.join("shop.policy");
    let good = std::fs::read_to_string(root().join("policies/team-sms/team-sms.policy")).unwrap();
    std::fs::write(&policy, &good).unwrap();
    watched(
        &["check", "--watch", "."],
        &dir,
        "checked 1 policy: 0 errors",
        &[
            (
                &policy,
                format!("{good}\ngarbage {{}}\n"),
                "checked 1 policy: 1 error",
            ),
            (&policy, good.clone(), "checked 1 policy: 0 errors"),
        ],
    );

    // test --watch runs the scenarios again when one changes.
    let scenario = dir.join("t.scenario.yaml");
    let passing = "description: d\nsteps:\n  - type: inbound\n    at: 2026-03-02T17:00:00Z\n    from: \"+14155551234\"\n    to: \"+14155550100\"\n    expect:\n      outcome: routed\n";
    std::fs::write(&scenario, passing).unwrap();
    watched(
        &["test", "--watch", "."],
        &dir,
        "1 passed, 0 failed",
        &[(
            &scenario,
            passing.replace("routed", "denied"),
            "0 passed, 1 failed",
        )],
    );

    let out = switchboard(&["check", "-", "--watch"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let out = switchboard(&["test", "--watch", "--update"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
