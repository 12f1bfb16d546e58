//! The crate's layering walls, checked on its source text.
//!
//! Every `.rs` file under `src/` (but `main.rs` and `src/cli/`, the
//! `switchboard` command, which is the binary's and not the library's) is
//! a module: `src/lib.rs` is the crate root, `src/engine/mod.rs`
//! is `engine`, `src/engine/state.rs` is `engine::state`. Comments, doc
//! comments and string and char literals are blanked out first; then every
//! path the code names counts as an arrow from its file to the deepest file
//! module the path reaches:
//!
//! - each leaf of a `use` declaration (`use`, `pub use`, `pub(crate) use`,
//!   groups over several lines, `self::`, `super::`, and a child module's
//!   name used bare in its parent);
//! - each path written inline in code that starts with `crate::`, `super::`,
//!   `self::` or the name of one of the file's own child modules.
//!
//! Paths into other crates (`rhai::Dynamic`) are read too, for the rhai wall.
//!
//! `crate::engine::decision::Agents` reaches `src/engine/decision.rs`,
//! `crate::engine::Engine` reaches `src/engine/mod.rs`, and `super::Cx` in
//! `src/engine/actions.rs` reaches `src/engine/mod.rs`. `mod x;` declares a
//! module and is not an arrow; neither is a file naming itself.
//!
//! The walls:
//!
//! - no cycle of arrows between files, with one rule: a module naming one
//!   of its own child modules (`engine` calling `actions::reply`, the crate
//!   root re-exporting `policy::Policy`) is composition, not an import, so
//!   an arrow from a module file to a module it declares is left out. The
//!   child reaching back up (`use super::Cx`) still counts, and so does a
//!   module naming a grandchild (`syntax::diagnostic::X` from the root) or
//!   a sibling. Counting every arrow, each module split over several files
//!   is a cycle through its `mod.rs`, which says nothing;
//! - no cycle between stages: each top-level module (`engine`, `vocab`) is
//!   one node, the crate root another, and every arrow counts. This is what
//!   the rule above would miss: a cycle that enters a stage through its
//!   `mod.rs` (`crate::engine::State`) and leaves from a child file;
//! - the stages after checking (engine, policy, hooks, server, runtime)
//!   never name `crate::syntax`: they speak the shared words of `vocab` and
//!   the compiled policy, not the policy language's AST or diagnostics;
//! - rhai is named only in `src/hooks/`;
//! - nothing in the library names `crate::cli`, and the command line is
//!   the binary's own: `src/main.rs` declares it, and it reaches the
//!   library only through what the library exports (`switchboard::`).
//!
//! Text is parsed, not compiled, so a wall can be climbed through a
//! re-export (`crate::Diagnostics` is `syntax`'s, re-exported at the root)
//! or a glob import; the checks here see what is written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A module's path from the crate root: `["engine", "state"]`; the root is `[]`.
type ModPath = Vec<String>;

/// Arrows from each file (or stage) to those it names.
type Arrows = BTreeMap<String, BTreeSet<String>>;

/// One source file of the library.
struct SourceFile {
    /// Relative to the manifest folder, with `/`: `src/engine/mod.rs`.
    rel: String,
    module: ModPath,
    /// The source with comments and literals blanked (newlines kept).
    code: String,
}

/// The library's files, by module path.
struct Crate {
    files: BTreeMap<ModPath, SourceFile>,
}

/// How a path came to be named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Use,
    Inline,
}

/// A path named in code.
#[derive(Debug)]
struct Mention {
    line: usize,
    via: Via,
    /// As written; a leading `::` is an empty first segment.
    written: Vec<String>,
    /// The path from the crate root, when it names something in this crate.
    resolved: Option<ModPath>,
}

impl Mention {
    fn written(&self) -> String {
        self.written.join("::")
    }

    fn names_module(&self, module: &[&str]) -> bool {
        self.resolved.as_ref().is_some_and(|path| {
            path.len() >= module.len() && path.iter().zip(module).all(|(a, b)| a == b)
        })
    }

    fn describe(&self, file: &SourceFile) -> String {
        let via = match self.via {
            Via::Use => "use",
            Via::Inline => "inline path",
        };
        format!("{}:{}: {} ({via})", file.rel, self.line, self.written())
    }
}

