//! `switchboard lsp`: the language server an editor starts over standard
//! input and output.
//!
//! It compiles what the editor shows (unsaved policy text, and the hook
//! script and tables it names from their unsaved buffers where they are
//! open) through the same `compile_sources` as `switchboard check`, and
//! answers from the result: diagnostics as you type, hover, go to
//! definition, references, rename, completion, formatting (the same as
//! `switchboard fmt`) and an outline of the tenant.
//!
//! The protocol is spoken by `lsp-server` (the scaffold rust-analyzer
//! runs on): a synchronous loop over a channel of messages, no async
//! runtime. A policy compiles in milliseconds, so one thread answering in
//! order is simpler than a scheduler and never answers from stale text.
//! Positions are UTF-16 columns (`position.rs`), the protocol's default.

mod complete;
mod hover;
mod navigate;
mod outline;
mod position;
mod workspace;

use crate::diag::{self, Severity};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CompletionOptions, DiagnosticRelatedInformation, DiagnosticSeverity, HoverContents,
    HoverProviderCapability, Location, MarkupContent, MarkupKind, NumberOrString, OneOf,
    PublishDiagnosticsParams, RenameOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Url,
};
use position::Lines;
use workspace::{is_policy, Analysis, Workspace};

/// Serves one editor over standard input and output until it says `exit`.
pub fn serve_stdio() -> Result<(), String> {
    let (connection, threads) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    threads
        .join()
        .map_err(|e| format!("the editor's connection failed: {e}"))
}

/// Serves one connection: the handshake, then every request in order.
pub fn serve(connection: &Connection) -> Result<(), String> {
    let result = serde_json::to_value(initialize_result())
        .map_err(|e| format!("cannot describe the server: {e}"))?;
    let (id, _) = connection
        .initialize_start()
        .map_err(|e| format!("the editor did not initialize: {e}"))?;
    connection.initialize_finish(id, result).map_err(|e| {
        // The error quotes the whole message it got instead (a document,
        // perhaps): say what was expected, and how it began.
        let got: String = e.to_string().chars().take(160).collect();
        format!("the editor did not send `initialized` after `initialize`: {got}...")
    })?;
    let mut server = Server {
        connection,
        workspace: Workspace::default(),
    };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection
                    .handle_shutdown(&request)
                    .map_err(|e| e.to_string())?
                {
                    return Ok(());
                }
                server.request(request);
            }
            Message::Notification(notification) => server.notification(notification),
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn initialize_result() -> lsp_types::InitializeResult {
    lsp_types::InitializeResult {
        capabilities: ServerCapabilities {
            text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            rename_provider: Some(OneOf::Right(RenameOptions {
                prepare_provider: Some(true),
                work_done_progress_options: Default::default(),
            })),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![" ".into(), "{".into()]),
                ..CompletionOptions::default()
            }),
            document_formatting_provider: Some(OneOf::Left(true)),
            document_symbol_provider: Some(OneOf::Left(true)),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo {
            name: "switchboard".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    }
}

struct Server<'c> {
    connection: &'c Connection,
    workspace: Workspace,
}

/// A request's answer, or why there is none.
type Answer = Result<serde_json::Value, (ErrorCode, String)>;

