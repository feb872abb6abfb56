//! The benchmarks, as symmetric siblings: [`send`] (`zc bench`: file to socket, the four
//! transfer modes) and [`write`](mod@write) (`zc bench write`: records to a log, the four ways). Each
//! has its validated configuration, a runner, the metrics derived from its runs, its result
//! types and what those show. What they share sits here: the loop of interleaved rounds
//! with warm-ups ([`rounds`]), the metric specs (`metrics`) and the figure types
//! ([`results`]). Nothing here prints.

pub(crate) mod metrics;
pub mod results;
pub mod rounds;
pub mod send;
pub mod write;
