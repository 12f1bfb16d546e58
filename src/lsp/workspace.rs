//! The files the editor has open, and a policy compiled from what the
//! editor shows: its unsaved text, and the hook script and tables it names
//! from their unsaved buffers where they are open, else from disk.

use crate::compile::compile_parsed;
use crate::diag::Diagnostics;
use crate::policy::Policy;
use crate::sources::{Folder, NoFolder, Sources, Unreadable};
use crate::syntax::{self, ast};
use lsp_types::Url;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Open documents by URI, with their latest text.
#[derive(Default)]
pub(crate) struct Workspace {
    open: HashMap<Url, String>,
    /// Policies compiled since the last edit to any open document (an
    /// edit to a hook script changes what a policy compiles to).
    analysed: RefCell<HashMap<Url, Rc<Analysis>>>,
}

/// One policy as the editor shows it, read and (when it checks) compiled.
pub(crate) struct Analysis {
    pub text: String,
    pub ast: ast::Policy,
    /// Every error and warning, as `switchboard check` reports them.
    pub diagnostics: Diagnostics,
    /// The compiled policy, when it has no errors.
    pub policy: Option<Policy>,
    /// Where the files it names are looked up; `None` for a document that
    /// is not a file (an unsaved, untitled buffer).
    pub folder: Option<PathBuf>,
}

impl Workspace {
    pub(crate) fn open(&mut self, uri: Url, text: String) {
        self.open.insert(uri, text);
        self.forget();
    }

    pub(crate) fn close(&mut self, uri: &Url) {
        self.open.remove(uri);
        self.forget();
    }

    /// Forgets every compiled policy: something they may read changed
    /// (a buffer, or a file on disk).
    pub(crate) fn forget(&self) {
        self.analysed.borrow_mut().clear();
    }

    /// Whether the document is open.
    pub(crate) fn is_open(&self, uri: &Url) -> bool {
        self.open.contains_key(uri)
    }

    /// A document's text: the editor's, else the file's on disk.
    pub(crate) fn text(&self, uri: &Url) -> Option<String> {
        if let Some(text) = self.open.get(uri) {
            return Some(text.clone());
        }
        std::fs::read_to_string(uri.to_file_path().ok()?).ok()
    }

    /// The open policy documents.
    pub(crate) fn policies(&self) -> Vec<Url> {
        let mut uris: Vec<Url> = self.open.keys().filter(|u| is_policy(u)).cloned().collect();
        uris.sort();
        uris
    }

    /// A policy document, read and compiled (once per edit).
    pub(crate) fn analyse(&self, uri: &Url) -> Option<Rc<Analysis>> {
        if let Some(done) = self.analysed.borrow().get(uri) {
            return Some(done.clone());
        }
        let analysis = Rc::new(self.compile(uri)?);
        self.analysed
            .borrow_mut()
            .insert(uri.clone(), analysis.clone());
        Some(analysis)
    }

    fn compile(&self, uri: &Url) -> Option<Analysis> {
        let text = self.text(uri)?;
        let folder = uri.to_file_path().ok().map(|p| {
            p.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        });
        let (ast, parsed) = syntax::parse(&text);
        let compiled = match &folder {
            Some(folder) => compile_parsed(
                &ast,
                parsed,
                &Overlay {
                    workspace: self,
                    folder,
                },
            ),
            None => compile_parsed(&ast, parsed, &NoFolder),
        };
        let (policy, diagnostics) = match compiled {
            Ok(mut policy) => {
                let warnings = std::mem::take(&mut policy.warnings);
                (Some(policy), warnings)
            }
            // What parsed still answers hovers and navigation.
            Err(diagnostics) => (None, diagnostics),
        };
        Some(Analysis {
            text,
            ast,
            diagnostics,
            policy,
            folder,
        })
    }

    /// The URI of a file a policy in `folder` names.
    pub(crate) fn beside(folder: &Path, name: &str) -> Option<Url> {
        crate::sources::is_beside(name)
            .then(|| Url::from_file_path(folder.join(name)).ok())
            .flatten()
    }
}

/// Whether a URI names a policy file (anything else open is a hook script
/// or a table some policy names).
pub(crate) fn is_policy(uri: &Url) -> bool {
    uri.path().ends_with(".policy") || uri.scheme() == "untitled"
}

/// The files beside a policy: the editor's buffer where one is open, the
/// disk otherwise.
struct Overlay<'w> {
    workspace: &'w Workspace,
    folder: &'w Path,
}

impl Sources for Overlay<'_> {
    fn read(&self, name: &str) -> Result<String, Unreadable> {
        if let Some(text) =
            Workspace::beside(self.folder, name).and_then(|uri| self.workspace.open.get(&uri))
        {
            return Ok(text.clone());
        }
        Folder::new(self.folder).read(name)
    }
}