// ---------------------------------------------------------------- the crate

fn load_crate() -> Crate {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = BTreeMap::new();
    let mut pending = vec![root.join("src")];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("src/ is readable").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if !rel.ends_with(".rs") || rel == "src/main.rs" || rel.starts_with("src/cli/") {
                continue;
            }
            let text = fs::read_to_string(&path).expect("source is UTF-8");
            let module = module_path(&rel);
            let code = blank_comments_and_literals(&text);
            files.insert(module.clone(), SourceFile { rel, module, code });
        }
    }
    Crate { files }
}

/// `src/lib.rs` → `[]`, `src/engine/mod.rs` → `engine`, `src/engine/state.rs`
/// → `engine::state`.
fn module_path(rel: &str) -> ModPath {
    let inner = rel
        .strip_prefix("src/")
        .unwrap()
        .strip_suffix(".rs")
        .unwrap();
    let mut path: ModPath = inner.split('/').map(str::to_string).collect();
    if path.last().is_some_and(|last| last == "mod") || path == ["lib"] {
        path.pop();
    }
    path
}

impl Crate {
    fn modules(&self) -> BTreeSet<ModPath> {
        self.files.keys().cloned().collect()
    }

    fn file(&self, rel: &str) -> &SourceFile {
        self.files
            .values()
            .find(|f| f.rel == rel)
            .unwrap_or_else(|| panic!("no file {rel}"))
    }

    fn mentions(&self, file: &SourceFile) -> Vec<Mention> {
        mentions(&file.code, &file.module, &self.modules())
    }

    /// Every file's mentions, for the walls that read them all.
    fn all_mentions(&self) -> Vec<(&SourceFile, Mention)> {
        let modules = self.modules();
        self.files
            .values()
            .flat_map(|f| {
                mentions(&f.code, &f.module, &modules)
                    .into_iter()
                    .map(move |m| (f, m))
            })
            .collect()
    }

    /// Arrows between files, by their `rel`.
    fn arrows(&self, children: OwnChildren) -> Arrows {
        let modules = self.modules();
        let mut arrows: Arrows = BTreeMap::new();
        for (from, mention) in self.all_mentions() {
            let Some(path) = &mention.resolved else {
                continue;
            };
            let target = deepest_file(path, &modules);
            let own_child = is_own_child(&from.module, &target);
            if target == from.module || (own_child && children == OwnChildren::LeftOut) {
                continue;
            }
            let to = self.files[&target].rel.clone();
            arrows.entry(from.rel.clone()).or_default().insert(to);
        }
        arrows
    }
}

/// Whether `target` is a module that `module` declares (`mod target;`).
fn is_own_child(module: &[String], target: &[String]) -> bool {
    target.len() == module.len() + 1 && target.starts_with(module)
}

/// Whether a module naming one of its own child modules is an arrow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OwnChildren {
    Counted,
    /// Composition, not an import: for the cycle wall.
    LeftOut,
}

/// The longest prefix of `path` that is a file module (at worst the root).
fn deepest_file(path: &[String], modules: &BTreeSet<ModPath>) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

// ---------------------------------------------------------------- lexing

/// The source with every comment, doc comment, string and char literal
/// replaced by spaces, newlines kept so line numbers stay true.
fn blank_comments_and_literals(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let end = literal_or_comment_end(&chars, i);
        if end == i {
            out.push(chars[i]);
            i += 1;
        } else {
            out.extend(
                chars[i..end]
                    .iter()
                    .map(|&c| if c == '\n' { '\n' } else { ' ' }),
            );
            i = end;
        }
    }
    out
}

/// Where the comment or literal starting at `i` ends, or `i` if none does.
fn literal_or_comment_end(c: &[char], i: usize) -> usize {
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let after_ident = i > 0 && is_ident_char(c[i - 1]);
    match (at(i), at(i + 1)) {
        ('/', '/') => (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()),
        ('/', '*') => block_comment_end(c, i),
        ('"', _) => quoted_end(c, i + 1, '"'),
        ('\'', '\\') => quoted_end(c, i + 1, '\''),
        ('\'', _) if at(i + 2) == '\'' => i + 3,
        ('r' | 'b' | 'c', _) if !after_ident => raw_string_end(c, i).unwrap_or(i),
        _ => i,
    }
}

