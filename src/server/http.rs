//! The HTTP API, under /v1/tenants/{tenant}/. Every request but /healthz,
//! /readyz, /metrics and Twilio's webhook carries `Authorization: Bearer TOKEN`; a
//! token only opens its own tenant (any other tenant is 404, as if it did
//! not exist). The webhook is signed with the tenant's Twilio auth token
//! instead. Every error is JSON: `{"error": {"code": "...", "message":
//! "..."}}` with a 4xx or 5xx. docs/openapi.yaml describes it all.

use super::metrics::{self, Counters};
use super::{twilio, Server};
use crate::engine::Event;
use crate::overview::Overview;
use crate::runtime::{reload, CandidateError, DecideError, Decided, Stats, Tenant};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State as Shared};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

type App = Arc<Server>;

/// The API; `/metrics` too unless it has an address of its own.
pub fn router(server: Arc<Server>) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/console", get(super::console::page))
        .route("/console/console.js", get(super::console::script))
        .route("/console/console.css", get(super::console::style));
    let router = match server.config.metrics_listen {
        Some(_) => router,
        None => router.route("/metrics", get(metrics)),
    };
    router
        .route("/v1/tenants/{tenant}/events", post(post_event))
        .route("/v1/tenants/{tenant}/events/dry-run", post(dry_run))
        .route("/v1/tenants/{tenant}/conversations", get(conversations))
        .route("/v1/tenants/{tenant}/conversations/{id}", get(conversation))
        .route(
            "/v1/tenants/{tenant}/agents/{agent}/conversations",
            get(agent_view),
        )
        .route(
            "/v1/tenants/{tenant}/inboxes/{inbox}/counters",
            get(counters),
        )
        .route("/v1/tenants/{tenant}/policy", get(policy))
        .route("/v1/tenants/{tenant}/policy/reload", post(reload_policy))
        .route("/v1/tenants/{tenant}/policy/diff", post(diff_policy))
        .route(
            "/v1/tenants/{tenant}/policy/dry-run",
            post(dry_run_candidate),
        )
        .route("/v1/tenants/{tenant}/policy/simulate", post(simulate))
        .route("/v1/tenants/{tenant}/scenarios", get(scenarios))
        .route("/v1/tenants/{tenant}/policy/overview", get(policy_overview))
        .route("/v1/tenants/{tenant}/twilio/messages", post(twilio_message))
        .route("/v1/tenants/{tenant}/stream", get(stream))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no such endpoint",
            )
            .into_response()
        })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "this endpoint does not take that method",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            to_the_owner,
        ))
        .layer(axum::middleware::from_fn(in_request_span))
        .with_state(server)
}

/// Runs a request's handling in a `request` span (method and path), so
/// whatever the service logs while answering it says which request it was.
async fn in_request_span(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path()
    );
    next.run(request).instrument(span).await
}

/// Forwards a request for a tenant another node decides to that node (a
/// token is checked first, so only a tenant's own callers are forwarded;
/// the Twilio webhook's signature is checked by the owner).
async fn to_the_owner(
    Shared(app): Shared<App>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let Some(rest) = path.strip_prefix("/v1/tenants/") else {
        return next.run(request).await;
    };
    let (name, route) = rest.split_once('/').unwrap_or((rest, ""));
    let standby = app.runtime.tenant(name).is_some_and(|t| t.is_standby());
    if !standby {
        return next.run(request).await;
    }
    let name = name.to_string();
    if route != "twilio/messages" {
        if let Err(refused) = tenant(&app, request.headers(), &name) {
            return refused.into_response();
        }
    }
    match super::forward::forward(&app, &name, request).await {
        Ok(response) => response,
        Err(why) => ApiError {
            retry_after: Some(1),
            ..error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TenantMoving,
                why,
            )
        }
        .into_response(),
    }
}

/// `/metrics` alone, for `--metrics-listen`.
pub fn metrics_router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no such endpoint",
            )
            .into_response()
        })
        .with_state(server)
}

