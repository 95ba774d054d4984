//! Client-wide throttling against the emulator's rate limit and fault rules: a rate-limited
//! API costs no row and few 429s, a 429 pauses every request of the client, and a fixed rate
//! spaces requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use nateq_api::{Client, ContactUpdate};
use nateq_emulator::{Emulator, FaultConfig, FaultRule, FaultRuleKind};

fn client(emu: &Emulator) -> Client {
    Client::builder()
        .api_key(emu.api_key())
        .base_url(emu.base_url())
        .build()
        .unwrap()
}

fn count_429(emu: &Emulator) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count()
}

#[tokio::test]
async fn a_rate_limited_api_costs_no_row_and_few_429s() {
    const ROWS: usize = 200;
    const LIMIT: u32 = 50;
    let emu = Emulator::builder()
        .demo_contacts(ROWS)
        .rate_limit(LIMIT)
        .spawn()
        .await
        .unwrap();
    let client = client(&emu);
    let started = Instant::now();
    // 64 requests in flight at once, as a bulk job would send them.
    let outcomes: Vec<_> = futures::stream::iter(1..=ROWS)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .contacts()
                    .apply(
                        &format!("ct_demo_{i}"),
                        ContactUpdate::new().source(format!("s{i}")),
                    )
                    .await
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} rows failed: {failed:?}",
        failed.len()
    );
    let throttled: u32 = outcomes.iter().map(|o| o.throttled).sum();
    let refused = count_429(&emu);
    assert_eq!(throttled as usize, refused, "every 429 is counted once");
    assert!(
        refused * 20 <= ROWS,
        "{refused} responses of 429 for {ROWS} rows (at most 0.05 per row)"
    );
    for i in 1..=ROWS {
        let stored = emu.contact(&format!("ct_demo_{i}")).unwrap();
        assert_eq!(
            stored.contact.source.as_deref(),
            Some(format!("s{i}").as_str())
        );
    }
    // The client keeps close to the limit rather than far under it.
    let floor = Duration::from_secs_f64(ROWS as f64 / f64::from(LIMIT) * 0.8);
    assert!(
        elapsed >= floor,
        "{elapsed:?}: faster than the limit allows"
    );
    assert!(
        elapsed <= floor * 2,
        "{elapsed:?}: far slower than the limit of {LIMIT}/s"
    );
}

#[tokio::test]
async fn a_429_pauses_every_request_of_the_client() {
    let emu = Emulator::builder()
        .faults(
            FaultConfig::default()
                .retry_after_secs(1)
                .rule(FaultRule::new(FaultRuleKind::TooManyRequests).contact("ct_demo_1")),
        )
        .spawn()
        .await
        .unwrap();
    let client = client(&emu);
    // A first exchange, so the client is past its slow start.
    client
        .contacts()
        .apply("ct_demo_3", ContactUpdate::new().source("warm"))
        .await
        .result
        .unwrap();
    let first = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .contacts()
                .update_detailed("ct_demo_1", ContactUpdate::new().name("A"))
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while count_429(&emu) == 0 {
        assert!(Instant::now() < deadline, "no 429 was answered");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let refused_at = Instant::now();
    // Another contact, untouched by the fault: it still waits for the client's pause.
    client
        .contacts()
        .update("ct_demo_2", ContactUpdate::new().name("B"))
        .await
        .unwrap();
    let waited = refused_at.elapsed();
    assert!(
        waited >= Duration::from_millis(800),
        "the second request went out {waited:?} after the 429"
    );
    let first = first.await.unwrap();
    assert_eq!((first.attempts, first.throttled), (2, 1));
    assert_eq!(first.result.unwrap().name.as_deref(), Some("A"));
}

#[tokio::test]
async fn a_fixed_rate_spaces_requests() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = Client::builder()
        .api_key(emu.api_key())
        .base_url(emu.base_url())
        .rate_limit(20.0)
        .build()
        .unwrap();
    let started = Instant::now();
    for i in 0..6 {
        client
            .contacts()
            .apply("ct_demo_1", ContactUpdate::new().source(format!("r{i}")))
            .await
            .result
            .unwrap();
    }
    // The first goes at once, each of the other five 50 ms after the one before.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(240), "{elapsed:?}");
    assert!(
        Client::builder()
            .api_key(emu.api_key())
            .base_url(emu.base_url())
            .rate_limit(0.0)
            .build()
            .unwrap_err()
            .to_string()
            .contains("rate limit 0")
    );
}