fn block_comment_end(c: &[char], start: usize) -> usize {
    let (mut depth, mut k) = (0, start);
    while k + 1 < c.len() {
        match (c[k], c[k + 1]) {
            ('/', '*') => (depth, k) = (depth + 1, k + 2),
            ('*', '/') => {
                (depth, k) = (depth - 1, k + 2);
                if depth == 0 {
                    return k;
                }
            }
            _ => k += 1,
        }
    }
    c.len()
}

/// The end of a literal whose body starts at `k` and closes with `close`.
fn quoted_end(c: &[char], mut k: usize, close: char) -> usize {
    while k < c.len() {
        match c[k] {
            '\\' => k += 2,
            ch if ch == close => return k + 1,
            _ => k += 1,
        }
    }
    c.len()
}

/// `r"..."`, `r#"..."#`, `br"..."`, `cr#"..."#`: where it ends, if one starts at `i`.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let mut k = i;
    if matches!(c[k], 'b' | 'c') {
        k += 1;
    }
    if c.get(k) != Some(&'r') {
        return None;
    }
    k += 1;
    let hashes = c[k..].iter().take_while(|&&ch| ch == '#').count();
    k += hashes;
    if c.get(k) != Some(&'"') {
        return None;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    (k + 1..c.len())
        .find(|&e| c[e..].starts_with(&closing))
        .map(|e| e + closing.len())
        .or(Some(c.len()))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// Tokens of blanked code, each with its line.
fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) {
            let len = chars[i..]
                .iter()
                .take_while(|&&ch| is_ident_char(ch))
                .count();
            let word: String = chars[i..i + len].iter().collect();
            // A number (`1u32`) is not a name.
            if !c.is_ascii_digit() {
                out.push((Tok::Ident(word), line));
            }
            i += len;
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- mentions

/// Every path `code` names, resolved from the file module `module`.
fn mentions(code: &str, module: &[String], modules: &BTreeSet<ModPath>) -> Vec<Mention> {
    let toks = tokens(code);
    let mut scope = Scope::new(module);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Ident(word) if word == "use" => {
                let line = toks[i].1;
                let (leaves, end) = use_leaves(&toks, i + 1);
                for written in leaves {
                    out.push(scope.mention(line, Via::Use, written, modules));
                }
                i = end;
                continue;
            }
            Tok::Ident(word) if word == "mod" => scope.maybe_open_inline(&toks, i),
            Tok::Punct('{') => scope.open_brace(),
            Tok::Punct('}') => scope.close_brace(),
            _ => {
                if let Some((written, end)) = inline_path(&toks, i) {
                    out.push(scope.mention(toks[i].1, Via::Inline, written, modules));
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Where in the module tree the scanner is: the file's module, and the
/// inline `mod name { ... }` blocks it is inside.
struct Scope {
    file: ModPath,
    depth: usize,
    /// Each open inline module, with the brace depth inside it.
    inline: Vec<(String, usize)>,
    /// Set by `mod name` just before its `{`.
    opening: Option<String>,
}

impl Scope {
    fn new(module: &[String]) -> Self {
        Scope {
            file: module.to_vec(),
            depth: 0,
            inline: Vec::new(),
            opening: None,
        }
    }

    fn current(&self) -> ModPath {
        let mut path = self.file.clone();
        path.extend(self.inline.iter().map(|(name, _)| name.clone()));
        path
    }

    fn maybe_open_inline(&mut self, toks: &[(Tok, usize)], i: usize) {
        if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) =
            (toks.get(i + 1), toks.get(i + 2))
        {
            self.opening = Some(name.clone());
        }
    }

    fn open_brace(&mut self) {
        self.depth += 1;
        if let Some(name) = self.opening.take() {
            self.inline.push((name, self.depth));
        }
    }

    fn close_brace(&mut self) {
        if self
            .inline
            .last()
            .is_some_and(|(_, depth)| *depth == self.depth)
        {
            self.inline.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }

    fn mention(
        &self,
        line: usize,
        via: Via,
        written: Vec<String>,
        modules: &BTreeSet<ModPath>,
    ) -> Mention {
        let resolved = resolve(&written, &self.current(), modules);
        Mention {
            line,
            via,
            written,
            resolved,
        }
    }
}

/// The path from the crate root that `written` names from module `here`,
/// or `None` if it names something outside the crate.
fn resolve(written: &[String], here: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let first = written.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &written[1..]),
        "self" => (here.to_vec(), &written[1..]),
        "super" => {
            let supers = written.iter().take_while(|s| *s == "super").count();
            let base = here[..here.len().checked_sub(supers)?].to_vec();
            (base, &written[supers..])
        }
        _ => {
            let mut child = here.to_vec();
            child.push(first.clone());
            if !modules.contains(&child) {
                return None;
            }
            (here.to_vec(), written)
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The leaves of the use tree starting at `i` (just after `use`), and the
/// index after its `;`.
fn use_leaves(toks: &[(Tok, usize)], i: usize) -> (Vec<Vec<String>>, usize) {
    let mut leaves = Vec::new();
    let mut k = i;
    let mut prefix = Vec::new();
    if toks.get(k).map(|t| &t.0) == Some(&Tok::Sep) {
        prefix.push(String::new());
        k += 1;
    }
    use_tree(toks, &mut k, prefix, &mut leaves);
    while k < toks.len() && toks[k].0 != Tok::Punct(';') {
        k += 1;
    }
    (leaves, k + 1)
}

/// One use tree at `*k`: `a::b`, `a::*`, `a::{tree, ...}`, `a as b`, `self`.
fn use_tree(
    toks: &[(Tok, usize)],
    k: &mut usize,
    mut prefix: Vec<String>,
    leaves: &mut Vec<Vec<String>>,
) {
    loop {
        match toks.get(*k).map(|t| &t.0) {
            Some(Tok::Ident(seg)) => {
                // `{self, ...}` in a group names the group's prefix itself.
                if seg != "self" || prefix.is_empty() {
                    prefix.push(seg.clone());
                }
                *k += 1;
                if toks.get(*k).map(|t| &t.0) == Some(&Tok::Sep) {
                    *k += 1;
                    continue;
                }
                skip_alias(toks, k);
                leaves.push(prefix);
                return;
            }
            Some(Tok::Punct('*')) => {
                *k += 1;
                leaves.push(prefix);
                return;
            }
            Some(Tok::Punct('{')) => {
                *k += 1;
                use_group(toks, k, &prefix, leaves);
                return;
            }
            _ => return,
        }
    }
}

fn use_group(
    toks: &[(Tok, usize)],
    k: &mut usize,
    prefix: &[String],
    leaves: &mut Vec<Vec<String>>,
) {
    while let Some((tok, _)) = toks.get(*k) {
        match tok {
            Tok::Punct('}') => {
                *k += 1;
                return;
            }
            Tok::Punct(',') => *k += 1,
            _ => {
                let before = *k;
                use_tree(toks, k, prefix.to_vec(), leaves);
                if *k == before {
                    *k += 1;
                }
            }
        }
    }
}

fn skip_alias(toks: &[(Tok, usize)], k: &mut usize) {
    if toks.get(*k).map(|t| &t.0) == Some(&Tok::Ident("as".into())) {
        *k += 2;
    }
}

/// A path of at least two segments starting at `i` (`a::b`, `::a::b`), with
/// the index after it. A path's middle (`b` in `a::b`) is not a start.
fn inline_path(toks: &[(Tok, usize)], i: usize) -> Option<(Vec<String>, usize)> {
    let prev = i.checked_sub(1).map(|p| &toks[p].0);
    let mut segs = Vec::new();
    let mut k = i;
    match &toks[i].0 {
        Tok::Ident(word) if prev != Some(&Tok::Sep) && prev != Some(&Tok::Punct('.')) => {
            segs.push(word.clone());
            k += 1;
        }
        Tok::Sep if !matches!(prev, Some(Tok::Ident(_)) | Some(Tok::Punct('>'))) => {
            segs.push(String::new())
        }
        _ => return None,
    }
    while let (Some((Tok::Sep, _)), Some((Tok::Ident(seg), _))) = (toks.get(k), toks.get(k + 1)) {
        segs.push(seg.clone());
        k += 2;
    }
    let named = segs.iter().filter(|s| !s.is_empty()).count();
    (named >= 2).then_some((segs, k))
}

// ---------------------------------------------------------------- cycles

/// Strongly connected components of more than one file (Tarjan).
fn cycles(arrows: &Arrows) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        arrows: &'a Arrows,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let arrows = self.arrows;
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in arrows.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w.as_str()]));
                } else if self.on_stack.contains(w.as_str()) {
                    self.low.insert(v, self.low[v].min(self.index[w.as_str()]));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        arrows,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in arrows.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.found
}

/// Each file's stage: its top-level module, or the crate root.
fn stage_of(rel: &str) -> String {
    let inner = rel.strip_prefix("src/").unwrap_or(rel);
    let top = inner.split('/').next().unwrap_or(inner);
    match top.strip_suffix(".rs").unwrap_or(top) {
        "lib" => "crate root".to_string(),
        stage => stage.to_string(),
    }
}

/// For a failure message: a shortest cycle through the component's first
/// node, each step with a file arrow that makes it (nodes are files, or
/// stages by `node_of`).
fn describe_cycle(
    component: &[String],
    file_arrows: &Arrows,
    node_of: fn(&str) -> String,
) -> String {
    let nodes = collapse(file_arrows, node_of);
    let path = shortest_cycle(&component[0], component, &nodes);
    let steps: Vec<String> = path
        .windows(2)
        .map(|step| {
            let (a, b) = (&step[0], &step[1]);
            let made_by = file_arrows
                .iter()
                .flat_map(|(from, tos)| tos.iter().map(move |to| (from, to)))
                .find(|(from, to)| node_of(from) == *a && node_of(to) == *b);
            match made_by {
                Some((from, to)) if from != a => format!("    {a} -> {b} ({from} -> {to})"),
                _ => format!("    {a} -> {b}"),
            }
        })
        .collect();
    format!(
        "cycle between {}:\n{}",
        component.join(", "),
        steps.join("\n")
    )
}

/// The arrows between the nodes that `node_of` makes of files.
fn collapse(file_arrows: &Arrows, node_of: fn(&str) -> String) -> Arrows {
    let mut arrows = Arrows::new();
    for (from, tos) in file_arrows {
        for to in tos.iter().filter(|to| node_of(to) != node_of(from)) {
            arrows.entry(node_of(from)).or_default().insert(node_of(to));
        }
    }
    arrows
}

/// The shortest way from `start` back to itself inside `component`
/// (breadth first), as the nodes passed, `start` at both ends.
fn shortest_cycle(start: &str, component: &[String], arrows: &Arrows) -> Vec<String> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_string()]);
    while let Some(node) = queue.pop_front() {
        for next in arrows.get(&node).into_iter().flatten() {
            if !component.contains(next) || came_from.contains_key(next) {
                continue;
            }
            came_from.insert(next.clone(), node.clone());
            if next == start {
                let mut path = vec![start.to_string()];
                let mut at = came_from[start].clone();
                while at != start {
                    path.push(at.clone());
                    at = came_from[&at].clone();
                }
                path.push(start.to_string());
                path.reverse();
                return path;
            }
            queue.push_back(next.clone());
        }
    }
    component.to_vec()
}