/// The code of an error answer, stable across releases (docs/API.md lists
/// them): clients branch on it, never on the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    NotFound,
    MethodNotAllowed,
    Unauthorized,
    UnknownTenant,
    BadBody,
    BadEvent,
    BadTime,
    Internal,
    NotRead,
    UnknownConversation,
    UnknownAgent,
    UnknownInbox,
    BadSignature,
    BadForm,
    Busy,
    NotStored,
    TenantFailed,
    ShuttingDown,
    PolicyDoesNotCheck,
    TenantMoving,
    BadResume,
}

impl ErrorCode {
    /// Every code, for the test that keeps docs/API.md in step.
    #[cfg(test)]
    const ALL: [ErrorCode; 21] = [
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Unauthorized,
        ErrorCode::UnknownTenant,
        ErrorCode::BadBody,
        ErrorCode::BadEvent,
        ErrorCode::BadTime,
        ErrorCode::Internal,
        ErrorCode::NotRead,
        ErrorCode::UnknownConversation,
        ErrorCode::UnknownAgent,
        ErrorCode::UnknownInbox,
        ErrorCode::BadSignature,
        ErrorCode::BadForm,
        ErrorCode::Busy,
        ErrorCode::NotStored,
        ErrorCode::TenantFailed,
        ErrorCode::ShuttingDown,
        ErrorCode::PolicyDoesNotCheck,
        ErrorCode::TenantMoving,
        ErrorCode::BadResume,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::UnknownTenant => "unknown_tenant",
            ErrorCode::BadBody => "bad_body",
            ErrorCode::BadEvent => "bad_event",
            ErrorCode::BadTime => "bad_time",
            ErrorCode::Internal => "internal",
            ErrorCode::NotRead => "not_read",
            ErrorCode::UnknownConversation => "unknown_conversation",
            ErrorCode::UnknownAgent => "unknown_agent",
            ErrorCode::UnknownInbox => "unknown_inbox",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::BadForm => "bad_form",
            ErrorCode::Busy => "busy",
            ErrorCode::NotStored => "not_stored",
            ErrorCode::TenantFailed => "tenant_failed",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::PolicyDoesNotCheck => "policy_does_not_check",
            ErrorCode::TenantMoving => "tenant_moving",
            ErrorCode::BadResume => "bad_resume",
        }
    }
}

/// A request's failure: its status, a stable code and a message, and how
/// soon to try again (`Retry-After`, in seconds) where that helps.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    retry_after: Option<u32>,
}

fn error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
        retry_after: None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code.as_str(), "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl From<DecideError> for ApiError {
    fn from(e: DecideError) -> ApiError {
        let (status, code, retry) = match &e {
            DecideError::Busy(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::Busy, Some(1)),
            DecideError::NotStored(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::NotStored,
                Some(1),
            ),
            DecideError::Stopped { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::NotStored,
                Some(5),
            ),
            DecideError::Failed { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TenantFailed,
                None,
            ),
            DecideError::ShuttingDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ShuttingDown,
                Some(1),
            ),
            DecideError::Elsewhere(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TenantMoving,
                Some(1),
            ),
            DecideError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, None)
            }
        };
        ApiError {
            retry_after: retry,
            ..error(status, code, e.to_string())
        }
    }
}

type Answer = Result<Response, ApiError>;

/// The tenant a request may act on, or the error response.
fn tenant(app: &App, headers: &HeaderMap, name: &str) -> Result<Arc<Tenant>, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(token) = token else {
        Counters::count(&app.counters.rejected_requests);
        return Err(error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "send `Authorization: Bearer TOKEN`",
        ));
    };
    let Some(owner) = app.config.tokens.tenant_of(token) else {
        Counters::count(&app.counters.rejected_requests);
        return Err(error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "this token is not valid",
        ));
    };
    match app.runtime.tenant(name) {
        Some(t) if owner == name => Ok(t),
        // Another tenant's name, or none: the same answer, so a token
        // cannot learn which tenants exist.
        _ => {
            Counters::count(&app.counters.rejected_requests);
            Err(error(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownTenant,
                format!("no tenant {name} for this token"),
            ))
        }
    }
}

