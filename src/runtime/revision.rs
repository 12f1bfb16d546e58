//! A policy revision: the policy file and every file it names (its hook
//! script and tables), read together and named by their hash.
//!
//! The service compiles a revision from its files held in memory, so what
//! runs is exactly what was hashed even if the folder changes meanwhile, and
//! the same files, kept in the store, compile again after a restart to step
//! the events that revision decided.

use crate::engine::Engine;
use crate::sources::{Folder, Sources};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// A revision's files, by path relative to the policy's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Files {
    /// The policy file's name.
    pub policy: String,
    pub texts: BTreeMap<String, String>,
}

/// A compiled revision, serving.
#[derive(Clone, Debug)]
pub struct Revision {
    pub engine: Engine,
    /// The first 12 hex digits of the files' SHA-256.
    pub id: String,
    pub loaded_at: DateTime<Utc>,
}

/// A decision and the revision that made it, serialized together.
#[derive(serde::Serialize)]
pub(crate) struct Stamped<'a> {
    #[serde(flatten)]
    pub decision: &'a crate::engine::Decision,
    pub revision: &'a str,
}

/// A revision that failed to load: the diagnostics, rendered.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Refusal {
    pub revision: String,
    pub at: DateTime<Utc>,
    pub diagnostics: String,
}

impl Files {
    /// Reads a policy file and the files it names. A named file that cannot
    /// be read is left out; compiling then reports it.
    pub fn read(path: &Path) -> Result<Files, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let policy = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{}: not a file", path.display()))?;
        let folder = Folder::of(path);
        let mut texts = BTreeMap::new();
        for name in crate::named_files(&text) {
            if let Ok(t) = folder.read(&name) {
                texts.insert(name, t);
            }
        }
        texts.insert(policy.clone(), text);
        Ok(Files { policy, texts })
    }

    /// The revision id: a hash of every file's name and text.
    pub fn revision(&self) -> String {
        let mut hash = Sha256::new();
        for (name, text) in &self.texts {
            for part in [name.as_bytes(), text.as_bytes()] {
                hash.update((part.len() as u64).to_le_bytes());
                hash.update(part);
            }
        }
        hash.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn to_json(&self) -> Value {
        let texts: Map<String, Value> = self
            .texts
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        serde_json::json!({"policy": self.policy, "files": texts})
    }

    pub fn from_json(value: &Value) -> Option<Files> {
        let policy = value.get("policy")?.as_str()?.to_string();
        let texts = value
            .get("files")?
            .as_object()?
            .iter()
            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect::<Option<BTreeMap<_, _>>>()?;
        texts
            .contains_key(&policy)
            .then_some(Files { policy, texts })
    }

    /// Compiles the files from memory. On failure, the rendered
    /// diagnostics.
    pub fn compile(&self) -> Result<Revision, String> {
        let source = &self.texts[&self.policy];
        let policy = crate::compile_sources(source, &self.texts)
            .map_err(|d| d.render(&self.policy, source))?;
        Ok(Revision {
            // The service records every decision with its explanation: the
            // event log says why, and recovery compares replays with it.
            engine: Engine::new(policy).explaining(true),
            id: self.revision(),
            loaded_at: Utc::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_names_every_file() {
        let mut files = Files {
            policy: "a.policy".into(),
            texts: BTreeMap::from([("a.policy".into(), "x".into())]),
        };
        let first = files.revision();
        assert_eq!(first.len(), 12);
        files.texts.insert("hooks.rhai".into(), String::new());
        assert_ne!(files.revision(), first, "an added file is a new revision");
        assert_eq!(Files::from_json(&files.to_json()), Some(files));
    }
}
