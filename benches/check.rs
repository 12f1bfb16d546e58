//! How long checking a large tenant takes: 1,000 inboxes, 5,000 agents and
//! 2,000 numbers (target: under 100 ms for `check`).
//!
//! cargo bench --bench check

#[path = "../tests/common/synth.rs"]
mod synth;
use criterion::{criterion_group, criterion_main, Criterion};
use synth::Size;

fn check(c: &mut Criterion) {
    let source = synth::tenant(Size::LARGE);
    let options = switchboard::sources::NoFolder;
    assert!(
        switchboard::compile_sources(&source, &options).is_ok(),
        "the synthetic tenant checks clean"
    );

    let mut group = c.benchmark_group("check");
    group.sample_size(30);
    group.bench_function("large_tenant/parse", |b| {
        b.iter(|| switchboard::syntax::parse::parse_document(&source))
    });
    group.bench_function("large_tenant/parse_and_lower", |b| {
        b.iter(|| switchboard::syntax::parse(&source))
    });
    group.bench_function("large_tenant/compile", |b| {
        b.iter(|| switchboard::compile_sources(&source, &options).map(|p| p.inboxes().len()))
    });
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