/// A JSON request body of type `T`; `what` names it in the 400
/// `bad_body` answer when it does not read.
fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<T, ApiError> {
    let body = read_body(body)?;
    serde_json::from_slice(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadBody,
            format!("{what}: {e}"),
        )
    })
}

fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the body is larger than {MAX_BODY} bytes")
        } else {
            e.body_text()
        };
        error(status, ErrorCode::BadBody, message)
    })
}

/// Reads an event; one without `at` happens now, by the service's clock.
fn parse_event(app: &App, body: Result<Bytes, BytesRejection>) -> Result<Event, ApiError> {
    let body = read_body(body)?;
    let value: Value = serde_json::from_slice(&body).map_err(bad_event)?;
    event_of(app, value)
}

fn bad_event(e: serde_json::Error) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        ErrorCode::BadEvent,
        format!("not a valid event: {e}"),
    )
}

/// An event from its JSON; one without `at` happens now.
fn event_of(app: &App, mut value: Value) -> Result<Event, ApiError> {
    let bad = bad_event;
    if let Some(fields) = value.as_object_mut() {
        if !fields.contains_key("at") {
            let now = app
                .runtime
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            fields.insert("at".into(), Value::String(now));
        }
    }
    let event: Event = serde_json::from_value(value).map_err(bad)?;
    event
        .check_time()
        .map_err(|e| error(StatusCode::BAD_REQUEST, ErrorCode::BadTime, e.to_string()))?;
    Ok(event)
}

/// Runs work that may block (a hook, a compile) on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            format!("{what} failed"),
        )
    })
}

/// The decision as a JSON value, marked if it was redelivered.
fn value_of(decided: &Decided) -> Value {
    let mut value: Value = serde_json::from_str(&decided.decision).unwrap_or_default();
    if decided.redelivered {
        value["redelivered"] = Value::Bool(true);
    }
    value
}

/// Hands the event to the tenant's decider and awaits its durable
/// decision; a full mailbox answers 429 at once.
async fn decide(app: &App, tenant: &Tenant, event: Event) -> Result<Decided, ApiError> {
    let answer = tenant.decide(event).inspect_err(|e| {
        if matches!(e, DecideError::Busy(_)) {
            Stats::count(&app.runtime.stats().busy);
        }
    })?;
    Ok(answer.await.unwrap_or(Err(DecideError::ShuttingDown))?)
}

/// Alive: answers while the process serves, with every tenant's status.
async fn healthz(Shared(app): Shared<App>) -> Json<Value> {
    let health = app.runtime.health();
    Json(
        json!({"status": "ok", "ready": health.ready, "tenants": health.tenants, "unserved": health.unserved}),
    )
}

/// Ready: 200 once every tenant is recovered and deciding (serving, or
/// degraded on a stored revision), else 503; the body says which is not.
async fn readyz(Shared(app): Shared<App>) -> Response {
    let health = app.runtime.health();
    let status = if health.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if health.ready { "ready" } else { "not_ready" },
        "tenants": health.tenants,
        "unserved": health.unserved,
    });
    (status, Json(body)).into_response()
}

async fn metrics(Shared(app): Shared<App>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        metrics::render(&app),
    )
        .into_response()
}

