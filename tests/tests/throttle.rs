//! Client-wide throttling against the emulator's rate limit, its fault rules and a scripted
//! server: a rate-limited API costs no row and few 429s however it announces its limit (headers
//! on every answer, only on its 429s, or not at all), a 429 of the limit pauses every request
//! of the client, a 429 that is not the limit (sporadic, or with requests remaining) delays
//! only its own request, and a fixed rate spaces requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use nateq_api::{Client, ContactUpdate};
use nateq_emulator::{
    Emulator, FaultConfig, FaultKind, FaultRule, FaultRuleKind, JournalEntry, RateLimit,
    RateLimitHeaders,
};
use support::{ScriptServer, ok_contact, response};

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

/// Applies `source = s{i}` to `ct_demo_1..=rows`, `in_flight` at once; returns the 429s the
/// client counted, after checking that every row landed.
async fn apply_all(emu: &Emulator, client: &Client, rows: usize, in_flight: usize) -> u32 {
    let outcomes: Vec<_> = futures::stream::iter(1..=rows)
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
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} rows failed: {failed:?}",
        failed.len()
    );
    for i in 1..=rows {
        let stored = emu.contact(&format!("ct_demo_{i}")).unwrap();
        assert_eq!(
            stored.contact.source.as_deref(),
            Some(format!("s{i}").as_str())
        );
    }
    let throttled: u32 = outcomes.iter().map(|o| o.throttled).sum();
    assert_eq!(
        throttled as usize,
        count_429(emu),
        "every 429 is counted once"
    );
    throttled
}

/// When the emulator received a request, in seconds of the day (from `receivedAt`).
fn received_secs(entry: &JournalEntry) -> f64 {
    let time = entry.received_at.split('T').nth(1).unwrap();
    let time = time.trim_end_matches('Z');
    let mut parts = time.split(':');
    let hours: f64 = parts.next().unwrap().parse().unwrap();
    let minutes: f64 = parts.next().unwrap().parse().unwrap();
    let seconds: f64 = parts.next().unwrap().parse().unwrap();
    hours * 3600.0 + minutes * 60.0 + seconds
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

#[tokio::test]
async fn a_burst_of_concurrent_calls_learns_the_limit_from_the_first_answers() {
    // The limit says nothing until it refuses: the slow start lets one request go, then one
    // more per answer, so 64 calls at once meet the limit with a couple of requests, not 64.
    let limit = RateLimit::new(Some(10))
        .burst(2)
        .headers(RateLimitHeaders::On429);
    let emu = Emulator::builder()
        .demo_contacts(30)
        .rate_limit(limit)
        .spawn()
        .await
        .unwrap();
    let throttled = apply_all(&emu, &client(&emu), 30, 64).await;
    assert!(throttled <= 4, "{throttled} responses of 429 for 30 rows");
}

#[tokio::test]
async fn a_limit_announced_only_by_its_429_sets_the_pace() {
    // The first answer is a 429 that names the limit, 4/s, and asks for no wait; then the
    // server answers everything. The client keeps 98% of 4/s from then on: six more calls, one
    // after the other, are spaced by 255 ms (a search without the limit would start at 10/s).
    let server = ScriptServer::start(vec![
        response(
            429,
            "application/json",
            r#"{"success":false,"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
            &[
                ("retry-after", "0"),
                ("x-ratelimit-limit", "4"),
                ("x-ratelimit-remaining", "0"),
            ],
        ),
        ok_contact("ct_1", "Ada"),
    ])
    .await;
    let client = support::client(&server.base_url(), 0);
    let first = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("Ada"))
        .await;
    assert_eq!((first.attempts, first.throttled), (2, 1));
    first.result.unwrap();
    let started = Instant::now();
    for _ in 0..6 {
        client
            .contacts()
            .update("ct_1", ContactUpdate::new().name("Ada"))
            .await
            .unwrap();
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1200), "{elapsed:?}");
    assert_eq!(server.requests().len(), 8);
}

/// How long the call after a success that carried `headers` takes (a fresh client and server;
/// the client's `Retry-After` cap is 2 s).
async fn call_after_a_success_with(headers: &[(&str, &str)]) -> Duration {
    let body = r#"{"success":true,"message":"Contact updated","error":null,"meta":null,"data":{"id":"ct_1","name":"Ada","updatedAt":"2026-11-27T10:00:00.000Z"}}"#;
    let server = ScriptServer::start(vec![response(200, "application/json", body, headers)]).await;
    let client = support::builder(&server.base_url())
        .timeout(Duration::from_secs(5))
        .retry_policy(nateq_api::RetryPolicy::default().max_retry_after(Duration::from_secs(2)))
        .build()
        .unwrap();
    let contacts = client.contacts();
    contacts
        .update("ct_1", ContactUpdate::new().name("Ada"))
        .await
        .unwrap();
    let started = Instant::now();
    contacts
        .update("ct_1", ContactUpdate::new().name("Ada"))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(server.requests().len(), 2);
    elapsed
}

