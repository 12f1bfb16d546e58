//! The language server as an editor meets it: the real `switchboard lsp`
//! binary, spoken to over its standard input and output with the
//! protocol's own framing (Content-Length headers, JSON-RPC bodies).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// An editor's side of the connection.
struct Editor {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Notifications the server sent while a response was awaited.
    notes: Vec<Value>,
    next_id: i64,
}

impl Editor {
    fn start() -> Editor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("switchboard lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if send.send(message).is_err() {
                    return;
                }
            }
        });
        Editor {
            child,
            stdin,
            incoming,
            notes: Vec::new(),
            next_id: 0,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response (the whole message:
    /// `result` or `error`).
    fn ask(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self
                .incoming
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            if message["id"] == json!(id) {
                return message;
            }
            self.notes.push(message);
        }
    }

    /// The result of a request that must succeed.
    fn result(&mut self, method: &str, params: Value) -> Value {
        let answer = self.ask(method, params);
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        if let Some(at) = self.notes.iter().position(|n| is_diagnostics_for(n, uri)) {
            let note = self.notes.remove(at);
            return note["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let message = self
                .incoming
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no diagnostics for {uri}"));
            if is_diagnostics_for(&message, uri) {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.notes.push(message);
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "switchboard", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }
}

fn is_diagnostics_for(message: &Value, uri: &str) -> bool {
    message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A copy of the example tenant that uses everything, hook script and
/// table included, in a scratch folder.
fn everything() -> (PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lsp-everything");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/everything");
    for name in ["everything.policy", "everything.rhai", "vips.csv"] {
        std::fs::copy(from.join(name), dir.join(name)).unwrap();
    }
    let text = std::fs::read_to_string(dir.join("everything.policy")).unwrap();
    (dir, text)
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The protocol position (zero-based line, UTF-16 column) of the `nth`
/// (zero-based) occurrence of `needle`, `into` characters in.
fn at(text: &str, needle: &str, nth: usize, into: usize) -> Value {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} is not in the text"))
        .0
        + into;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column: usize = before
        .rsplit('\n')
        .next()
        .unwrap()
        .chars()
        .map(char::len_utf16)
        .sum();
    json!({"line": line, "character": column})
}

fn position(doc: &str, text: &str, needle: &str, nth: usize, into: usize) -> Value {
    json!({"textDocument": {"uri": doc}, "position": at(text, needle, nth, into)})
}

fn errors(diagnostics: &[Value]) -> Vec<&Value> {
    diagnostics.iter().filter(|d| d["severity"] == 1).collect()
}

fn labels(items: &Value) -> Vec<String> {
    let items = items.get("items").unwrap_or(items);
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

/// Applies text edits (non-overlapping, any order) to a text.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let column = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= column {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, new);
    }
    out
}

#[test]
fn an_editor_session_from_initialize_to_exit() {
    let (dir, text) = everything();
    let doc = uri(&dir.join("everything.policy"));
    let script = uri(&dir.join("everything.rhai"));
    let mut editor = Editor::start();

    let init = editor.result(
        "initialize",
        json!({"processId": null, "rootUri": uri(&dir), "capabilities": {}}),
    );
    assert_eq!(init["serverInfo"]["name"], "switchboard");
    let caps = &init["capabilities"];
    for capability in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "renameProvider",
        "completionProvider",
        "documentFormattingProvider",
        "documentSymbolProvider",
    ] {
        assert!(!caps[capability].is_null(), "{capability} missing: {caps}");
    }
    editor.notify("initialized", json!({}));

    // Opened as saved: it checks, hook script and table read from disk.
    editor.open(&doc, &text);
    assert_eq!(errors(&editor.diagnostics(&doc)), Vec::<&Value>::new());

    // Typed, unsaved: a misspelt team is an error with its code and hint.
    let typo = text.replacen(
        "  teams reception\n  agents sofia",
        "  teams receptoin\n  agents sofia",
        1,
    );
    editor.change(&doc, 2, &typo);
    let found = editor.diagnostics(&doc);
    let unknown = errors(&found);
    assert_eq!(unknown.len(), 1, "{found:?}");
    assert_eq!(unknown[0]["source"], "switchboard");
    assert!(unknown[0]["code"].as_str().unwrap().starts_with('E'));
    let message = unknown[0]["message"].as_str().unwrap();
    assert!(message.contains("receptoin"), "{message}");
    assert!(message.contains("did you mean `reception`"), "{message}");
    assert_eq!(unknown[0]["range"]["start"], at(&typo, "receptoin", 0, 0));
    editor.change(&doc, 3, &text);
    assert!(errors(&editor.diagnostics(&doc)).is_empty());

    // The hook script, open and unsaved with a syntax error: the policy
    // reports it, and so does the script itself.
    let rhai = std::fs::read_to_string(dir.join("everything.rhai")).unwrap();
    let broken = rhai.replacen("fn greet(ctx) {", "fn greet(ctx) { let = ;", 1);
    editor.open(&script, &broken);
    let in_script = editor.diagnostics(&script);
    assert_eq!(in_script.len(), 1, "{in_script:?}");
    assert_eq!(
        in_script[0]["range"]["start"]["line"],
        at(&broken, "fn greet", 0, 0)["line"]
    );
    let in_policy = editor.diagnostics(&doc);
    assert!(
        errors(&in_policy)[0]["message"]
            .as_str()
            .unwrap()
            .contains("hook script does not compile"),
        "{in_policy:?}"
    );
    editor.change(&script, 2, &rhai);
    assert!(editor.diagnostics(&script).is_empty());
    assert!(errors(&editor.diagnostics(&doc)).is_empty());

    // Hover: an agent's teams and inboxes.
    let hover = editor.result(
        "textDocument/hover",
        position(&doc, &text, "members ava ben", 0, 13),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("**agent** `ben`"), "{shown}");
    assert!(shown.contains("teams: `reception`"), "{shown}");
    assert!(
        shown.contains("`front_desk` (through team `reception`)"),
        "{shown}"
    );
    assert!(
        shown.contains("`boarding` (through team `reception`)"),
        "{shown}"
    );
    // An inbox's effective hours, with its next opening or that it is open.
    let hover = editor.result(
        "textDocument/hover",
        position(&doc, &text, "inbox billing", 0, 7),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("hours `clinic` (America/Los_Angeles)"),
        "{shown}"
    );
    assert!(
        shown.contains("open now") || shown.contains("opens "),
        "{shown}"
    );
    assert!(shown.contains("| day | open |"), "{shown}");
    // A direct number's effective deflection and the level it comes from.
    let hover = editor.result(
        "textDocument/hover",
        position(&doc, &text, "inbox lindqvist_direct", 0, 7),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("belongs to `lindqvist`"), "{shown}");
    assert!(
        shown.contains("deflects outside `clinic` hours, set by team `veterinarians`"),
        "{shown}"
    );
    let hover = editor.result(
        "textDocument/hover",
        position(&doc, &text, "inbox park_direct", 0, 7),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("no after-hours deflection, set by the agent's own setting"),
        "{shown}"
    );
    // A placeholder's meaning.
    let hover = editor.result(
        "textDocument/hover",
        position(&doc, &text, "{next_open}", 0, 3),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("`{next_open}`") && shown.contains("opens next"),
        "{shown}"
    );

    // Go to definition: a team, hours, a template, a hook function.
    let found = editor.result(
        "textDocument/definition",
        position(&doc, &text, "teams reception", 0, 8),
    );
    assert_eq!(found["uri"], doc);
    assert_eq!(found["range"]["start"], at(&text, "team reception", 0, 5));
    let found = editor.result(
        "textDocument/definition",
        position(&doc, &text, "message vet_away", 0, 10),
    );
    assert_eq!(
        found["range"]["start"],
        at(&text, "template vet_away", 0, 9)
    );
    let found = editor.result(
        "textDocument/definition",
        position(&doc, &text, "hours night_triage\n    message", 0, 8),
    );
    assert_eq!(
        found["range"]["start"],
        at(&text, "hours night_triage {", 0, 6)
    );
    let found = editor.result(
        "textDocument/definition",
        position(&doc, &text, "claim_by_balance", 0, 2),
    );
    assert_eq!(found["uri"], script);
    assert_eq!(found["range"]["start"], at(&rhai, "claim_by_balance", 0, 0));

    // References: every use of the `clinic` hours, declaration included.
    let found = editor.result(
        "textDocument/references",
        json!({"textDocument": {"uri": doc}, "position": at(&text, "hours clinic {", 0, 7), "context": {"includeDeclaration": true}}),
    );
    let uses = text.matches("hours clinic").count();
    assert_eq!(found.as_array().unwrap().len(), uses, "{found}");

    // Completion: settings where a statement starts, values after a key,
    // names in scope, placeholders inside a message.
    let mut draft = text.replacen("  claim must\n", "  claim must\n  \n", 1);
    let blank = draft.find("claim must\n  \n").unwrap() + "claim must\n  ".len();
    editor.change(&doc, 4, &draft);
    let line = at(&draft, "claim must\n", 0, 0)["line"].as_u64().unwrap() + 1;
    let settings = labels(&editor.result(
        "textDocument/completion",
        json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": 2}}),
    ));
    for key in ["claim", "lock", "autoresponder", "hook", "after_hours"] {
        assert!(
            settings.contains(&key.to_string()),
            "{key} not in {settings:?}"
        );
    }
    assert!(
        !settings.contains(&"initiation_keyword".to_string()),
        "{settings:?}"
    );
    for (typed, expected) in [
        ("claim ", vec!["can", "cannot", "must"]),
        (
            "teams ",
            vec!["reception", "veterinarians", "triage", "pharmacy"],
        ),
        ("hours ", vec!["clinic", "night_triage", "always_open"]),
        ("after_hours ", vec!["closed", "welcome", "vet_away"]),
        ("hook routing ", vec!["route_front_desk", "route_billing"]),
        (
            "hook ",
            vec!["routing", "claim", "autoresponder", "escalation"],
        ),
        (
            "autoresponder \"Hi {",
            vec!["customer_name", "next_open", "inbox"],
        ),
    ] {
        draft = format!("{}{typed}{}", &draft[..blank], &draft[blank..]);
        editor.change(&doc, 5, &draft);
        let line_text = format!("  {typed}");
        let got = labels(&editor.result(
            "textDocument/completion",
            json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": line_text.len()}}),
        ));
        for e in expected {
            assert!(
                got.contains(&e.to_string()),
                "after `{typed}`: {e} not in {got:?}"
            );
        }
        draft = format!("{}{}", &draft[..blank], &draft[blank + typed.len()..]);
    }
    let zone = text.replacen("zone America/Los_Angeles", "zone America/New_", 1);
    editor.change(&doc, 6, &zone);
    let got = labels(&editor.result(
        "textDocument/completion",
        position(&doc, &zone, "America/New_", 0, 12),
    ));
    assert!(got.contains(&"America/New_York".to_string()), "{got:?}");

    // Formatting: the same canonical form as `switchboard fmt`.
    let messy =
        text.replace("\n  numbers", "\n        numbers")
            .replacen("claim must", "claim    must", 1);
    editor.change(&doc, 7, &messy);
    let edits = editor.result(
        "textDocument/formatting",
        json!({"textDocument": {"uri": doc}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(apply(&messy, edits.as_array().unwrap()), text);
    editor.change(&doc, 8, &text);
    let edits = editor.result(
        "textDocument/formatting",
        json!({"textDocument": {"uri": doc}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits, json!([]));

    // The outline: every inbox, with its kind.
    let symbols = editor.result(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": doc}}),
    );
    let inboxes: Vec<(&str, &str)> = symbols
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["detail"].as_str().is_some_and(|d| d.ends_with("inbox")))
        .map(|s| (s["name"].as_str().unwrap(), s["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(inboxes.len(), text.matches("\ninbox ").count());
    assert!(
        inboxes.contains(&("emergency", "queue inbox")),
        "{inboxes:?}"
    );

    // Rename an agent everywhere; the result still checks.
    let prepared = editor.result(
        "textDocument/prepareRename",
        position(&doc, &text, "agent okoro\n", 0, 7),
    );
    assert_eq!(prepared["start"], at(&text, "agent okoro\n", 0, 6));
    let edit = editor.result(
        "textDocument/rename",
        json!({"textDocument": {"uri": doc}, "position": at(&text, "agent okoro\n", 0, 7), "newName": "adaeze"}),
    );
    let edits = edit["changes"][&doc].as_array().unwrap();
    assert_eq!(
        edits.len(),
        3,
        "team member, declaration, direct inbox: {edit}"
    );
    let renamed = apply(&text, edits);
    assert!(
        renamed.contains("members adaeze lindqvist park") && renamed.contains("agent adaeze\n")
    );
    assert!(
        renamed.contains("hours dr_okoro"),
        "hours of the same letters stay"
    );
    editor.change(&doc, 9, &renamed);
    assert!(errors(&editor.diagnostics(&doc)).is_empty());
    editor.change(&doc, 10, &text);
    // An inbox is not renamed: stored conversations find it by name.
    let refused = editor.ask(
        "textDocument/rename",
        json!({"textDocument": {"uri": doc}, "position": at(&text, "inbox billing", 0, 7), "newName": "accounts"}),
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stored conversations"),
        "{refused}"
    );
    // Nor to a name already taken, nor to something that is not a name.
    for (new_name, why) in [("ben", "already declares"), ("2x", "is not a name")] {
        let refused = editor.ask(
            "textDocument/rename",
            json!({"textDocument": {"uri": doc}, "position": at(&text, "agent ava", 0, 7), "newName": new_name}),
        );
        assert!(
            refused["error"]["message"].as_str().unwrap().contains(why),
            "{refused}"
        );
    }

    // A method it does not know is an error, not a hang or a crash.
    let unknown = editor.ask(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": doc}}),
    );
    assert_eq!(unknown["error"]["code"], -32601);

    assert_eq!(editor.result("shutdown", Value::Null), Value::Null);
    editor.notify("exit", Value::Null);
    drop(editor.stdin);
    let status = editor.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn an_untitled_buffer_and_bad_input_get_answers_not_a_crash() {
    let mut editor = Editor::start();
    editor.result(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    editor.notify("initialized", json!({}));
    let doc = "untitled:Untitled-1";
    // Half-typed, with a block left open and an emoji before the error.
    let text = "# 😀\ntenant t {\n  zone Nowhere/City\n  country US\n\ninbox main shared {\n  numbers +1415\n";
    editor.open(doc, text);
    let found = editor.diagnostics(doc);
    assert!(!errors(&found).is_empty(), "{found:?}");
    // Requests at positions past the end, and with parameters that do not
    // read, are answered.
    let hover = editor.ask(
        "textDocument/hover",
        json!({"textDocument": {"uri": doc}, "position": {"line": 99, "character": 99}}),
    );
    assert!(
        hover.get("error").is_none() && hover["result"].is_null(),
        "{hover}"
    );
    let completion = editor.result(
        "textDocument/completion",
        json!({"textDocument": {"uri": doc}, "position": {"line": 7, "character": 0}}),
    );
    assert!(
        labels(&completion).contains(&"claim".to_string()),
        "{completion}"
    );
    let bad = editor.ask("textDocument/hover", json!({"nope": true}));
    assert_eq!(bad["error"]["code"], -32602);
    let closed = editor.ask(
        "textDocument/hover",
        json!({"textDocument": {"uri": "untitled:gone"}, "position": {"line": 0, "character": 0}}),
    );
    assert!(
        closed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not open"),
        "{closed}"
    );
    // Formatting a text with syntax errors changes nothing.
    let edits = editor.result(
        "textDocument/formatting",
        json!({"textDocument": {"uri": doc}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits, json!([]));
    assert_eq!(editor.result("shutdown", Value::Null), Value::Null);
    editor.notify("exit", Value::Null);
    assert!(editor.child.wait().unwrap().success());
}
