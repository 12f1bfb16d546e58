//! The one way in: a policy's text, and the files it names read through
//! [`Sources`], parsed, checked and compiled into a [`Policy`].
//!
//! Every face compiles here: `check`, `simulate`, `test`, the service's
//! revisions (from the files kept in memory and in the store) and anything
//! later that compiles unsaved text.
//!
//! ```text
//! text ─syntax::parse─▶ ast ─check (reads through Sources)─▶ Policy
//! ```

use crate::check;
use crate::diag::Diagnostics;
use crate::policy::Policy;
use crate::sources::{is_beside, Folder, Sources};
use crate::syntax;

/// Compiles a policy's text; the files it names are looked up in the
/// current folder. On failure, every diagnostic (errors and warnings); on
/// success, the policy, whose `warnings` holds any warnings.
pub fn compile(source: &str) -> Result<Policy, Diagnostics> {
    compile_sources(source, &Folder::new("."))
}

/// Compiles a policy's text, reading the hook script and tables it names
/// through `sources`.
///
/// ```
/// use std::collections::BTreeMap;
/// let policy = "tenant a { zone UTC; country US }\n\
///               number +14155550100\nagent ana\n\
///               hooks \"hooks.rhai\"\n\
///               inbox main shared { numbers +14155550100; agents ana; hook routing route }";
/// let files = BTreeMap::from([(
///     "hooks.rhai".to_string(),
///     "fn route(ctx) { #{ assign: [\"ana\"] } }".to_string(),
/// )]);
/// assert!(switchboard::compile_sources(policy, &files).is_ok());
/// let missing = switchboard::compile_sources(policy, &BTreeMap::new()).unwrap_err();
/// assert!(missing.render("a.policy", policy).contains("hooks.rhai"));
/// ```
pub fn compile_sources(source: &str, sources: &dyn Sources) -> Result<Policy, Diagnostics> {
    let (ast, diagnostics) = syntax::parse(source);
    compile_parsed(&ast, diagnostics, sources)
}

/// Compiles a policy already parsed (its AST and the parse's
/// diagnostics): for a caller that keeps the AST too, as the editor server
/// does, so the text is parsed once.
pub(crate) fn compile_parsed(
    ast: &syntax::ast::Policy,
    mut diagnostics: Diagnostics,
    sources: &dyn Sources,
) -> Result<Policy, Diagnostics> {
    if diagnostics.items.iter().any(|d| d.code.is_fatal()) {
        return Err(diagnostics);
    }
    let (policy, checked) = check::check(ast, sources);
    // A statement that could not be read is missing from the AST, which
    // would make warnings about it (hours never open, a team unused) wrong.
    let read_cleanly = !diagnostics.has_errors();
    diagnostics.extend(checked.into_iter().filter(|d| read_cleanly || d.is_error()));
    diagnostics.sort();
    diagnostics.limit(crate::diag::MAX_DIAGNOSTICS);
    match policy {
        Some(mut policy) if !diagnostics.has_errors() => {
            policy.warnings = diagnostics;
            Ok(policy)
        }
        _ => Err(diagnostics),
    }
}

/// The files a policy's text names (its hook script and tables) that stay
/// inside its folder: what a revision must keep beside the policy.
pub fn named_files(source: &str) -> Vec<String> {
    let (ast, _) = syntax::parse(source);
    ast.hooks
        .iter()
        .map(|h| h.path.value.clone())
        .chain(ast.tables.iter().map(|t| t.path.value.clone()))
        .filter(|name| is_beside(name))
        .collect()
}

/// Where a policy writes what, by line (one-based): each inbox's
/// declaration and settings, each agent's and team's deflection, the
/// global deflection, the compliance block and its revocation phrases.
/// Tools that point at the lines of a policy read it (`test --coverage`
/// lists the lines no scenario exercises).
#[derive(Clone, Debug, Default)]
pub struct Lines {
    /// Inbox name → the line of its declaration, and each setting's line
    /// by the setting's name (`hours`, `lock`, `hook routing`, ...).
    pub inboxes:
        std::collections::HashMap<String, (usize, std::collections::HashMap<String, usize>)>,
    pub agent_deflections: std::collections::HashMap<String, usize>,
    pub team_deflections: std::collections::HashMap<String, usize>,
    /// The global `deflection` declaration.
    pub deflection: Option<usize>,
    pub tenant: Option<usize>,
    pub compliance: Option<usize>,
    /// Revocation phrase → its line.
    pub revocations: std::collections::HashMap<String, usize>,
}

impl Lines {
    /// The line of an inbox's setting, else of the inbox itself.
    pub fn of_inbox(&self, inbox: &str, setting: &str) -> Option<usize> {
        let (declared, settings) = self.inboxes.get(inbox)?;
        Some(settings.get(setting).copied().unwrap_or(*declared))
    }
}

/// The lines of a policy's text (as much of it as parses).
pub fn lines(source: &str) -> Lines {
    let (ast, _) = syntax::parse(source);
    let index = crate::diag::LineIndex::new(source);
    let line = |span: crate::diag::Span| index.position(span.start).line;
    let mut lines = Lines {
        deflection: ast.deflection.as_ref().map(|d| line(d.span)),
        tenant: ast.tenant.as_ref().map(|t| line(t.name.span)),
        compliance: ast.compliance.as_ref().map(|c| line(c.span)),
        ..Lines::default()
    };
    if let Some(c) = &ast.compliance {
        for (_, phrases) in &c.revocations {
            for phrase in phrases {
                lines
                    .revocations
                    .insert(phrase.value.clone(), line(phrase.span));
            }
        }
    }
    for agent in &ast.agents {
        if let Some(d) = &agent.deflection {
            lines
                .agent_deflections
                .insert(agent.name.value.clone(), line(d.span));
        }
    }
    for team in &ast.teams {
        if let Some(d) = &team.deflection {
            lines
                .team_deflections
                .insert(team.name.value.clone(), line(d.span));
        }
    }
    for inbox in &ast.inboxes {
        let mut settings = std::collections::HashMap::new();
        let mut set = |name: &str, span: Option<crate::diag::Span>| {
            if let Some(span) = span {
                settings.insert(name.to_string(), line(span));
            }
        };
        set("hours", inbox.hours.as_ref().map(|h| h.span));
        set("after_hours", inbox.after_hours.as_ref().map(|m| m.span()));
        set("claim", inbox.claim.as_ref().map(|c| c.span));
        set("lock", inbox.lock.as_ref().map(|l| l.span));
        set(
            "autoresponder",
            inbox.autoresponder.as_ref().map(|m| m.span()),
        );
        set(
            "initiation_keyword",
            inbox.initiation_keywords.first().map(|k| k.span),
        );
        set(
            "initiation_needed",
            inbox.initiation_needed.as_ref().map(|m| m.span()),
        );
        set(
            "termination_keyword",
            inbox.termination_keywords.first().map(|k| k.span),
        );
        set("no_agents", inbox.no_agents.as_ref().map(|m| m.span()));
        set(
            "session_timeout",
            inbox.session_timeout.as_ref().map(|t| t.span),
        );
        for hook in &inbox.hooks {
            set(
                &format!("hook {}", hook.point.value.as_str()),
                Some(hook.point.span),
            );
        }
        lines
            .inboxes
            .insert(inbox.name.value.clone(), (line(inbox.name.span), settings));
    }
    lines
}
