//! The built-in tasks: every reference program against its independent specification on the whole domain;
//! exhaustive checking; the task-file loader's validation.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use baton_tinycpu::task::SAMPLE_SIZE;
use baton_tinycpu::{assemble, check_exhaustive, spec, Domain, ExecError, TaskSet, TinyCpuError};

#[test]
fn the_builtin_set_is_the_ladder_and_the_sorts() {
    let set = TaskSet::builtin();
    let names: Vec<&str> = set.iter().map(|t| t.name.as_str()).collect();
    let mut want: Vec<String> = (1..=25).map(|i| format!("p{i:02}")).collect();
    want.extend(["sort3", "sort4", "sort5"].map(String::from));
    assert_eq!(names, want);
    assert_eq!(spec::BUILTIN.map(|(n, _)| n).to_vec(), names);
}

#[test]
fn every_reference_matches_its_specification_on_the_whole_domain() {
    for task in TaskSet::builtin().iter() {
        let spec = spec::builtin(&task.name).unwrap();
        let mut checked = 0;
        for regs in task.domain().iter() {
            let inputs = &regs[..task.arity];
            let got = task.expected(inputs).unwrap();
            assert_eq!(got, spec(inputs), "{}: reference and specification differ on {inputs:?}", task.name);
            checked += 1;
        }
        assert_eq!(checked, task.domain().len(), "{}", task.name);
    }
}

#[test]
fn reference_lengths_climb_the_ladder() {
    let set = TaskSet::builtin();
    let len = |n: &str| set.get(n).unwrap().reference.len();
    let lengths: Vec<usize> = set.iter().map(|t| t.reference.len()).collect();
    assert_eq!(
        lengths,
        [2, 2, 2, 2, 2, 2, 3, 3, 3, 4, 3, 4, 4, 4, 4, 4, 4, 6, 7, 19, 10, 8, 13, 8, 17, 6, 10, 18],
        "update the crate docs' table when a reference changes"
    );
    assert!((1..=6).all(|i| len(&format!("p{i:02}")) == 2));
    assert!(set.iter().all(|t| !t.reference.has_jumps()), "references are straight-line");
}

#[test]
fn every_reference_passes_its_own_check() {
    for task in TaskSet::builtin().iter() {
        let report = check_exhaustive(&task.reference, task);
        assert!(report.passed, "{}: {report:?}", task.name);
        assert_eq!(report.checked as usize, task.domain().len());
        assert_eq!(report.cycles, report.reference_cycles);
        let straight = f64::from(task.reference.straight_line_cycles());
        assert_eq!(report.cycles.mean, straight, "{}", task.name);
    }
}

#[test]
fn a_wrong_program_gets_the_first_counterexample_and_a_failure_count() {
    let set = TaskSet::builtin();
    // p03 (isolate the rightmost 1 bit) with the p01 program: wrong wherever x has two or more 1 bits.
    let wrong = assemble("dec r1, r0\nand r0, r0, r1").unwrap();
    let report = check_exhaustive(&wrong, set.get("p03").unwrap());
    assert!(!report.passed);
    let cx = report.first_counterexample.unwrap();
    assert_eq!(cx.inputs.as_slice(), &[1]);
    assert_eq!(cx.expected.as_slice(), &[1]);
    assert_eq!(cx.got.unwrap().as_slice(), &[0]);
    // Right exactly on 0 (both give 0), wrong on every other input: p01 clears the bit that p03 keeps.
    assert_eq!(report.failed, 255);
    assert_eq!(cx.to_string(), "inputs 1 (0x01): expected 1 (0x01), got 0 (0x00)");
}

#[test]
fn changing_a_tasks_reference_changes_what_is_checked() {
    let mut task = TaskSet::builtin().get("p01").unwrap().clone();
    let p01 = task.reference.clone();
    assert!(check_exhaustive(&p01, &task).passed);
    task.reference = assemble("neg r1, r0\nand r0, r0, r1").unwrap(); // now p03
    assert!(!check_exhaustive(&p01, &task).passed, "the cached reference outputs must not be reused");
    assert!(check_exhaustive(&task.reference, &task).passed);
}

#[test]
fn a_looping_candidate_fails_without_hanging() {
    let set = TaskSet::builtin();
    let looping = assemble("l: jnz r0, l").unwrap();
    let report = check_exhaustive(&looping, set.get("p01").unwrap());
    assert_eq!(report.failed, 255, "halts (wrongly or rightly) only on x = 0");
    assert_eq!(report.first_counterexample.unwrap().got, Err(ExecError::StepLimit { limit: 4096 }));
}

#[test]
fn sorting_checks_every_output_register() {
    let set = TaskSet::builtin();
    let sort3 = set.get("sort3").unwrap();
    // Only the minimum in r0: r1 and r2 are wrong.
    let partial = assemble("min r0, r0, r1\nmin r0, r0, r2").unwrap();
    let report = check_exhaustive(&partial, sort3);
    assert!(!report.passed);
    assert_eq!(report.first_counterexample.unwrap().expected.len(), 3);
    // A bubble sort with a loop passes.
    let bubble = assemble(
        "ldi r5, 2\nagain: max r3, r0, r1\nmin r0, r0, r1\nmax r4, r3, r2\nmin r1, r3, r2\nmov r2, r4\ndec r5, r5\njnz r5, again",
    )
    .unwrap();
    let report = check_exhaustive(&bubble, sort3);
    assert!(report.passed, "{report:?}");
    assert!(report.cycles.mean > report.reference_cycles.mean);
}