// ---------------------------------------------------------------- the walls

/// The stages after checking, which must not reach back into the language.
const AFTER_CHECKING: [&str; 5] = [
    "src/engine/",
    "src/policy/",
    "src/hooks/",
    "src/server/",
    "src/runtime/",
];

/// Files of those stages still allowed to name `crate::syntax`: none.
const SYNTAX_EXCEPTIONS: [&str; 0] = [];

fn reaches_back_into_syntax(rel: &str, m: &Mention) -> bool {
    AFTER_CHECKING.iter().any(|dir| rel.starts_with(dir))
        && !SYNTAX_EXCEPTIONS.contains(&rel)
        && m.names_module(&["syntax"])
}

fn names_rhai_outside_hooks(rel: &str, m: &Mention) -> bool {
    let first = m.written.iter().find(|s| !s.is_empty());
    !rel.starts_with("src/hooks/") && m.resolved.is_none() && first.is_some_and(|s| s == "rhai")
}

fn names_cli_from_library(rel: &str, m: &Mention) -> bool {
    !rel.starts_with("src/cli/") && m.names_module(&["cli"])
}

/// Fails listing every mention that climbs `wall`, one per line.
fn assert_holds(krate: &Crate, what: &str, wall: fn(&str, &Mention) -> bool) {
    let offences: Vec<String> = krate
        .all_mentions()
        .into_iter()
        .filter(|(f, m)| wall(&f.rel, m))
        .map(|(f, m)| m.describe(f))
        .collect();
    assert!(offences.is_empty(), "{what}:\n  {}", offences.join("\n  "));
}

