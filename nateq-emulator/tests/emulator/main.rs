//! End-to-end tests of the emulator over real sockets on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod auth;
mod binary;
mod bounds;
mod client;
mod faults;
mod helpers;
mod history;
mod journal;
mod lifecycle;
mod organisations;
mod ratelimit;
mod rules;
mod seeding;
mod update;
mod validation;
