//! Exhaustive checking speed: one `check_exhaustive` runs the candidate and the reference on every input.

use std::hint::black_box;

use baton_tinycpu::{check_exhaustive, run, TaskSet};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn benches(c: &mut Criterion) {
    let set = TaskSet::builtin();
    let mut group = c.benchmark_group("check_exhaustive");
    for name in ["p01", "p14", "p25", "sort5"] {
        let task = set.get(name).expect("built-in task");
        group.throughput(Throughput::Elements(task.domain().len() as u64));
        group.bench_function(name, |b| b.iter(|| check_exhaustive(black_box(&task.reference), task)));
    }
    group.finish();
    let p25 = set.get("p25").expect("built-in task");
    c.bench_function("run/p25", |b| b.iter(|| run(black_box(&p25.reference), black_box(&[200, 77]))));
}

criterion_group!(all, benches);
criterion_main!(all);
