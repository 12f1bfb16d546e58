//! Any node answers any request: a request for a tenant another node
//! decides goes to that node as it came (method, path, headers, body) and
//! its answer comes back as it left, so a load balancer in front of the
//! nodes (or Twilio's webhook) needs to know nothing of who owns what.
//!
//! The owner is the node holding the tenant's lease as this node's last
//! lease round saw it. A forwarded request is marked, and a node that
//! receives a marked request for a tenant it does not decide answers 503
//! `tenant_moving` (with `Retry-After`) rather than forwarding again: the
//! lease is moving, and a retry in a moment finds its new owner.

use super::Server;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Uri};
use axum::response::Response;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// The header a forwarded request carries: the name of the node that
/// forwarded it.
pub const FORWARDED_BY: HeaderName = HeaderName::from_static("x-switchboard-forwarded-by");

/// How long the owner may take to answer a forwarded request.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// A pool of connections to the other nodes.
pub struct Forwarder {
    client: Client<HttpConnector, Body>,
}

impl Default for Forwarder {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Forwarder { client }
    }
}

/// Headers of one connection, not of the request: never forwarded.
const HOP_BY_HOP: [HeaderName; 4] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::UPGRADE,
];

/// Sends `request` (for `tenant`) to the tenant's owner and returns its
/// answer; the error says why it could not.
pub async fn forward(server: &Server, tenant: &str, request: Request) -> Result<Response, String> {
    let runtime = &server.runtime;
    let me = runtime.node().unwrap_or_default();
    if let Some(by) = request.headers().get(&FORWARDED_BY) {
        let by = by.to_str().unwrap_or("another node");
        return Err(format!(
            "node {by} forwarded this request for tenant {tenant} here, but node {me} does not \
             decide it either: its lease is moving; retry shortly"
        ));
    }
    if runtime.is_recovering(tenant) {
        return Err(format!(
            "node {me} took tenant {tenant}'s lease and is recovering its history; retry shortly"
        ));
    }
    let Some(owner) = runtime.owner_of(tenant) else {
        return Err(format!(
            "no node holds tenant {tenant}'s lease this moment (a failover or hand-off); \
             retry shortly"
        ));
    };
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    parts.uri = format!("{}{path}", owner.address)
        .parse::<Uri>()
        .map_err(|e| format!("node {}'s address {}: {e}", owner.node, owner.address))?;
    for name in &HOP_BY_HOP {
        parts.headers.remove(name);
    }
    if let Ok(value) = HeaderValue::from_str(&me) {
        parts.headers.insert(FORWARDED_BY, value);
    }
    let sent = server
        .forwarder
        .client
        .request(Request::from_parts(parts, body));
    let unanswered = |why: String| {
        format!(
            "tenant {tenant}'s owner, node {} at {}, did not answer ({why}); retry shortly",
            owner.node, owner.address
        )
    };
    let answer = tokio::time::timeout(ANSWER_WITHIN, sent)
        .await
        .map_err(|_| unanswered(format!("not within {} s", ANSWER_WITHIN.as_secs())))?
        .map_err(|e| unanswered(e.to_string()))?;
    let (mut parts, body) = answer.into_parts();
    for name in &HOP_BY_HOP {
        parts.headers.remove(name);
    }
    Ok(Response::from_parts(parts, Body::new(body)))
}
