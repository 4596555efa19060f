//! `autopilot lsp`: a language server over stdio, a thin layer over the
//! library (the checker, lint, fmt and their diagnostics stay as they are).
//!
//! One synchronous loop owns the workspace ([`workspace::Workspace`]) and
//! handles messages strictly in order (lsp-server, as rust-analyzer does):
//! full-text sync with versions; diagnostics of `check` and `lint` for every
//! file of the workspace folder, published once edits pause for
//! [`DEBOUNCE`]; formatting; document symbols. A request it does not know
//! is answered `MethodNotFound`, a request that cannot be read
//! `InvalidParams`; nothing a client sends stops the server but `exit`.

pub mod features;
pub mod workspace;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    References, Request as _,
};
use lsp_types::{
    DocumentSymbolResponse, InitializeParams, OneOf, PositionEncodingKind,
    PublishDiagnosticsParams, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind,
};

use workspace::{Analysis, Encoding, Workspace, path_of, uri_of};

/// How long edits must pause before diagnostics are computed again.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Why the server stopped other than by `exit`.
#[derive(Debug, thiserror::Error)]
pub enum LspError {
    #[error("the client did not initialize: {0}")]
    Initialize(String),
}

/// Serves one client until `exit` (or the client disconnects).
pub fn serve(connection: &Connection) -> Result<(), LspError> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| LspError::Initialize(e.to_string()))?;
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let utf8 = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let mut ws = Workspace {
        encoding: if utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        },
        ..Workspace::default()
    };
    if let Some(root) = root(&params) {
        ws.disk = read_folder(&root);
    }
    let capabilities = ServerCapabilities {
        position_encoding: Some(if utf8 {
            PositionEncodingKind::UTF8
        } else {
            PositionEncodingKind::UTF16
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        completion_provider: Some(lsp_types::CompletionOptions {
            trigger_characters: Some(vec![".".into(), "(".into(), " ".into()]),
            ..lsp_types::CompletionOptions::default()
        }),
        code_action_provider: Some(lsp_types::CodeActionProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    };
    let result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": ServerInfo { name: "autopilot".into(), version: Some(env!("CARGO_PKG_VERSION").into()) },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| LspError::Initialize(e.to_string()))?;
    let mut server = Server {
        ws,
        dirty: true,
        analysis: None,
        published: BTreeSet::new(),
        stdlib_dir: stdlib_dir(),
    };
    loop {
        let msg = if server.dirty {
            match connection.receiver.recv_timeout(DEBOUNCE) {
                Ok(msg) => msg,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    server.publish(connection);
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        } else {
            match connection.receiver.recv() {
                Ok(msg) => msg,
                Err(_) => return Ok(()),
            }
        };
        match msg {
            Message::Request(req) => {
                if req.method == "shutdown" {
                    let _ = connection
                        .sender
                        .send(Response::new_ok(req.id.clone(), ()).into());
                    continue;
                }
                let response = server.request(req);
                let _ = connection.sender.send(response.into());
            }
            Message::Notification(n) => {
                if n.method == "exit" {
                    return Ok(());
                }
                server.notification(n);
            }
            Message::Response(_) => {}
        }
    }
}

/// The stdlib's read-only copies: `$AUTOPILOT_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/autopilot`, else `~/.cache/autopilot`, then
/// `stdlib-VERSION`.
fn stdlib_dir() -> Option<PathBuf> {
    let base = std::env::var_os("AUTOPILOT_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("autopilot")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/autopilot")))?;
    Some(base.join(format!("stdlib-{}", env!("CARGO_PKG_VERSION"))))
}

/// The workspace folder: the first of `workspaceFolders`, else `rootUri`.
fn root(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(folder) = params.workspace_folders.as_ref().and_then(|f| f.first()) {
        return path_of(&folder.uri);
    }
    #[allow(deprecated)]
    params.root_uri.as_ref().and_then(path_of)
}

/// Every `.apr` file under `root` that can be read (as `check` reads a folder).
fn read_folder(root: &std::path::Path) -> std::collections::BTreeMap<PathBuf, String> {
    crate::compile::read_paths(&[root.to_path_buf()])
        .map(|loaded| loaded.into_iter().map(|l| (l.path, l.text)).collect())
        .unwrap_or_default()
}

struct Server {
    ws: Workspace,
    /// Diagnostics are out of date.
    dirty: bool,
    /// Where the stdlib's files are written for "go to definition".
    stdlib_dir: Option<PathBuf>,
    /// The last analysis, while the texts are unchanged.
    analysis: Option<Analysis>,
    /// Files last published with diagnostics, to clear when they have none.
    published: BTreeSet<PathBuf>,
}

impl Server {
    fn publish(&mut self, connection: &Connection) {
        self.dirty = false;
        let all = self.with_analysis(|ws, a| ws.diagnostics(a));
        let mut now = BTreeSet::new();
        for (path, diagnostics) in all {
            let had = self.published.contains(&path);
            if diagnostics.is_empty() && !had && !self.ws.open.contains_key(&path) {
                continue;
            }
            let Some(uri) = uri_of(&path) else {
                continue;
            };
            if !diagnostics.is_empty() {
                now.insert(path.clone());
            }
            let version = self.ws.open.get(&path).map(|(v, _)| *v);
            let params = PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            };
            let _ = connection
                .sender
                .send(Notification::new(PublishDiagnostics::METHOD.into(), params).into());
        }
        self.published = now;
    }

    /// The analysis of the current texts, computed when they changed.
    fn with_analysis<R>(&mut self, f: impl FnOnce(&Workspace, &Analysis) -> R) -> R {
        let a = self.analysis.take().unwrap_or_else(|| self.ws.analyze());
        let out = f(&self.ws, &a);
        self.analysis = Some(a);
        out
    }

    fn changed(&mut self) {
        self.dirty = true;
        self.analysis = None;
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                    && let Some(path) = path_of(&p.text_document.uri)
                {
                    self.ws
                        .open
                        .insert(path, (p.text_document.version, p.text_document.text));
                    self.changed();
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = n.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) && let Some(path) = path_of(&p.text_document.uri)
                    // Full sync: the last change holds the whole text.
                    && let Some(change) = p.content_changes.into_iter().last()
                {
                    let stale = self
                        .ws
                        .open
                        .get(&path)
                        .is_some_and(|(v, _)| *v > p.text_document.version);
                    if !stale {
                        self.ws
                            .open
                            .insert(path, (p.text_document.version, change.text));
                        self.changed();
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                    && let Some(path) = path_of(&p.text_document.uri)
                {
                    self.ws.open.remove(&path);
                    // The file on disk is what the folder has again.
                    match std::fs::read_to_string(&path) {
                        Ok(text) => {
                            self.ws.disk.insert(path, text);
                        }
                        Err(_) => {
                            self.ws.disk.remove(&path);
                        }
                    }
                    self.changed();
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidSaveTextDocumentParams>(DidSaveTextDocument::METHOD)
                    && let Some(path) = path_of(&p.text_document.uri)
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    self.ws.disk.insert(path, text);
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let invalid = |e: String| Response::new_err(id.clone(), ErrorCode::InvalidParams as i32, e);
        match req.method.as_str() {
            Formatting::METHOD => {
                match req.extract::<lsp_types::DocumentFormattingParams>(Formatting::METHOD) {
                    Ok((id, p)) => {
                        let edits = path_of(&p.text_document.uri)
                            .map(|path| self.ws.format(&path))
                            .unwrap_or_default();
                        Response::new_ok(id, edits)
                    }
                    Err(e) => invalid(e.to_string()),
                }
            }
            DocumentSymbolRequest::METHOD => {
                match req.extract::<lsp_types::DocumentSymbolParams>(DocumentSymbolRequest::METHOD)
                {
                    Ok((id, p)) => {
                        let symbols = path_of(&p.text_document.uri)
                            .map(|path| self.ws.symbols(&path))
                            .unwrap_or_default();
                        Response::new_ok(id, DocumentSymbolResponse::Nested(symbols))
                    }
                    Err(e) => invalid(e.to_string()),
                }
            }
            HoverRequest::METHOD => {
                match req.extract::<lsp_types::HoverParams>(HoverRequest::METHOD) {
                    Ok((id, p)) => {
                        let at = p.text_document_position_params;
                        let hover = path_of(&at.text_document.uri).and_then(|path| {
                            let a = self.analysis.take().unwrap_or_else(|| self.ws.analyze());
                            let h = features::hover(&self.ws, &a, &path, at.position);
                            self.analysis = Some(a);
                            h
                        });
                        Response::new_ok(id, hover)
                    }
                    Err(e) => invalid(e.to_string()),
                }
            }
            Completion::METHOD => {
                match req.extract::<lsp_types::CompletionParams>(Completion::METHOD) {
                    Ok((id, p)) => {
                        let at = p.text_document_position;
                        let items = path_of(&at.text_document.uri)
                            .map(|path| {
                                let a = self.analysis.take().unwrap_or_else(|| self.ws.analyze());
                                let items = features::complete(&self.ws, &a, &path, at.position);
                                self.analysis = Some(a);
                                items
                            })
                            .unwrap_or_default();
                        Response::new_ok(id, items)
                    }
                    Err(e) => invalid(e.to_string()),
                }
            }
            CodeActionRequest::METHOD => {
                match req.extract::<lsp_types::CodeActionParams>(CodeActionRequest::METHOD) {
                    Ok((id, p)) => {
                        let fixes = path_of(&p.text_document.uri)
                            .map(|path| {
                                let a = self.analysis.take().unwrap_or_else(|| self.ws.analyze());
                                let fixes = features::quick_fixes(&self.ws, &a, &path, p.range);
                                self.analysis = Some(a);
                                fixes
                            })
                            .unwrap_or_default();
                        Response::new_ok(id, fixes)
                    }
                    Err(e) => invalid(e.to_string()),
                }
            }
            GotoDefinition::METHOD => {
                match req.extract::<lsp_types::GotoDefinitionParams>(GotoDefinition::METHOD) {
                    Ok((id, p)) => {
                        let at = p.text_document_position_params;
                        let dir = self.stdlib_dir.clone();
                        let found = path_of(&at.text_document.uri).and_then(|path| {
                            self.with_analysis(|ws, a| {
                                features::definition(ws, a, &path, at.position, dir.as_deref())
                            })
                        });
                        Response::new_ok(id, found.map(lsp_types::GotoDefinitionResponse::Scalar))
                    }
                    Err(e) => invalid(e.to_string()),
                }
            }
            References::METHOD => {
                match req.extract::<lsp_types::ReferenceParams>(References::METHOD) {
                    Ok((id, p)) => {
                        let at = p.text_document_position;
                        let declaration = p.context.include_declaration;
                        let dir = self.stdlib_dir.clone();
                        let found = path_of(&at.text_document.uri)
                            .map(|path| {
                                self.with_analysis(|ws, a| {
                                    features::references(
                                        ws,
                                        a,
                                        &path,
                                        at.position,
                                        declaration,
                                        dir.as_deref(),
                                    )
                                })
                            })
                            .unwrap_or_default();
                        Response::new_ok(id, found)
                    }
                    Err(e) => invalid(e.to_string()),
                }
            }
            other => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("autopilot lsp does not handle `{other}`"),
            ),
        }
    }
}
