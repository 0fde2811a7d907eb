//! Benchmarks of `estimate` (placeholder until the bench is written).
fn main() {}
