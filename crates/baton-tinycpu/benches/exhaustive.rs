//! Exhaustive checking speed: one `check_exhaustive` runs the candidate on every input of the task's domain
//! (the reference's outputs are computed on the first call and kept).

use std::hint::black_box;

use baton_tinycpu::{assemble, check_exhaustive, disassemble, run, TaskSet};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn benches(c: &mut Criterion) {
    let set = TaskSet::builtin();
    let mut group = c.benchmark_group("check_exhaustive");
    for name in ["p01", "p14", "p25", "sort5"] {
        let task = set.get(name).expect("built-in task");
        group.throughput(Throughput::Elements(task.domain().len() as u64));
        group.bench_function(name, |b| b.iter(|| check_exhaustive(black_box(&task.reference), task)));
    }
    // The per-input path (any program with a jnz): p14's reference plus a jump that is never taken.
    let p14 = set.get("p14").expect("built-in task");
    let looped = assemble(&format!("{}jnz r5, end\nend:", disassemble(&p14.reference))).expect("valid");
    group.throughput(Throughput::Elements(p14.domain().len() as u64));
    group.bench_function("p14-per-input", |b| b.iter(|| check_exhaustive(black_box(&looped), p14)));
    group.finish();
    let p25 = set.get("p25").expect("built-in task");
    c.bench_function("run/p25", |b| b.iter(|| run(black_box(&p25.reference), black_box(&[200, 77]))));
}

criterion_group!(all, benches);
criterion_main!(all);
