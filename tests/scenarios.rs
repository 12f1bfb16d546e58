//! Every scenario under policies/ passes, and its full transcript (each
//! step's input and the engine's whole decision) is snapshotted, so any
//! change in behaviour shows up in review.

use std::path::Path;

#[test]
fn scenarios_pass_and_their_transcripts_hold() {
    insta::glob!("../policies", "*/*.scenario.yaml", |path| {
        let outcome = switchboard::scenario::run_file(path, false);
        if let Some(error) = &outcome.error {
            panic!("{}: {error}", path.display());
        }
        for failure in &outcome.failures {
            let diffs: Vec<String> = failure
                .diffs
                .iter()
                .map(|(p, e, a)| format!("  {p}: expected {e}, actual {a}"))
                .collect();
            panic!("{} step {} ({}):\n{}", path.display(), failure.step, failure.label, diffs.join("\n"));
        }
        let name = Path::new(path).file_name().unwrap().to_string_lossy().to_string();
        insta::with_settings!({ description => outcome.description.as_str(), omit_expression => true, snapshot_suffix => name }, {
            insta::assert_json_snapshot!("transcript", outcome.steps);
        });
    });
}