#[test]
fn domains_have_the_documented_sizes() {
    assert_eq!(Domain::new(1).len(), 256);
    assert_eq!(Domain::new(2).len(), 65_536);
    assert_eq!(Domain::new(3).len(), 64_000 + SAMPLE_SIZE);
    assert_eq!(Domain::new(4).len(), 65_536 + SAMPLE_SIZE);
    assert_eq!(Domain::new(5).len(), 59_049 + SAMPLE_SIZE);
    let all2: std::collections::HashSet<_> = Domain::new(2).iter().collect();
    assert_eq!(all2.len(), 65_536);
    // The grid of arity 5 contains every tuple of 0s and 255s (the 0-1 principle for comparator networks).
    let grid5: std::collections::HashSet<_> = Domain::new(5).iter().take(59_049).collect();
    for bits in 0..32u8 {
        let t: Vec<u8> = (0..5).map(|i| if bits >> i & 1 == 1 { 255 } else { 0 }).collect();
        assert!(grid5.contains(&[t[0], t[1], t[2], t[3], t[4], 0]));
    }
    // The random part is the same on every iteration.
    assert!(Domain::new(3).iter().eq(Domain::new(3).iter()));
}

#[test]
fn batches_hold_the_domain_in_order() {
    for arity in 1..=5 {
        let domain = Domain::new(arity);
        let (mut batches, mut tuples) = (domain.iter(), domain.iter());
        let mut seen = 0;
        loop {
            let mut regs = [[0u8; baton_tinycpu::LANES]; 6];
            let count = batches.fill_batch(&mut regs);
            if count == 0 {
                break;
            }
            for (lane, t) in tuples.by_ref().take(count).enumerate() {
                assert!((0..arity).all(|r| regs[r][lane] == t[r]), "arity {arity}, tuple {}", seen + lane);
            }
            seen += count;
        }
        assert_eq!(seen, domain.len());
        assert!(tuples.next().is_none());
    }
}

#[test]
fn visible_examples_are_fixed_distinct_and_correct() {
    let set = TaskSet::builtin();
    for task in set.iter() {
        let ex = task.visible_examples();
        assert_eq!(ex.len(), task.visible_examples);
        assert_eq!(ex, task.visible_examples());
        let spec = spec::builtin(&task.name).unwrap();
        for e in &ex {
            assert_eq!(e.outputs, spec(e.inputs.as_slice()));
        }
        let distinct: std::collections::HashSet<_> = ex.iter().map(|e| e.inputs).collect();
        assert_eq!(distinct.len(), ex.len());
    }
}

// ---- the loader ----

const GOOD: &str = r#"
[[task]]
name = "double"
description = "2x"
arity = 1
reference = "add r0, r0, r0"
"#;

fn load_error(text: &str) -> String {
    let err = TaskSet::from_toml(text, "mine.toml").expect_err("should be rejected");
    err.to_string()
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "`{msg}` should mention `{p}`");
    }
}

#[test]
fn a_user_task_file_loads_with_defaults() {
    let set = TaskSet::from_toml(GOOD, "mine.toml").unwrap();
    let t = set.task("double").unwrap();
    assert_eq!((t.arity, t.outputs, t.visible_examples), (1, 1, 8));
    assert!(check_exhaustive(&assemble("shl r0, r0, 1").unwrap(), t).passed);
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, GOOD).unwrap();
    assert_eq!(TaskSet::load(&path).unwrap().len(), 1);
    std::fs::write(&path, GOOD.replace("arity = 1", "arity = 1\ncolour = 3")).unwrap();
    let msg = TaskSet::load(&path).unwrap_err().to_string();
    assert_mentions(&msg, &[&path.display().to_string(), "double", "colour", "unknown field"]);
    let missing = dir.path().join("nope.toml");
    assert!(matches!(TaskSet::load(&missing), Err(TinyCpuError::Io { .. })));
}

#[test]
fn invalid_task_files_name_the_file_the_task_and_the_field() {
    assert_mentions(
        &load_error(&GOOD.replace("arity = 1", "arity = 1\ncolour = 3")),
        &["mine.toml", "`double`", "`colour`", "unknown field"],
    );
    assert_mentions(&load_error(&GOOD.replace("arity = 1", "arity = 6")), &["`double`", "`arity`", "1..=5", "got 6"]);
    assert_mentions(&load_error(&GOOD.replace("arity = 1", "arity = \"one\"")), &["`arity`", "integer"]);
    assert_mentions(&load_error(&GOOD.replace("arity = 1\n", "")), &["`double`", "`arity`", "missing"]);
    assert_mentions(
        &load_error(&GOOD.replace("add r0, r0, r0", "add r0, r9, r0")),
        &["`double`", "`reference`", "line 1", "bad register `r9`"],
    );
    assert_mentions(&load_error(&GOOD.replace("name = \"double\"", "name = \"a b\"")), &["`a b`", "`name`"]);
    assert_mentions(&load_error(&GOOD.replace("name = \"double\"\n", "")), &["#1", "`name`", "missing"]);
    assert_mentions(&load_error(&GOOD.replace("arity = 1", "arity = 1\noutputs = 7")), &["`outputs`", "got 7"]);
    assert_mentions(&load_error(&format!("{GOOD}{GOOD}")), &["`double`", "`name`", "twice"]);
    assert_mentions(&load_error(&format!("colour = 1\n{GOOD}")), &["mine.toml", "colour"]);
    assert_mentions(&load_error(""), &["mine.toml", "no [[task]]"]);
    assert_mentions(&load_error("[[task]\n"), &["mine.toml"]);
    assert_mentions(
        &load_error(&GOOD.replace("add r0, r0, r0", "l: jnz r0, l")),
        &["`double`", "`reference`", "no halt within"],
    );
}
