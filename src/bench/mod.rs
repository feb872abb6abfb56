//! The benchmark: validated configuration, the runner that repeats transfers and returns
//! plain data, the sink at the receiving end, and typed warnings. Nothing here prints.

pub mod config;
mod metrics;
pub mod results;
pub mod runner;
pub mod sink;
pub mod warnings;
