//! Counters of telemetry-batch as CloudWatch embedded-metric-format lines (`rainmaker_model::emf`).

/// Print one EMF line with the given counts (zero counts are left out).
pub fn emit(counts: &[(&str, usize)]) {
    rainmaker_model::emf::emit("telemetry-batch", counts);
}