async fn post_event(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let event = parse_event(&app, body)?;
    let decided = decide(&app, &tenant, event).await?;
    if decided.summary.outcome == "rejected" {
        // Stored, so a redelivery answers the same, but nothing changed.
        let code = decided.summary.denial.as_deref().unwrap_or("rejected");
        let body = json!({
            "error": {
                "code": code,
                "message": format!("the event was rejected ({code}); the decision's `denial` has the facts"),
            },
            "decision": value_of(&decided),
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    if decided.redelivered {
        return Ok(Json(value_of(&decided)).into_response());
    }
    let json = [("content-type", "application/json")];
    Ok((json, Bytes::copy_from_slice(decided.decision.as_bytes())).into_response())
}

/// Decides against the published state with the read-only decision:
/// nothing is stored, changed or copied.
async fn dry_run(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let event = parse_event(&app, body)?;
    let decision = blocking("deciding", move || tenant.dry_run(&event)).await?;
    Ok(Json(decision).into_response())
}

/// The live stream (`super::stream`): the tenant, the filter and where to
/// resume, checked here like every request's.
async fn stream(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let filter = super::stream::Filter {
        agent: query.get("agent").cloned(),
        inbox: query.get("inbox").cloned(),
    };
    {
        let revision = tenant.revision();
        let policy = revision.engine.policy();
        if let Some(a) = filter
            .agent
            .as_ref()
            .filter(|a| policy.agent_id(a).is_none())
        {
            return Err(error(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownAgent,
                format!("no agent {a}"),
            ));
        }
        if let Some(i) = filter
            .inbox
            .as_ref()
            .filter(|i| policy.inbox_id(i).is_none())
        {
            return Err(error(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownInbox,
                format!("no inbox {i}"),
            ));
        }
    }
    let after = resume_after(&headers, &query)?;
    let closing = app.closing.subscribe();
    Ok(super::stream::respond(tenant, filter, after, closing))
}

/// Where a client resumes: `Last-Event-ID`, else `?after=`.
fn resume_after(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Option<u64>, ApiError> {
    let given = match headers.get("last-event-id") {
        Some(value) => Some(value.to_str().unwrap_or("?").trim().to_string()),
        None => query.get("after").cloned(),
    };
    given
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.parse::<u64>().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadResume,
                    format!("`{g}` is not an event's sequence number (Last-Event-ID, or `after`)"),
                )
            })
        })
        .transpose()
}

async fn conversation(
    Shared(app): Shared<App>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    // An archived conversation is read from the store: off the async workers.
    let wanted = id.clone();
    let found = blocking("reading the conversation", move || {
        tenant.conversation(&wanted)
    })
    .await?
    .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::NotRead, e))?;
    let conversation = found.ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownConversation,
            format!("no conversation {id}"),
        )
    })?;
    Ok(Json(conversation).into_response())
}

async fn agent_view(
    Shared(app): Shared<App>,
    Path((name, agent)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let at = match query.get("at") {
        Some(at) => {
            let at = at.parse().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadTime,
                    "`at` is an RFC 3339 time",
                )
            })?;
            crate::engine::BadTime::check(at)
                .map_err(|e| error(StatusCode::BAD_REQUEST, ErrorCode::BadTime, e.to_string()))?;
            Some(at)
        }
        None => None,
    };
    let inbox = query.get("inbox").map(String::as_str);
    let (revision, view) = (tenant.revision(), tenant.view());
    let state = &view.state;
    {
        let policy = revision.engine.policy();
        if policy.agent_id(&agent).is_none() {
            return Err(error(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownAgent,
                format!("no agent {agent}"),
            ));
        }
        if let Some(i) = inbox.filter(|i| policy.inbox_id(i).is_none()) {
            return Err(error(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownInbox,
                format!("no inbox {i}"),
            ));
        }
        let now = at.or(state.clock()).unwrap_or_default();
        let rows = revision
            .engine
            .visible_conversations(state, &agent, inbox, now);
        Ok(Json(json!({"agent": agent, "conversations": rows})).into_response())
    }
}

async fn counters(
    Shared(app): Shared<App>,
    Path((name, inbox)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let (revision, view) = (tenant.revision(), tenant.view());
    let known = revision.engine.policy().inbox_id(&inbox).is_some();
    let found = known.then(|| view.state.counters(&inbox).cloned().unwrap_or_default());
    let c = found.ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownInbox,
            format!("no inbox {inbox}"),
        )
    })?;
    Ok(Json(json!({
        "inbox": inbox,
        "conversations": c.conversations,
        "inbound": c.inbound,
        "outbound": c.outbound,
        "sms_volume": c.inbound + c.outbound,
        "sessions_handled": c.sessions_handled,
        "average_handle_secs": c.average_handle_secs(),
        "hook_failures": c.hook_failures,
    }))
    .into_response())
}

