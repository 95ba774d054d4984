//! End-to-end tests for nateq-rs live in `tests/`.
