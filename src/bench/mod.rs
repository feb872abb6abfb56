//! The benchmark: configuration, runner, sink and statistics.
pub mod sink;