#[test]
fn no_import_cycles_between_files() {
    let arrows = load_crate().arrows(OwnChildren::LeftOut);
    let found: Vec<String> = cycles(&arrows)
        .iter()
        .map(|c| describe_cycle(c, &arrows, str::to_string))
        .collect();
    assert!(
        found.is_empty(),
        "files import each other:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_import_cycles_between_stages() {
    let arrows = load_crate().arrows(OwnChildren::Counted);
    let found: Vec<String> = cycles(&collapse(&arrows, stage_of))
        .iter()
        .map(|c| describe_cycle(c, &arrows, stage_of))
        .collect();
    assert!(
        found.is_empty(),
        "stages import each other:\n{}",
        found.join("\n")
    );
}

#[test]
fn stages_import_only_below() {
    let what = "a stage after checking names crate::syntax";
    assert_holds(&load_crate(), what, reaches_back_into_syntax);
}

#[test]
fn rhai_stays_in_hooks() {
    assert_holds(
        &load_crate(),
        "rhai named outside src/hooks/",
        names_rhai_outside_hooks,
    );
}

#[test]
fn library_never_imports_cli() {
    assert_holds(
        &load_crate(),
        "the library names crate::cli",
        names_cli_from_library,
    );
}

/// The command line is compiled into the binary, not the library, so it
/// can use only what the library exports.
#[test]
fn command_line_is_the_binarys() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |rel: &str| fs::read_to_string(root.join(rel)).expect("source is readable");
    let declares_cli = |text: &str| {
        blank_comments_and_literals(text).lines().any(|l| {
            l.trim_start()
                .trim_start_matches("pub ")
                .starts_with("mod cli;")
        })
    };
    assert!(
        !declares_cli(&read("src/lib.rs")),
        "src/lib.rs declares cli"
    );
    assert!(
        declares_cli(&read("src/main.rs")),
        "src/main.rs does not declare cli"
    );
    let mut pending = vec![root.join("src/cli")];
    let mut climbing = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("src/cli is readable") {
            let path = entry.expect("src/cli is readable").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let code = blank_comments_and_literals(&fs::read_to_string(&path).unwrap());
                for (n, line) in code.lines().enumerate() {
                    let mut rest = line;
                    while let Some(at) = rest.find("crate::") {
                        let word_before = rest[..at]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_');
                        if !word_before && !rest[at..].starts_with("crate::cli") {
                            climbing.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                        rest = &rest[at + "crate::".len()..];
                    }
                }
            }
        }
    }
    assert!(
        climbing.is_empty(),
        "the command line names the crate, not the library:\n{}",
        climbing.join("\n")
    );
}