/// The revision serving, its warnings, and the last refused revision.
async fn policy(Shared(app): Shared<App>, Path(name): Path<String>, headers: HeaderMap) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let revision = tenant.revision();
    let policy = revision.engine.policy();
    let warnings: Vec<Value> = policy
        .warnings
        .items
        .iter()
        .map(|d| json!({"code": d.code.to_string(), "message": d.message}))
        .collect();
    Ok(Json(json!({
        "tenant": policy.tenant.name,
        "revision": revision.id,
        "loaded_at": revision.loaded_at,
        "inboxes": policy.inboxes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        "warnings": warnings,
        "refused": tenant.refused(),
        "status": tenant.status(),
    }))
    .into_response())
}

/// Looks at the tenant's policy files now rather than at the next poll.
async fn reload_policy(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let runtime = app.runtime.clone();
    let result = blocking("reloading", move || reload::reload(&runtime, &tenant)).await?;
    Ok(Json(result).into_response())
}

/// The serving policy at a glance (`switchboard show --format json`): the
/// routing map, a week of hours (`?week=DATE`, default this week in the
/// tenant's zone) and every message with sample placeholders.
async fn policy_overview(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let revision = tenant.revision();
    let policy = revision.engine.policy();
    let day = match query.get("week") {
        Some(text) => text.parse::<chrono::NaiveDate>().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadTime,
                format!("`week={text}` is not a date; write it as 2026-12-07"),
            )
        })?,
        None => Overview::today(policy, app.runtime.now()),
    };
    let mut overview = serde_json::to_value(Overview::of(policy, day)).map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            e.to_string(),
        )
    })?;
    overview["revision"] = Value::String(revision.id.clone());
    Ok(Json(overview).into_response())
}

/// A candidate policy to compare with the serving one.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Candidate {
    /// The policy file's text.
    policy: String,
    /// Files it names that differ from the serving revision's.
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    examples: Option<usize>,
}

/// What a candidate policy would have decided otherwise over the tenant's
/// stored log; nothing is stored or changed.
async fn diff_policy(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let candidate: Candidate = json_body(body, "not a candidate policy")?;
    let examples = candidate.examples.unwrap_or(3).min(100);
    let serving = tenant.revision().id.clone();
    let found = blocking("comparing policies", move || {
        tenant.diff(candidate.policy, candidate.files, candidate.since, examples)
    })
    .await?;
    let diff = found.map_err(refused_candidate)?;
    let mut answer = serde_json::to_value(&diff).map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            e.to_string(),
        )
    })?;
    answer["serving"] = Value::String(serving);
    Ok(Json(answer).into_response())
}

/// A candidate that could not be asked: 422 with its diagnostics, or 503
/// when the serving revision's files could not be read.
fn refused_candidate(e: CandidateError) -> ApiError {
    match e {
        CandidateError::DoesNotCheck(diagnostics) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::PolicyDoesNotCheck,
            diagnostics,
        ),
        CandidateError::Store(e) => error(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::NotRead, e),
    }
}

/// A candidate policy and one event for it to decide.
#[derive(serde::Deserialize)]
struct CandidateEvent {
    policy: String,
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
    event: Value,
}

/// What a candidate policy would decide for one event against the serving
/// state (the read-only decision): the console's playground.
async fn dry_run_candidate(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let asked: CandidateEvent = json_body(body, "not a candidate policy and an event")?;
    let event = event_of(&app, asked.event)?;
    let (policy, files) = (asked.policy, asked.files);
    let decided = blocking("deciding", move || {
        tenant.dry_run_candidate(policy, files, &event)
    })
    .await?;
    let decision = decided.map_err(refused_candidate)?;
    Ok(Json(decision).into_response())
}

/// Events to play through from an empty state, with the serving revision
/// or a candidate.
#[derive(serde::Deserialize)]
struct Simulation {
    policy: Option<String>,
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
    events: Vec<Value>,
}

/// The most events one simulation takes.
const MAX_SIMULATED: usize = 1000;

/// Steps events in order from an empty state (nothing stored, the
/// tenant's state untouched): a scenario played through in the console.
async fn simulate(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let asked: Simulation = json_body(body, "not a list of events (and a candidate policy)")?;
    if asked.events.len() > MAX_SIMULATED {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadBody,
            format!("at most {MAX_SIMULATED} events at a time"),
        ));
    }
    let events = asked
        .events
        .into_iter()
        .map(|e| event_of(&app, e))
        .collect::<Result<Vec<_>, _>>()?;
    let candidate = asked.policy.map(|p| (p, asked.files));
    let decided = blocking("simulating", move || tenant.simulate(candidate, &events)).await?;
    let decisions = decided.map_err(refused_candidate)?;
    Ok(Json(json!({ "decisions": decisions })).into_response())
}