impl Server<'_> {
    fn request(&mut self, request: Request) {
        let id = request.id.clone();
        let method = request.method.clone();
        // A fault in one answer must not end the editor's session.
        let answer =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(request)))
                .unwrap_or_else(|_| {
                    Err((
                        ErrorCode::InternalError,
                        format!("switchboard failed answering {method}"),
                    ))
                });
        self.respond(id, answer);
    }

    fn respond(&self, id: RequestId, answer: Answer) {
        let response = match answer {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        let _ = self.connection.sender.send(Message::Response(response));
    }

    fn answer(&mut self, request: Request) -> Answer {
        let method = request.method.as_str();
        match method {
            req::HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(request)?;
                let at = &p.text_document_position_params;
                let (a, offset) = self.at(&at.text_document.uri, at.position)?;
                let found = hover::hover(&self.workspace, &a, offset, chrono::Utc::now());
                json(found.map(|(value, range)| lsp_types::Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value,
                    }),
                    range: Some(range),
                }))
            }
            req::GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(request)?;
                let at = &p.text_document_position_params;
                let (a, offset) = self.at(&at.text_document.uri, at.position)?;
                let uri = &at.text_document.uri;
                json(navigate::definition(&self.workspace, uri, &a, offset))
            }
            req::References::METHOD => {
                let p: lsp_types::ReferenceParams = params(request)?;
                let at = &p.text_document_position;
                let (a, offset) = self.at(&at.text_document.uri, at.position)?;
                let uri = &at.text_document.uri;
                let with_declaration = p.context.include_declaration;
                json(navigate::references(uri, &a, offset, with_declaration))
            }
            req::PrepareRenameRequest::METHOD => {
                let p: lsp_types::TextDocumentPositionParams = params(request)?;
                let (a, offset) = self.at(&p.text_document.uri, p.position)?;
                let range = navigate::prepare_rename(&a, offset).map_err(refused)?;
                json(lsp_types::PrepareRenameResponse::Range(range))
            }
            req::Rename::METHOD => {
                let p: lsp_types::RenameParams = params(request)?;
                let at = &p.text_document_position;
                let (a, offset) = self.at(&at.text_document.uri, at.position)?;
                let uri = &at.text_document.uri;
                json(navigate::rename(uri, &a, offset, &p.new_name).map_err(refused)?)
            }
            req::Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(request)?;
                let at = &p.text_document_position;
                let (a, offset) = self.at(&at.text_document.uri, at.position)?;
                json(complete::complete(&self.workspace, &a, offset))
            }
            req::Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = params(request)?;
                let text = self.text(&p.text_document.uri)?;
                json(format(&text))
            }
            req::DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = params(request)?;
                let text = self.text(&p.text_document.uri)?;
                let (document, _) = crate::syntax::parse::parse_document(&text);
                json(lsp_types::DocumentSymbolResponse::Nested(outline::symbols(
                    &text, &document,
                )))
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("switchboard does not answer {method}"),
            )),
        }
    }

    fn text(&self, uri: &Url) -> Result<String, (ErrorCode, String)> {
        self.workspace
            .text(uri)
            .ok_or_else(|| (ErrorCode::InvalidParams, format!("{uri} is not open")))
    }

    /// The policy a position is in, analysed, and the position's offset.
    fn at(
        &self,
        uri: &Url,
        position: lsp_types::Position,
    ) -> Result<(std::rc::Rc<Analysis>, usize), (ErrorCode, String)> {
        let a = self
            .workspace
            .analyse(uri)
            .ok_or_else(|| (ErrorCode::InvalidParams, format!("{uri} is not open")))?;
        let offset = Lines::new(&a.text).offset(position);
        Ok((a, offset))
    }

    fn notification(&mut self, n: Notification) {
        let method = n.method.clone();
        let changed = match method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp_types::DidOpenTextDocumentParams>(&method) else {
                    return;
                };
                let uri = p.text_document.uri;
                self.workspace.open(uri.clone(), p.text_document.text);
                uri
            }
            note::DidChangeTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp_types::DidChangeTextDocumentParams>(&method) else {
                    return;
                };
                // Full sync: the last change holds the whole text.
                let Some(change) = p.content_changes.into_iter().next_back() else {
                    return;
                };
                self.workspace
                    .open(p.text_document.uri.clone(), change.text);
                p.text_document.uri
            }
            note::DidSaveTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp_types::DidSaveTextDocumentParams>(&method) else {
                    return;
                };
                self.workspace.forget();
                p.text_document.uri
            }
            note::DidCloseTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp_types::DidCloseTextDocumentParams>(&method) else {
                    return;
                };
                self.workspace.close(&p.text_document.uri);
                self.publish(p.text_document.uri.clone(), Vec::new());
                p.text_document.uri
            }
            // Hook scripts and tables changed on disk (the editor watches
            // them): every open policy may name one.
            note::DidChangeWatchedFiles::METHOD => {
                let Ok(p) = n.extract::<lsp_types::DidChangeWatchedFilesParams>(&method) else {
                    return;
                };
                self.workspace.forget();
                match p.changes.into_iter().find(|c| !is_policy(&c.uri)) {
                    Some(change) => change.uri,
                    None => return,
                }
            }
            _ => return,
        };
        self.refresh(&changed);
    }

    /// Publishes diagnostics again for what a change touches: the policy
    /// itself, or, for a hook script or table, the script's own compile
    /// error and every open policy (any of them may name it).
    fn refresh(&self, changed: &Url) {
        let policies = match is_policy(changed) {
            true => vec![changed.clone()],
            false => {
                if self.workspace.is_open(changed) && changed.path().ends_with(".rhai") {
                    let text = self.workspace.text(changed).unwrap_or_default();
                    self.publish(changed.clone(), script_diagnostics(&text));
                }
                self.workspace.policies()
            }
        };
        for uri in policies.into_iter().filter(|u| self.workspace.is_open(u)) {
            if let Some(a) = self.workspace.analyse(&uri) {
                let found = diagnostics(&uri, &a);
                self.publish(uri, found);
            }
        }
    }

    fn publish(&self, uri: Url, diagnostics: Vec<lsp_types::Diagnostic>) {
        let params = PublishDiagnosticsParams::new(uri, diagnostics, None);
        let _ = self
            .connection
            .sender
            .send(Message::Notification(Notification::new(
                note::PublishDiagnostics::METHOD.into(),
                params,
            )));
    }
}