#[test]
fn walls_are_checked_on_real_code() {
    let krate = load_crate();
    let counted = krate.arrows(OwnChildren::Counted);
    let left_out = krate.arrows(OwnChildren::LeftOut);
    let arrow = |arrows: &Arrows, from: &str, to: &str| {
        arrows.get(from).is_some_and(|tos| tos.contains(to))
    };
    assert!(arrow(&left_out, "src/engine/mod.rs", "src/policy/mod.rs"));
    // `use super::decision::{` spans three lines there.
    assert!(arrow(
        &left_out,
        "src/engine/inbound.rs",
        "src/engine/decision.rs"
    ));
    // `use super::Cx`.
    assert!(arrow(
        &left_out,
        "src/engine/actions.rs",
        "src/engine/mod.rs"
    ));
    // The parent calling `actions::reply` is composition, left out of cycles.
    assert!(arrow(
        &counted,
        "src/engine/mod.rs",
        "src/engine/actions.rs"
    ));
    assert!(!arrow(
        &left_out,
        "src/engine/mod.rs",
        "src/engine/actions.rs"
    ));
    // A test module's `use super::*` is the file itself, not its parent.
    assert!(!arrow(&counted, "src/policy/text.rs", "src/policy/mod.rs"));
    let hooks = krate.mentions(krate.file("src/hooks/mod.rs"));
    assert!(hooks
        .iter()
        .any(|m| names_rhai_outside_hooks("src/x.rs", m)));
}

