//! Every scenario under policies/ passes, and its full transcript (each
//! step's input and the engine's whole decision) is snapshotted, so any
//! change in behaviour shows up in review.

#[test]
fn scenarios_pass_and_their_transcripts_hold() {
    insta::glob!("../policies", "*/*.scenario.yaml", |path| {
        let report = switchboard::scenario::run_file(path, false);
        if let Some(error) = &report.error {
            panic!("{}: {error}", path.display());
        }
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| {
                let diffs: Vec<String> = f
                    .diffs
                    .iter()
                    .map(|(p, e, a)| format!("  {p}: expected {e}, actual {a}"))
                    .collect();
                format!("step {} ({}):\n{}", f.step, f.label, diffs.join("\n"))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{}:\n{}",
            path.display(),
            failures.join("\n")
        );
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        insta::with_settings!({ description => report.description.as_str(), omit_expression => true, snapshot_suffix => name }, {
            insta::assert_json_snapshot!("transcript", report.steps);
        });
    });
}
