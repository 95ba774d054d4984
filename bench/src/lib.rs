//! Shared pieces of the benchmarks: the response fixtures and hand-written serde structs
//! equivalent to the generated types (the "raw reqwest + structs" baseline).

pub mod fixture;
pub mod handwritten;