/// A file the parser must read right: comments and literals that name
/// paths, groups over lines, aliases, globs, turbofish, a test module.
const SAMPLE: &str = r###"
//! Doc comment naming crate::syntax::ast, which is not code.
use super::{
    decision::{Agents, Change},
    Cx,
};
pub(crate) use crate::engine::{self as engine, state::State};
use rhai::Dynamic;
/* crate::cli::run in a /* nested */ comment */
fn f() -> char {
    let s = "crate::cli::run in a string";
    let r = r#"crate::cli::"raw""#;
    let p = crate::policy::hours::Schedule::always();
    let v: Vec<u8> = Vec::<u8>::new().iter().copied().collect::<Vec<_>>();
    let d: crate::syntax::ast::Days = timers::advance();
    '"'
}
#[cfg(test)]
mod tests {
    use super::*;
    use super::super::Engine;
}
"###;

#[test]
fn the_parser_reads_a_sample() {
    let krate = load_crate();
    let modules = krate.modules();
    let here = module_path("src/engine/actions.rs");
    let found = mentions(&blank_comments_and_literals(SAMPLE), &here, &modules);
    let target = |m: &Mention| match &m.resolved {
        Some(path) => krate.files[&deepest_file(path, &modules)].rel.clone(),
        None => "outside".to_string(),
    };
    let read: Vec<String> = found
        .iter()
        .map(|m| format!("{} {} -> {}", m.line, m.written(), target(m)))
        .collect();
    let expected = [
        "3 super::decision::Agents -> src/engine/decision.rs",
        "3 super::decision::Change -> src/engine/decision.rs",
        "3 super::Cx -> src/engine/mod.rs",
        "7 crate::engine -> src/engine/mod.rs",
        "7 crate::engine::state::State -> src/engine/state.rs",
        "8 rhai::Dynamic -> outside",
        "13 crate::policy::hours::Schedule::always -> src/policy/hours.rs",
        "15 crate::syntax::ast::Days -> src/syntax/ast.rs",
        // No child of `engine::actions`: another crate, as far as text can tell.
        "15 timers::advance -> outside",
        // `super` in a test module is the file itself.
        "20 super -> src/engine/actions.rs",
        "21 super::super::Engine -> src/engine/mod.rs",
    ];
    assert_eq!(read, expected);

    let climbing = |wall: fn(&str, &Mention) -> bool| -> Vec<String> {
        let rel = "src/engine/actions.rs";
        found
            .iter()
            .filter(|m| wall(rel, m))
            .map(Mention::written)
            .collect()
    };
    assert_eq!(
        climbing(reaches_back_into_syntax),
        ["crate::syntax::ast::Days"]
    );
    assert_eq!(climbing(names_rhai_outside_hooks), ["rhai::Dynamic"]);
    assert!(climbing(names_cli_from_library).is_empty());
}

#[test]
fn only_a_module_naming_its_own_child_is_composition() {
    let path = |p: &str| -> ModPath {
        p.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    assert!(is_own_child(&path("engine"), &path("engine::actions")));
    assert!(is_own_child(&path(""), &path("policy")));
    assert!(!is_own_child(&path(""), &path("syntax::diagnostic")));
    assert!(!is_own_child(&path("engine::actions"), &path("engine")));
    assert!(!is_own_child(
        &path("engine::actions"),
        &path("engine::state")
    ));
}
