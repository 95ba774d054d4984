//! Criterion: decoding the `200` envelope (50 activities, 20 tags) into the generated types,
//! into `serde_json::Value`, and into equivalent hand-written structs.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nateq_api::types::UpdateContactResponse;
use nateq_bench::{fixture, handwritten};

fn decode(c: &mut Criterion) {
    let body = fixture::large_envelope();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("typed", |b| {
        b.iter(|| {
            let envelope: UpdateContactResponse =
                serde_json::from_slice(black_box(&body)).unwrap_or_else(|e| panic!("{e}"));
            black_box(envelope)
        })
    });
    group.bench_function("value", |b| {
        b.iter(|| {
            let envelope: serde_json::Value =
                serde_json::from_slice(black_box(&body)).unwrap_or_else(|e| panic!("{e}"));
            black_box(envelope)
        })
    });
    group.bench_function("handwritten", |b| {
        b.iter(|| {
            let envelope: handwritten::Envelope =
                serde_json::from_slice(black_box(&body)).unwrap_or_else(|e| panic!("{e}"));
            black_box(envelope)
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
