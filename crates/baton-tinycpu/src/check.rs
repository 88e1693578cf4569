//! Exhaustive (hidden) checking of a program against a task.

use std::fmt;

use crate::exec::{run_batch, run_regs, write_values, BatchRegs, ExecError, Values, DEFAULT_STEP_LIMIT, LANES};
use crate::isa::{Program, NUM_REGS};
use crate::task::{ReferenceRun, Task};

/// An input on which a candidate is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counterexample {
    /// The inputs.
    pub inputs: Values,
    /// What the reference gives.
    pub expected: Values,
    /// What the candidate gave, or why it gave nothing.
    pub got: Result<Values, ExecError>,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("inputs ")?;
        write_values(f, self.inputs.as_slice())?;
        f.write_str(": expected ")?;
        write_values(f, self.expected.as_slice())?;
        f.write_str(", got ")?;
        match &self.got {
            Ok(v) => write_values(f, v.as_slice()),
            Err(e) => write!(f, "an error ({e})"),
        }
    }
}

/// Cycle counts over the runs that halted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CycleStats {
    /// Mean cycles per run (0 if no run halted).
    pub mean: f64,
    /// Fewest cycles of a run.
    pub min: u32,
    /// Most cycles of a run.
    pub max: u32,
}

/// The verdict of [`check_exhaustive`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// Whether the candidate matched the reference on every input of the domain.
    pub passed: bool,
    /// Inputs checked (the size of the task's [`crate::Domain`]).
    pub checked: u64,
    /// Inputs on which the candidate was wrong or hit the step limit.
    pub failed: u64,
    /// The first failing input in domain order.
    pub first_counterexample: Option<Counterexample>,
    /// The candidate's cycles over the inputs where it halted.
    pub cycles: CycleStats,
    /// The reference program's cycles over the same domain.
    pub reference_cycles: CycleStats,
}

#[derive(Default)]
struct Accumulator {
    total: u64,
    runs: u64,
    min: u32,
    max: u32,
}

impl Accumulator {
    fn add(&mut self, cycles: u32) {
        if self.runs == 0 || cycles < self.min {
            self.min = cycles;
        }
        self.max = self.max.max(cycles);
        self.total += u64::from(cycles);
        self.runs += 1;
    }

    fn stats(&self) -> CycleStats {
        let mean = if self.runs == 0 { 0.0 } else { self.total as f64 / self.runs as f64 };
        CycleStats { mean, min: self.min, max: self.max }
    }
}

/// The reference's outputs and cycles over the task's domain, computed once per task (and again only if
/// the task's `reference` field was changed since).
fn reference_run(task: &Task) -> std::borrow::Cow<'_, ReferenceRun> {
    let compute = || {
        let n = task.outputs;
        let mut outputs = Vec::with_capacity(task.domain().len() * n);
        let mut acc = Accumulator::default();
        for regs in task.domain().iter() {
            // The reference was validated to halt on the whole domain when the task was loaded; should it not
            // (a reference edited since), its outputs are recorded as all zero.
            match run_regs(&task.reference.instrs, regs, DEFAULT_STEP_LIMIT) {
                Ok(out) => {
                    acc.add(out.cycles);
                    outputs.extend_from_slice(&out.regs[..n]);
                }
                Err(_) => outputs.extend(std::iter::repeat_n(0, n)),
            }
        }
        ReferenceRun { program: task.reference.clone(), outputs, cycles: acc.stats() }
    };
    let cached = task.cache.0.get_or_init(compute);
    if cached.program == task.reference {
        std::borrow::Cow::Borrowed(cached)
    } else {
        std::borrow::Cow::Owned(compute())
    }
}

/// Run `program` on every input of the task's [`crate::Domain`] (all 256 or 65,536 inputs for arity 1 or 2;
/// the documented reduced domain for arity 3 to 5) and compare the first `task.outputs` registers at halt with
/// the reference program's (computed once per task and kept). A candidate that hits the step limit fails on
/// that input.
pub fn check_exhaustive(program: &Program, task: &Task) -> CheckReport {
    let reference = reference_run(task);
    let mut report = CheckReport {
        passed: true,
        checked: 0,
        failed: 0,
        first_counterexample: None,
        cycles: CycleStats::default(),
        reference_cycles: reference.cycles,
    };
    if program.has_jumps() {
        check_scalar(program, task, &reference.outputs, &mut report);
    } else {
        check_batched(program, task, &reference.outputs, &mut report);
    }
    report
}