#[tokio::test]
async fn a_success_with_no_requests_remaining_pauses_until_the_next_one_is_allowed_capped() {
    // Nothing remains until the reset: the next call waits for it.
    let waited =
        call_after_a_success_with(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")])
            .await;
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    // A reset that is not a number of seconds to come (negative) is no reason to wait.
    let waited =
        call_after_a_success_with(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "-5")])
            .await;
    assert!(waited < Duration::from_millis(500), "{waited:?}");
    // Requests remain: the reset is no reason to wait.
    let waited =
        call_after_a_success_with(&[("x-ratelimit-remaining", "5"), ("x-ratelimit-reset", "3")])
            .await;
    assert!(waited < Duration::from_millis(500), "{waited:?}");
    // With the limit known (2/s), the next request is allowed in 1/2 s, not at the reset.
    let waited = call_after_a_success_with(&[
        ("x-ratelimit-limit", "2"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", "5"),
    ])
    .await;
    assert!(
        (Duration::from_millis(450)..Duration::from_millis(900)).contains(&waited),
        "{waited:?}"
    );
    // A wait longer than a `Duration` holds (a limit of 1e-300, a reset of 1e300 s) is capped
    // as a `Retry-After` is, at 2 s here: no panic, no client stuck for ever.
    for (limit, reset) in [("1e-300", "1"), ("0", "1e300")] {
        let waited = call_after_a_success_with(&[
            ("x-ratelimit-limit", limit),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", reset),
        ])
        .await;
        assert!(
            (Duration::from_millis(1900)..Duration::from_millis(3000)).contains(&waited),
            "{limit} {reset}: {waited:?}"
        );
    }
    // A limit of 0 says nothing about the pace: the reset does.
    let waited = call_after_a_success_with(&[
        ("x-ratelimit-limit", "0"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", "1"),
    ])
    .await;
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(2000)).contains(&waited),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_limit_without_headers_is_found_by_its_429s() {
    // A bare 429 with `Retry-After` is all this API says: the client searches for the pace,
    // and settles under the limit after a few 429s.
    let limit = RateLimit::new(Some(40))
        .burst(2)
        .headers(RateLimitHeaders::Never);
    let emu = Emulator::builder()
        .demo_contacts(160)
        .rate_limit(limit)
        .spawn()
        .await
        .unwrap();
    let throttled = apply_all(&emu, &client(&emu), 160, 64).await;
    assert!(throttled <= 10, "{throttled} responses of 429 for 160 rows");
}

#[tokio::test]
async fn a_429_that_says_requests_remain_delays_only_its_own_request() {
    let server = ScriptServer::start(vec![
        response(
            429,
            "application/json",
            r#"{"success":false,"error":{"code":"RATE_LIMITED","message":"busy"}}"#,
            &[
                ("retry-after", "1"),
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "40"),
            ],
        ),
        ok_contact("ct_1", "Ada"),
    ])
    .await;
    let client = support::client(&server.base_url(), 0);
    let contacts = client.contacts();
    let started = Instant::now();
    let refused = contacts.update_detailed("ct_1", ContactUpdate::new().name("Ada"));
    let other = async {
        // Polled after the first call has taken the slow start's first slot: it goes once
        // that call's answer came, without waiting for its second.
        let outcome = contacts
            .update_detailed("ct_2", ContactUpdate::new().name("Bob"))
            .await;
        (started.elapsed(), outcome)
    };
    let (refused, (other_done, other)) = tokio::join!(refused, other);
    assert_eq!((refused.attempts, refused.throttled), (2, 1));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the refused request waited"
    );
    other.result.unwrap();
    assert!(
        other_done < Duration::from_millis(700),
        "the other request waited {other_done:?}"
    );
}

#[tokio::test]
async fn a_decimal_retry_after_is_honoured_to_the_millisecond() {
    let server = ScriptServer::start(vec![
        response(
            429,
            "application/json",
            r#"{"success":false,"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
            &[("retry-after", "1.5")],
        ),
        ok_contact("ct_1", "Ada"),
    ])
    .await;
    let client = support::client(&server.base_url(), 2);
    let started = Instant::now();
    client
        .contacts()
        .update("ct_1", ContactUpdate::new().name("Ada"))
        .await
        .unwrap();
    // Not understood, the header would leave a backoff of at most 20 ms here.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
}

#[tokio::test]
async fn sporadic_429s_stop_pausing_the_client_once_slowing_down_does_not_help() {
    // No limit, but 5% of requests answered 429 with `Retry-After: 1` at random. Each one
    // first pauses the client; once slowing down has not made them rarer, a 429 delays only
    // its own request and the others keep going.
    const ROWS: usize = 500;
    let emu = Emulator::builder()
        .demo_contacts(ROWS)
        .faults(
            FaultConfig::new(0.05, [FaultKind::TooManyRequests])
                .seed(7)
                .retry_after_secs(1),
        )
        .journal(2 * ROWS)
        .spawn()
        .await
        .unwrap();
    let throttled = apply_all(&emu, &client(&emu), ROWS, 16).await;
    assert!(
        throttled >= 10,
        "{throttled} 429s: the faults did not happen"
    );
    let journal = emu.requests();
    let times: Vec<f64> = journal.iter().map(received_secs).collect();
    let since = |a: f64, b: f64| (b - a).rem_euclid(86_400.0);
    // For each 429 with more than a tenth of the requests still to come (at the end of the run
    // only the retries of the last 429s are left), the requests the emulator received from
    // 50 ms to 900 ms after it: none while the client is paused (requests sent before the 429
    // arrive within the first few milliseconds).
    let before_the_end = journal.len() * 9 / 10;
    let followed: Vec<usize> = journal
        .iter()
        .enumerate()
        .filter(|&(i, e)| e.status == Some(429) && i < before_the_end)
        .map(|(i, _)| {
            times[i + 1..]
                .iter()
                .filter(|&&u| (0.05..0.9).contains(&since(times[i], u)))
                .count()
        })
        .collect();
    assert!(
        followed.contains(&0),
        "no 429 paused the client: {followed:?}"
    );
    assert!(followed.len() >= 5, "{followed:?}");
    let last = &followed[followed.len() - 5..];
    assert!(
        last.iter().all(|&n| n >= 1),
        "the last 429s still paused the client: {followed:?}"
    );
}