/// The scenario files beside the tenant's policy, with their events.
async fn scenarios(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let found = blocking("reading scenarios", move || tenant.scenarios()).await?;
    Ok(Json(json!({ "scenarios": found })).into_response())
}

/// The open conversations, latest customer message first: who owns each,
/// who holds its lock and until when, its alerts.
async fn conversations(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let inbox = query.get("inbox").cloned();
    if let Some(i) = inbox
        .as_ref()
        .filter(|i| tenant.revision().engine.policy().inbox_id(i).is_none())
    {
        return Err(error(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownInbox,
            format!("no inbox {i}"),
        ));
    }
    let limit = match query.get("limit") {
        Some(l) => l.parse::<usize>().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadBody,
                "`limit` is a whole number",
            )
        })?,
        None => 1000,
    }
    .min(10_000);
    let open = tenant.open_conversations(inbox.as_deref(), limit);
    Ok(Json(json!({ "conversations": open })).into_response())
}

/// Twilio's inbound-message webhook: a signed form in, TwiML out.
async fn twilio_message(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let forbidden = |message: &str| {
        Counters::count(&app.counters.rejected_requests);
        error(StatusCode::FORBIDDEN, ErrorCode::BadSignature, message)
    };
    let (Some(tenant), Some(auth_token)) = (app.runtime.tenant(&name), app.config.twilio.of(&name))
    else {
        Counters::count(&app.counters.rejected_requests);
        return Err(error(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownTenant,
            format!("no Twilio webhook for tenant {name}"),
        ));
    };
    let presented = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| forbidden("the request has no X-Twilio-Signature"))?;
    let body = read_body(body)?;
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadForm,
            format!("not a form: {e}"),
        )
    })?;
    let url = webhook_url(&app, &headers, &uri);
    if !twilio::verify(auth_token, &url, &params, presented) {
        return Err(forbidden(&format!(
            "the X-Twilio-Signature does not match a request to {url}"
        )));
    }
    let inbound = twilio::inbound(&params, app.runtime.now())
        .map_err(|why| error(StatusCode::BAD_REQUEST, ErrorCode::BadForm, why))?;
    let decided = decide(&app, &tenant, Event::Inbound(inbound.clone())).await?;
    // A redelivered message got its replies the first time.
    let twiml = if decided.redelivered {
        twilio::empty()
    } else {
        twilio::twiml(&value_of(&decided), &inbound)
    };
    Ok(([("content-type", "text/xml; charset=utf-8")], twiml).into_response())
}

/// The URL Twilio requested, as it signed it: the configured public URL,
/// or the scheme and host the request came with, then the path and query.
fn webhook_url(app: &App, headers: &HeaderMap, uri: &Uri) -> String {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    if let Some(base) = &app.config.public_url {
        return format!("{}{path}", base.trim_end_matches('/'));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_error_code_is_documented() {
        use super::ErrorCode;
        let api = include_str!("../../docs/API.md");
        for code in ErrorCode::ALL {
            let code = code.as_str();
            assert!(
                api.contains(&format!("`{code}`")),
                "docs/API.md does not list `{code}`"
            );
        }
    }

    #[test]
    fn the_openapi_file_describes_every_route() {
        let spec = include_str!("../../docs/openapi.yaml");
        let source = include_str!("http.rs");
        let routes: Vec<&str> = source
            .split(".route(")
            .skip(1)
            .filter_map(|r| r.trim_start().strip_prefix('"')?.split('"').next())
            .filter(|r| r.starts_with('/'))
            .collect();
        assert!(routes.len() >= 10, "{routes:?}");
        for route in routes {
            assert!(
                spec.contains(&format!("\n  {route}:")),
                "docs/openapi.yaml has no {route}"
            );
        }
    }
}