/// One run per input (any program).
pub(crate) fn check_scalar(program: &Program, task: &Task, reference: &[u8], report: &mut CheckReport) {
    let mut mine = Accumulator::default();
    let n = task.outputs;
    for (regs, want) in task.domain().iter().zip(reference.chunks_exact(n)) {
        report.checked += 1;
        let got = run_regs(&program.instrs, regs, DEFAULT_STEP_LIMIT);
        let ok = match &got {
            Ok(out) => {
                mine.add(out.cycles);
                &out.regs[..n] == want
            }
            Err(_) => false,
        };
        if !ok {
            report.passed = false;
            report.failed += 1;
            if report.first_counterexample.is_none() {
                report.first_counterexample = Some(Counterexample {
                    inputs: Values::from_slice(&regs[..task.arity]),
                    expected: Values::from_slice(want),
                    got: got.map(|o| o.outputs(n)),
                });
            }
        }
    }
    report.cycles = mine.stats();
}

/// [`LANES`] inputs per pass with [`run_batch`] (straight-line programs only; same verdicts as
/// [`check_scalar`], tested).
fn check_batched(program: &Program, task: &Task, reference: &[u8], report: &mut CheckReport) {
    let (n, arity) = (task.outputs, task.arity);
    let mut domain = task.domain().iter();
    let mut cycles = 0;
    loop {
        let mut inputs: BatchRegs = [[0; LANES]; NUM_REGS];
        let count = domain.fill_batch(&mut inputs);
        if count == 0 {
            break;
        }
        let mut regs = inputs;
        cycles = run_batch(program, &mut regs).unwrap_or(0);
        let base = report.checked as usize;
        let want_batch = &reference[base * n..(base + count) * n];
        if n == 1 && regs[0][..count] == *want_batch {
            report.checked += count as u64;
            continue; // the common case, one comparison of the whole batch
        }
        for lane in 0..count {
            let want = &want_batch[lane * n..][..n];
            if (0..n).all(|r| regs[r][lane] == want[r]) {
                continue;
            }
            report.passed = false;
            report.failed += 1;
            if report.first_counterexample.is_none() {
                let column = |rows: &BatchRegs, k: usize| {
                    let mut v = [0u8; NUM_REGS];
                    for (r, out) in v.iter_mut().enumerate().take(k) {
                        *out = rows[r][lane];
                    }
                    Values::from_slice(&v[..k])
                };
                report.first_counterexample = Some(Counterexample {
                    inputs: column(&inputs, arity),
                    expected: Values::from_slice(want),
                    got: Ok(column(&regs, n)),
                });
            }
        }
        report.checked += count as u64;
    }
    if report.checked > 0 {
        report.cycles = CycleStats { mean: f64::from(cycles), min: cycles, max: cycles };
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::mutate::random_instr;
    use crate::task::TaskSet;

    /// The batched check (straight-line programs) gives the same report as one run per input.
    #[test]
    fn batched_and_scalar_checks_agree() {
        let set = TaskSet::builtin();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for name in ["p01", "p10", "p13", "p25", "sort3", "sort5"] {
            let task = set.get(name).expect("built-in");
            let reference = reference_run(task);
            let mut programs = vec![task.reference.clone(), Program::default()];
            for len in [1, 3, 8, 20] {
                programs.push(Program::new((0..len).map(|_| random_instr(&mut rng)).collect()));
            }
            // A near miss: the reference with its last instruction redrawn.
            let mut near = task.reference.clone();
            if let Some(last) = near.instrs.last_mut() {
                *last = random_instr(&mut rng);
            }
            programs.push(near);
            for p in &programs {
                let batched = check_exhaustive(p, task);
                let mut scalar = batched.clone();
                scalar.passed = true;
                scalar.checked = 0;
                scalar.failed = 0;
                scalar.first_counterexample = None;
                check_scalar(p, task, &reference.outputs, &mut scalar);
                assert_eq!(batched, scalar, "{name}: {p}");
            }
        }
    }
}
