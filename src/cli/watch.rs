//! `--watch`: run a command, then again each time a policy, scenario, hook
//! script or table under its paths changes, until interrupted. File events
//! come from `notify` (inotify, FSEvents, ...), debounced so an editor's
//! save of several writes runs the command once.

use super::exit;
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The files whose change runs the command again.
fn watched(path: &Path) -> bool {
    let name = path.to_string_lossy();
    [".policy", super::test::SUFFIX, ".rhai", ".csv"]
        .iter()
        .any(|end| name.ends_with(end))
}

/// Runs `command` now and after each change under `paths`; returns only
/// when watching fails (the user stops it with Ctrl-C).
pub fn watch(paths: &[PathBuf], mut command: impl FnMut() -> i32) -> i32 {
    command();
    let (tx, rx) = std::sync::mpsc::channel::<DebounceEventResult>();
    let mut debouncer = match new_debouncer(Duration::from_millis(150), tx) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot watch files: {e}");
            return exit::FAILED;
        }
    };
    for path in paths {
        if let Err(e) = debouncer.watcher().watch(path, RecursiveMode::Recursive) {
            eprintln!("error: cannot watch {}: {e}", path.display());
            return exit::USAGE;
        }
    }
    eprintln!("watching for changes; Ctrl-C to stop");
    for events in rx {
        match events {
            Ok(events) if events.iter().any(|e| watched(&e.path)) => {
                println!();
                command();
            }
            Ok(_) => {}
            Err(e) => eprintln!("warning: watching: {e}"),
        }
    }
    exit::FAILED
}
