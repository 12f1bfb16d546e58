//! `switchboard backup`: a consistent copy of a service's database.

use super::exit;
use std::path::Path;

pub fn run(data: &Path, out: &Path) -> i32 {
    let db = data.join("switchboard.db");
    match switchboard::store::backup(&db, out) {
        Ok(()) => {
            let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
            println!(
                "backed up {} to {} ({size} bytes)",
                db.display(),
                out.display()
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: backup of {} failed: {e}", db.display());
            exit::FAILED
        }
    }
}
