//! The rate limit: per-key token buckets, the 429 and the `X-RateLimit-*` headers, the admin route.

use nateq_emulator::{Emulator, RateLimit, RateLimitHeaders, RateLimitRetryAfter};
use reqwest::{Method, StatusCode};

use crate::helpers::{Reply, start, start_with};

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

fn limit_headers(reply: &Reply) -> [Option<&str>; 3] {
    [
        header(reply, "x-ratelimit-limit"),
        header(reply, "x-ratelimit-remaining"),
        header(reply, "x-ratelimit-reset"),
    ]
}

#[tokio::test]
async fn over_the_limit_is_a_429_with_retry_after_and_the_headers() {
    let h = start_with(Emulator::builder().rate_limit(1)).await;
    let first = h.put("ct_demo_1", r#"{"name":"First"}"#).await;
    first.ok();
    assert_eq!(limit_headers(&first), [Some("1"), Some("0"), Some("1")]);

    // A burst of 1: the next request within the second is refused and changes nothing.
    let refused = h.put("ct_demo_1", r#"{"name":"Second"}"#).await;
    refused.err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(header(&refused, "retry-after"), Some("1"));
    assert_eq!(limit_headers(&refused), [Some("1"), Some("0"), Some("1")]);
    assert_eq!(h.stored("ct_demo_1").contact.name.as_deref(), Some("First"));

    // Another key has its own bucket.
    let other = h
        .put_as(
            h.emu.other_org_key().unwrap(),
            "ct_other_1",
            r#"{"name":"Other"}"#,
        )
        .await;
    other.ok();
    assert_eq!(limit_headers(&other), [Some("1"), Some("0"), Some("1")]);

    // A request without a valid key is not counted: it gets its 401, without the headers.
    let unauthorized = h.put_as("tg_test_nope", "ct_demo_1", "{}").await;
    unauthorized.err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(limit_headers(&unauthorized), [None, None, None]);

    // The admin API and the health check are never limited.
    for _ in 0..3 {
        let reply = h.admin_get("contacts/ct_demo_1").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(limit_headers(&reply), [None, None, None]);
    }
    let health = h.http.get(h.admin("health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_headers_without_a_limit_and_the_admin_route_switches_it() {
    let h = start().await;
    let reply = h.put("ct_demo_1", "{}").await;
    reply.ok();
    assert_eq!(limit_headers(&reply), [None, None, None]);
    assert_eq!(
        h.admin_get("rate-limit").await.json(),
        serde_json::json!({
            "perSecond": null, "burst": null, "headers": "always", "retryAfter": "whole"
        })
    );

    let set = h
        .admin_send(Method::PUT, "rate-limit", Some(r#"{"perSecond": 25}"#))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(
        set.json(),
        serde_json::json!({
            "perSecond": 25, "burst": 3, "headers": "always", "retryAfter": "whole"
        })
    );
    assert_eq!(h.emu.rate_limit(), RateLimit::new(Some(25)));
    let reply = h.put("ct_demo_1", "{}").await;
    reply.ok();
    assert_eq!(limit_headers(&reply)[0], Some("25"));
    assert_eq!(h.admin_get("rate-limit").await.json()["perSecond"], 25);

    let off = h
        .admin_send(Method::PUT, "rate-limit", Some(r#"{"perSecond": null}"#))
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    let reply = h.put("ct_demo_1", "{}").await;
    reply.ok();
    assert_eq!(limit_headers(&reply), [None, None, None]);

    // The Rust handle does the same.
    h.emu.set_rate_limit(Some(1)).unwrap();
    h.put("ct_demo_1", "{}").await.ok();
    h.put("ct_demo_1", "{}")
        .await
        .err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(h.emu.set_rate_limit(Some(0)).is_err());
    h.emu.set_rate_limit(None).unwrap();
    h.put("ct_demo_1", "{}").await.ok();
}

#[tokio::test]
async fn bad_rate_limit_bodies_are_400s_naming_the_field() {
    let h = start().await;
    for (body, field) in [
        (r#"{"perSecond": 0}"#, "perSecond"),
        (r#"{"perSecond": -3}"#, "perSecond"),
        (r#"{"perSecond": 1.5}"#, "perSecond"),
        (r#"{"perSecond": "10"}"#, "perSecond"),
        (r#"{"perSecond": 99999999999}"#, "perSecond"),
        ("{}", "perSecond"),
        (r#"{"perSecond": 5, "burst": 0}"#, "burst"),
        (r#"{"perSecond": 5, "burst": 2.5}"#, "burst"),
        (r#"{"perSecond": null, "burst": 2}"#, "burst"),
        (r#"{"perSecond": 5, "headers": "on429"}"#, "headers"),
        (r#"{"perSecond": 5, "retryAfter": "ms"}"#, "retryAfter"),
        (r#"{"perSecond": 5, "burts": 2}"#, "burts"),
    ] {
        let reply = h.admin_send(Method::PUT, "rate-limit", Some(body)).await;
        reply.err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(reply.detail_fields(), [field], "{body}: {}", reply.body);
    }
    for body in ["[]", "not json", r#""perSecond""#] {
        let reply = h.admin_send(Method::PUT, "rate-limit", Some(body)).await;
        reply.err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert!(
            reply.json()["error"]["details"]["body"].is_string(),
            "{}",
            reply.body
        );
    }
    // Nothing was changed by the bad bodies.
    assert_eq!(h.emu.rate_limit(), RateLimit::default());
}

#[tokio::test]
async fn the_admin_route_needs_a_key() {
    let h = start().await;
    let reply = Reply::read(
        h.http
            .put(h.admin("rate-limit"))
            .header("content-type", "application/json")
            .body(r#"{"perSecond": 1}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(h.emu.rate_limit(), RateLimit::default());
}

#[tokio::test]
async fn the_admin_route_sets_burst_headers_and_retry_after() {
    let h = start().await;
    let set = h
        .admin_send(
            Method::PUT,
            "rate-limit",
            Some(r#"{"perSecond": 20, "burst": 3, "headers": "on-429", "retryAfter": "decimal"}"#),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let expected = RateLimit::new(Some(20))
        .burst(3)
        .headers(RateLimitHeaders::On429)
        .retry_after(RateLimitRetryAfter::Decimal);
    assert_eq!(h.emu.rate_limit(), expected);
    assert_eq!(h.admin_get("rate-limit").await.json()["headers"], "on-429");
    // A burst of 3: three pass at once without any X-RateLimit-* header, the fourth is refused
    // with them and a Retry-After under a second.
    for _ in 0..3 {
        let reply = h.put("ct_demo_1", "{}").await;
        reply.ok();
        assert_eq!(limit_headers(&reply), [None, None, None]);
    }
    let refused = h.put("ct_demo_1", "{}").await;
    refused.err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(limit_headers(&refused), [Some("20"), Some("0"), Some("1")]);
    let text = header(&refused, "retry-after").unwrap();
    let after: f64 = text.parse().unwrap();
    assert!(after > 0.0 && after <= 0.05, "{after}");
    // The message gives the wait the header gives.
    assert_eq!(
        refused.json()["error"]["message"],
        format!("rate limit exceeded; retry after {text} seconds")
    );
}

#[tokio::test]
async fn an_api_that_never_announces_its_limit_answers_a_bare_429() {
    let limit = RateLimit::new(Some(1)).headers(RateLimitHeaders::Never);
    let h = start_with(Emulator::builder().rate_limit(limit)).await;
    let first = h.put("ct_demo_1", "{}").await;
    first.ok();
    assert_eq!(limit_headers(&first), [None, None, None]);
    let refused = h.put("ct_demo_1", "{}").await;
    refused.err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(limit_headers(&refused), [None, None, None]);
    assert_eq!(header(&refused, "retry-after"), Some("1"));
    // The Rust handle takes the whole setting too, and keeps it as given.
    let always = RateLimit::new(Some(1)).burst(2);
    assert_eq!(h.emu.set_rate_limit(always).unwrap(), always);
    for _ in 0..2 {
        let reply = h.put("ct_demo_1", "{}").await;
        reply.ok();
        assert_eq!(limit_headers(&reply)[0], Some("1"));
    }
}
