//! The decision service. So far: each tenant's runtime, which decides
//! events durably and recovers after a restart. The HTTP API on top of it
//! is the next step.

mod tenant;

pub use tenant::{ServiceError, TenantRuntime};
