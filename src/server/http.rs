//! The HTTP API, under /v1/tenants/{tenant}/. Every request but /healthz and
//! /metrics carries `Authorization: Bearer TOKEN`; a token only opens its own
//! tenant (any other tenant is 404, as if it did not exist). Every error is
//! JSON: `{"error": {"code": "...", "message": "..."}}` with a 4xx or 5xx.

use super::{Service, TenantRuntime};
use crate::engine::{Event, State};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

type App = Arc<Service>;

pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/tenants/{tenant}/events", post(post_event))
        .route("/v1/tenants/{tenant}/events/dry-run", post(dry_run))
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
        .fallback(|| async {
            error(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
}

/// A request's failure: its status, a stable code and a message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code: code.to_string(),
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

type Answer = Result<Response, ApiError>;

/// The tenant a request may act on, or the error response.
fn tenant(app: &App, headers: &HeaderMap, name: &str) -> Result<Arc<TenantRuntime>, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        app.metrics
            .rejected_requests
            .fetch_add(1, Ordering::Relaxed);
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer TOKEN`",
        ));
    };
    let Some(owner) = app.tokens.tenant_of(token) else {
        app.metrics
            .rejected_requests
            .fetch_add(1, Ordering::Relaxed);
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this token is not valid",
        ));
    };
    match app.tenants.get(name) {
        Some(t) if owner == name => Ok(t.clone()),
        // Another tenant's name, or none: the same answer, so a token
        // cannot learn which tenants exist.
        _ => {
            app.metrics
                .rejected_requests
                .fetch_add(1, Ordering::Relaxed);
            Err(error(
                StatusCode::NOT_FOUND,
                "unknown_tenant",
                format!("no tenant {name} for this token"),
            ))
        }
    }
}

fn parse_event(body: Result<Bytes, BytesRejection>) -> Result<Event, ApiError> {
    let body = body.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the body is larger than {MAX_BODY} bytes")
        } else {
            e.body_text()
        };
        error(status, "bad_body", message)
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_event",
            format!("not a valid event: {e}"),
        )
    })
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn metrics(Shared(app): Shared<App>) -> String {
    let m = &app.metrics;
    let mut out = String::new();
    out.push_str("# TYPE switchboard_decisions_total counter\n");
    out.push_str(&format!(
        "switchboard_decisions_total {}\n",
        m.decisions.load(Ordering::Relaxed)
    ));
    out.push_str("# TYPE switchboard_decision_seconds_total counter\n");
    out.push_str(&format!(
        "switchboard_decision_seconds_total {}\n",
        m.decision_micros.load(Ordering::Relaxed) as f64 / 1e6
    ));
    out.push_str("# TYPE switchboard_rejected_requests_total counter\n");
    out.push_str(&format!(
        "switchboard_rejected_requests_total {}\n",
        m.rejected_requests.load(Ordering::Relaxed)
    ));
    out.push_str("# TYPE switchboard_hook_failures_total counter\n");
    let mut names: Vec<&String> = app.tenants.keys().collect();
    names.sort();
    for name in names {
        let failures = app.tenants[name]
            .engine()
            .policy()
            .hooks
            .as_ref()
            .map_or(0, |h| h.failures());
        out.push_str(&format!(
            "switchboard_hook_failures_total{{tenant=\"{name}\"}} {failures}\n"
        ));
    }
    out
}

async fn post_event(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let event = parse_event(body)?;
    let started = std::time::Instant::now();
    let decision = tokio::task::spawn_blocking(move || tenant.decide(&event))
        .await
        .map_err(|_| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "deciding failed",
            )
        })?
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, "not_stored", e.to_string()))?;
    app.metrics.decisions.fetch_add(1, Ordering::Relaxed);
    app.metrics
        .decision_micros
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    if decision["outcome"] == "rejected" {
        // The event names something the tenant does not have.
        let code = decision["denial"]["code"]
            .as_str()
            .unwrap_or("rejected")
            .to_string();
        let body = json!({
            "error": {"code": code, "message": "the event names something this tenant does not have"},
            "decision": decision,
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    Ok(Json(decision).into_response())
}

/// Decides on a copy of the state: nothing is stored or changed.
async fn dry_run(
    Shared(app): Shared<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let event = parse_event(body)?;
    let decision = tokio::task::spawn_blocking(move || {
        let mut copy: State = tenant.with_state(State::clone);
        tenant.engine().step(&mut copy, &event)
    })
    .await
    .map_err(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "deciding failed",
        )
    })?;
    Ok(Json(decision).into_response())
}

async fn conversation(
    Shared(app): Shared<App>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let found = tenant.with_state(|s| {
        s.conversation(&id)
            .and_then(|c| serde_json::to_value(c).ok())
    });
    let conversation = found.ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "unknown_conversation",
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
    let policy = tenant.engine().policy();
    if policy.agent_id(&agent).is_none() {
        return Err(error(
            StatusCode::NOT_FOUND,
            "unknown_agent",
            format!("no agent {agent}"),
        ));
    }
    let inbox = query.get("inbox").cloned();
    if let Some(i) = inbox.as_deref().filter(|i| policy.inbox_id(i).is_none()) {
        return Err(error(
            StatusCode::NOT_FOUND,
            "unknown_inbox",
            format!("no inbox {i}"),
        ));
    }
    let now = match query.get("at") {
        Some(at) => at.parse().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                "bad_time",
                "`at` is an RFC 3339 time",
            )
        })?,
        None => tenant.with_state(|s| s.clock()).unwrap_or_default(),
    };
    let rows = tenant.with_state(|s| {
        tenant
            .engine()
            .visible_conversations(s, &agent, inbox.as_deref(), now)
    });
    Ok(Json(json!({"agent": agent, "conversations": rows})).into_response())
}

async fn counters(
    Shared(app): Shared<App>,
    Path((name, inbox)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    if tenant.engine().policy().inbox_id(&inbox).is_none() {
        return Err(error(
            StatusCode::NOT_FOUND,
            "unknown_inbox",
            format!("no inbox {inbox}"),
        ));
    }
    let c = tenant.with_state(|s| s.counters(&inbox).cloned().unwrap_or_default());
    Ok(Json(json!({
        "inbox": inbox,
        "conversations": c.conversations,
        "inbound": c.inbound,
        "outbound": c.outbound,
        "sms_volume": c.sessions_handled,
        "average_handle_secs": c.average_handle_secs(),
        "hook_failures": c.hook_failures,
    }))
    .into_response())
}

async fn policy(Shared(app): Shared<App>, Path(name): Path<String>, headers: HeaderMap) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let policy = tenant.engine().policy();
    let warnings: Vec<String> = policy
        .warnings
        .items
        .iter()
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    Ok(Json(json!({
        "tenant": policy.tenant.name,
        "inboxes": policy.inboxes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        "warnings": warnings,
    }))
    .into_response())
}
