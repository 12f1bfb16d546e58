//! The HTTP API, under /v1/tenants/{tenant}/. Every request but /healthz,
//! /metrics and Twilio's webhook carries `Authorization: Bearer TOKEN`; a
//! token only opens its own tenant (any other tenant is 404, as if it did
//! not exist). The webhook is signed with the tenant's Twilio auth token
//! instead. Every error is JSON: `{"error": {"code": "...", "message":
//! "..."}}` with a 4xx or 5xx. docs/openapi.yaml describes it all.

use super::log::Summary;
use super::metrics::{self, Metrics};
use super::{reload, twilio, Begun, Service, ServiceError, TenantRuntime};
use crate::engine::Event;
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
        .route("/v1/tenants/{tenant}/policy/reload", post(reload_policy))
        .route("/v1/tenants/{tenant}/twilio/messages", post(twilio_message))
        .fallback(|| async {
            error(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
        })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
            .into_response()
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
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(token) = token else {
        Metrics::count(&app.metrics.rejected_requests);
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer TOKEN`",
        ));
    };
    let Some(owner) = app.config.tokens.tenant_of(token) else {
        Metrics::count(&app.metrics.rejected_requests);
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
            Metrics::count(&app.metrics.rejected_requests);
            Err(error(
                StatusCode::NOT_FOUND,
                "unknown_tenant",
                format!("no tenant {name} for this token"),
            ))
        }
    }
}

fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the body is larger than {MAX_BODY} bytes")
        } else {
            e.body_text()
        };
        error(status, "bad_body", message)
    })
}

/// Reads an event; one without `at` happens now, by the service's clock.
fn parse_event(body: Result<Bytes, BytesRejection>) -> Result<Event, ApiError> {
    let body = read_body(body)?;
    let bad = |e: serde_json::Error| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_event",
            format!("not a valid event: {e}"),
        )
    };
    let mut value: Value = serde_json::from_slice(&body).map_err(bad)?;
    if let Some(fields) = value.as_object_mut() {
        if !fields.contains_key("at") {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            fields.insert("at".into(), Value::String(now));
        }
    }
    serde_json::from_value(value).map_err(bad)
}

/// Runs work that may block (a hook, a compile) on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{what} failed"),
        )
    })
}

/// A decision, durable: its JSON text, what it says, and whether it
/// answers an earlier delivery.
struct Durable {
    decision: Arc<str>,
    summary: Summary,
    redelivered: bool,
}

impl Durable {
    /// The decision as a JSON value, marked if it was redelivered.
    fn value(&self) -> Value {
        let mut value: Value = serde_json::from_str(&self.decision).unwrap_or_default();
        if self.redelivered {
            value["redelivered"] = Value::Bool(true);
        }
        value
    }
}

/// Decides an event durably, then counts and logs it.
///
/// A policy without hooks decides in microseconds, so it decides right
/// here; one with hooks may take milliseconds and decides on the blocking
/// pool. Either way the wait for the disk is asynchronous.
async fn decide(app: &App, tenant: Arc<TenantRuntime>, event: Event) -> Result<Durable, ApiError> {
    let started = std::time::Instant::now();
    let (event, begun) = if tenant.runs_hooks() {
        let tenant = tenant.clone();
        blocking("deciding", move || {
            let begun = tenant.begin(&event);
            (event, begun)
        })
        .await?
    } else {
        let begun = tenant.begin(&event);
        (event, begun)
    };
    let not_stored =
        |e: ServiceError| error(StatusCode::SERVICE_UNAVAILABLE, "not_stored", e.to_string());
    let Begun {
        decision,
        summary,
        pending,
        redelivered,
    } = begun.map_err(not_stored)?;
    tenant.settle(pending.durable().await).map_err(not_stored)?;
    let took = started.elapsed();
    if redelivered {
        Metrics::count(&app.metrics.redeliveries);
    } else {
        app.metrics.decided(took);
    }
    app.decision_log.record(
        tenant.name(),
        &event,
        &summary,
        took.as_micros() as u64,
        redelivered,
    );
    Ok(Durable {
        decision,
        summary,
        redelivered,
    })
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
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
    let event = parse_event(body)?;
    let durable = decide(&app, tenant, event).await?;
    if durable.summary.outcome == "rejected" {
        // Stored, so a redelivery answers the same, but nothing changed.
        let code = durable.summary.denial.as_deref().unwrap_or("rejected");
        let decision = durable.value();
        let body = json!({
            "error": {
                "code": code,
                "message": format!("the event was rejected ({code}); the decision's `denial` has the facts"),
            },
            "decision": decision,
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    if durable.redelivered {
        return Ok(Json(durable.value()).into_response());
    }
    let json = [("content-type", "application/json")];
    Ok((json, Bytes::copy_from_slice(durable.decision.as_bytes())).into_response())
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
    let decision = blocking("deciding", move || tenant.dry_run(&event)).await?;
    Ok(Json(decision).into_response())
}

async fn conversation(
    Shared(app): Shared<App>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let found = tenant.with_state(|_, s| {
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
    let at = match query.get("at") {
        Some(at) => Some(at.parse().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                "bad_time",
                "`at` is an RFC 3339 time",
            )
        })?),
        None => None,
    };
    let inbox = query.get("inbox").map(String::as_str);
    tenant.with_state(|revision, state| {
        let policy = revision.engine.policy();
        if policy.agent_id(&agent).is_none() {
            return Err(error(
                StatusCode::NOT_FOUND,
                "unknown_agent",
                format!("no agent {agent}"),
            ));
        }
        if let Some(i) = inbox.filter(|i| policy.inbox_id(i).is_none()) {
            return Err(error(
                StatusCode::NOT_FOUND,
                "unknown_inbox",
                format!("no inbox {i}"),
            ));
        }
        let now = at.or(state.clock()).unwrap_or_default();
        let rows = revision
            .engine
            .visible_conversations(state, &agent, inbox, now);
        Ok(Json(json!({"agent": agent, "conversations": rows})).into_response())
    })
}

async fn counters(
    Shared(app): Shared<App>,
    Path((name, inbox)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let tenant = tenant(&app, &headers, &name)?;
    let found = tenant.with_state(|revision, state| {
        let known = revision.engine.policy().inbox_id(&inbox).is_some();
        known.then(|| state.counters(&inbox).cloned().unwrap_or_default())
    });
    let c = found.ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "unknown_inbox",
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
    let service = app.clone();
    let result = blocking("reloading", move || reload::reload(&service, &tenant)).await?;
    Ok(Json(result).into_response())
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
        Metrics::count(&app.metrics.rejected_requests);
        error(StatusCode::FORBIDDEN, "bad_signature", message)
    };
    let (Some(tenant), Some(auth_token)) = (app.tenants.get(&name), app.config.twilio.of(&name))
    else {
        Metrics::count(&app.metrics.rejected_requests);
        return Err(error(
            StatusCode::NOT_FOUND,
            "unknown_tenant",
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
            "bad_form",
            format!("not a form: {e}"),
        )
    })?;
    let url = webhook_url(&app, &headers, &uri);
    if !twilio::verify(auth_token, &url, &params, presented) {
        return Err(forbidden(&format!(
            "the X-Twilio-Signature does not match a request to {url}"
        )));
    }
    let inbound = twilio::inbound(&params, chrono::Utc::now())
        .map_err(|why| error(StatusCode::BAD_REQUEST, "bad_form", why))?;
    let durable = decide(&app, tenant.clone(), Event::Inbound(inbound.clone())).await?;
    // A redelivered message got its replies the first time.
    let twiml = if durable.redelivered {
        twilio::empty()
    } else {
        twilio::twiml(&durable.value(), &inbound)
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
