//! What hooks return, read strictly: anything else is malformed, and the
//! decision falls back to the policy.

use super::HookError;
use rhai::Dynamic;
use smol_str::SmolStr;

/// Who a routing or escalation hook gives the conversation to.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub assign: Assign,
    /// Replace the conversation's agents, or add to them (escalation).
    pub mode: Mode,
    pub tags: Vec<SmolStr>,
    pub priority: Option<i64>,
    /// Run the escalation hook if nobody has replied by then (seconds).
    pub escalate_in: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Assign {
    /// Leave the audience as the policy says (tags, priority or a timer may
    /// still be set).
    Policy,
    Agents(Vec<SmolStr>),
    Team(SmolStr),
    /// One member, picked with the conversation's seed.
    Random,
    /// The member with the fewest open conversations here.
    LeastLoaded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Replace,
    Add,
}

/// An autoresponder hook's message.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoReply {
    pub text: String,
    pub bot: Option<SmolStr>,
}

/// A value's kind, in words a policy author knows.
fn describe(value: &Dynamic) -> String {
    if let Ok(n) = value.as_int() {
        return format!("the number {n}");
    }
    if value.is_string() {
        return format!("the string {value:?}");
    }
    match value.type_name() {
        "bool" => "a true/false value".into(),
        "array" => "an array".into(),
        "f64" | "f32" => "a decimal number".into(),
        other => format!("a value of type {other}"),
    }
}

fn malformed(why: impl Into<String>) -> HookError {
    HookError::Malformed(why.into())
}

fn string(v: &Dynamic, what: &str) -> Result<String, HookError> {
    v.clone()
        .into_string()
        .map_err(|t| malformed(format!("{what} must be a string, not {t}")))
}

fn strings(v: &Dynamic, what: &str) -> Result<Vec<SmolStr>, HookError> {
    let items = v
        .clone()
        .into_array()
        .map_err(|t| malformed(format!("{what} must be an array of strings, not {t}")))?;
    items
        .iter()
        .map(|i| string(i, what).map(SmolStr::from))
        .collect()
}

/// `()` (leave it to the policy) or a map: `#{assign: "agent", agent: "ana"}`,
/// `#{assign: "agents", agents: [...]}`, `#{assign: "team", team: "..."}`,
/// `#{assign: "random"}`, `#{assign: "least_loaded"}`, `#{assign: "policy"}`,
/// with optional `mode` ("replace" or "add"), `tags`, `priority` and
/// `escalate_in` ("10m", or minutes as a number).
pub fn assignment(value: Dynamic) -> Result<Option<Assignment>, HookError> {
    if value.is_unit() {
        return Ok(None);
    }
    let type_name = describe(&value);
    let map = value.try_cast::<rhai::Map>().ok_or_else(|| {
        malformed(format!(
            "a routing hook returns () or a map such as #{{assign: \"agent\", agent: \"ana\"}}, not {type_name}"
        ))
    })?;
    let mut out = Assignment {
        assign: Assign::Policy,
        mode: Mode::Replace,
        tags: Vec::new(),
        priority: None,
        escalate_in: None,
    };
    let kind = match map.get("assign") {
        Some(v) => string(v, "assign")?,
        None => "policy".into(),
    };
    for (key, v) in &map {
        match key.as_str() {
            "assign" => {}
            "agent" if kind == "agent" => {
                out.assign = Assign::Agents(vec![string(v, "agent")?.into()])
            }
            "agents" if kind == "agents" => out.assign = Assign::Agents(strings(v, "agents")?),
            "team" if kind == "team" => out.assign = Assign::Team(string(v, "team")?.into()),
            "mode" => {
                out.mode = match string(v, "mode")?.as_str() {
                    "replace" => Mode::Replace,
                    "add" => Mode::Add,
                    other => {
                        return Err(malformed(format!(
                            "mode is \"replace\" or \"add\", not {other:?}"
                        )))
                    }
                }
            }
            "tags" => out.tags = strings(v, "tags")?,
            "priority" => {
                out.priority = Some(
                    v.as_int()
                        .map_err(|t| malformed(format!("priority must be a number, not {t}")))?,
                )
            }
            "escalate_in" => out.escalate_in = Some(seconds(v)?),
            other => return Err(malformed(format!("unexpected key `{other}`"))),
        }
    }
    match (kind.as_str(), &out.assign) {
        ("policy", _) => {}
        ("random", _) => out.assign = Assign::Random,
        ("least_loaded", _) => out.assign = Assign::LeastLoaded,
        ("agent" | "agents" | "team", Assign::Policy) => {
            return Err(malformed(format!(
                "assign: \"{kind}\" needs the key `{kind}`"
            )));
        }
        ("agent" | "agents" | "team", _) => {}
        (other, _) => {
            return Err(malformed(format!(
                "assign is one of agent, agents, team, random, least_loaded, policy; not {other:?}"
            )))
        }
    }
    Ok(Some(out))
}

fn seconds(v: &Dynamic) -> Result<u64, HookError> {
    if let Ok(minutes) = v.as_int() {
        return u64::try_from(minutes)
            .ok()
            .filter(|m| (1..=7 * 24 * 60).contains(m))
            .map(|m| m * 60)
            .ok_or_else(|| malformed("escalate_in is 1 to 10080 minutes"));
    }
    let text = string(v, "escalate_in")?;
    crate::vocab::parse_duration(&text)
        .filter(|s| (60..=7 * 24 * 3600).contains(s))
        .ok_or_else(|| {
            malformed(format!(
                "escalate_in is a duration from 1m to 7d, such as \"10m\"; not {text:?}"
            ))
        })
}

/// `()` or "can", "cannot", "must".
pub fn claim_mode(value: Dynamic) -> Result<Option<crate::vocab::ClaimMode>, HookError> {
    use crate::vocab::ClaimMode;
    if value.is_unit() {
        return Ok(None);
    }
    match string(&value, "a claim hook's answer")?.as_str() {
        "can" => Ok(Some(ClaimMode::Can)),
        "cannot" => Ok(Some(ClaimMode::Cannot)),
        "must" => Ok(Some(ClaimMode::Must)),
        other => Err(malformed(format!(
            "a claim hook returns \"can\", \"cannot\", \"must\" or (); not {other:?}"
        ))),
    }
}

/// `()`, the text, or `#{text: "...", bot: "..."}`.
pub fn auto_reply(value: Dynamic) -> Result<Option<AutoReply>, HookError> {
    if value.is_unit() {
        return Ok(None);
    }
    if value.is_string() {
        let text = string(&value, "text")?;
        if text.trim().is_empty() {
            return Err(malformed("the reply's text is empty"));
        }
        return Ok(Some(AutoReply { text, bot: None }));
    }
    let map = value.try_cast::<rhai::Map>().ok_or_else(|| {
        malformed("an autoresponder hook returns (), a string, or #{text: \"...\", bot: \"...\"}")
    })?;
    let mut reply = AutoReply {
        text: String::new(),
        bot: None,
    };
    for (key, v) in &map {
        match key.as_str() {
            "text" => reply.text = string(v, "text")?,
            "bot" => reply.bot = Some(string(v, "bot")?.into()),
            other => return Err(malformed(format!("unexpected key `{other}`"))),
        }
    }
    if reply.text.trim().is_empty() {
        return Err(malformed("the reply's text is empty"));
    }
    Ok(Some(reply))
}