fn params<P: serde::de::DeserializeOwned>(request: Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(request.params).map_err(|e| {
        (
            ErrorCode::InvalidParams,
            format!("{}: the parameters do not read: {e}", request.method),
        )
    })
}

fn json(value: impl serde::Serialize) -> Answer {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

fn refused(message: String) -> (ErrorCode, String) {
    (ErrorCode::RequestFailed, message)
}

/// The edit that formats a policy: its whole text replaced by the
/// canonical form, or nothing when it has syntax errors (as `fmt` leaves
/// such a file alone) or is formatted already.
fn format(text: &str) -> Vec<TextEdit> {
    let (document, found) = crate::syntax::parse::parse_document(text);
    if found.has_errors() {
        return Vec::new();
    }
    let formatted = crate::syntax::format::format_document(&document);
    match formatted == text {
        true => Vec::new(),
        false => vec![TextEdit::new(Lines::new(text).all(), formatted)],
    }
}

/// A policy's diagnostics as the editor shows them: the code, the message,
/// then the hint and notes, and related places.
fn diagnostics(uri: &Url, a: &Analysis) -> Vec<lsp_types::Diagnostic> {
    let lines = Lines::new(&a.text);
    a.diagnostics
        .items
        .iter()
        .map(|d| one(uri, &lines, d))
        .collect()
}

fn one(uri: &Url, lines: &Lines, d: &diag::Diagnostic) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    if let Some(hint) = &d.hint {
        message.push_str("\nhint: ");
        message.push_str(hint);
    }
    for note in &d.notes {
        message.push_str("\nnote: ");
        message.push_str(note);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .map(|r| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(r.span)),
            message: r.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: lines.range(d.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().into())),
        source: Some("switchboard".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

/// A hook script's compile error, marked in the script.
fn script_diagnostics(text: &str) -> Vec<lsp_types::Diagnostic> {
    let Some((line, column, message)) = crate::hooks::compile_error(text) else {
        return Vec::new();
    };
    // rhai counts columns in characters; the editor, in UTF-16 units.
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line_text = text[line_start..].split('\n').next().unwrap_or_default();
    let at = line_start
        + line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
    let start = Lines::new(text).position(at);
    let end = lsp_types::Position::new(start.line, start.character + 1);
    vec![lsp_types::Diagnostic {
        range: lsp_types::Range::new(start, end),
        severity: Some(DiagnosticSeverity::ERROR),
        code: Some(NumberOrString::String(
            crate::diag::Code::HookFileInvalid.as_str().into(),
        )),
        source: Some("switchboard".into()),
        message: format!("hook script does not compile: {message}"),
        ..lsp_types::Diagnostic::default()
    }]
}
