//! An SDK interceptor that counts API calls per operation, so every report can say what a run cost.

use aws_sdk_cloudformation::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_cloudformation::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Shared call counter; clone it into every client of one tenant.
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    inner: Arc<Mutex<BTreeMap<String, u32>>>,
}

/// The calls made, as data: a total and a count per `Service.Operation`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CallSummary {
    pub total: u32,
    pub by_operation: BTreeMap<String, u32>,
}

impl CallLog {
    /// Count one call.
    pub fn record(&self, operation: String) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(operation).or_default() += 1;
    }

    /// What was counted so far.
    pub fn summary(&self) -> CallSummary {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone();
        CallSummary { total: m.values().sum(), by_operation: m }
    }
}

/// The interceptor: one count per operation (retries are not counted again). It reads the operation name in
/// `read_before_serialization`: client-level interceptors see `read_before_execution` before the operation config.
#[derive(Debug, Clone)]
pub struct CountCalls(pub CallLog);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "rainmaker::CountCalls"
    }

    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op =
            cfg.load::<Metadata>().map_or_else(|| "unknown".to_string(), |m| format!("{}.{}", m.service(), m.name()));
        self.0.record(op);
        Ok(())
    }
}
