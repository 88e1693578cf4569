//! The roles as program transformers on real TinyCPU programs. Every function here is pure given its random
//! generator: the environment ([`super::world`]) seeds each call from the call's inputs and caches the result.
//!
//! - [`draft`]: the writer, a seeded model of an imperfect writer: the task's reference program, with
//!   probability `1 - writer_skill^(len/2)` broken by one or two random edits ([`baton_tinycpu::mutate()`]),
//!   and padded with up to two dead instructions (writes to a register the reference never uses).
//! - [`sample_inputs`]: the tester's `k` inputs, each word an edge value (0, 1, 0x7F, 0x80, 0xFF, ...) or
//!   uniform with equal probability.
//! - [`debug`]: MCMC over programs (Metropolis, cost = failing tests with wrong bits as a tie-break,
//!   temperature [`DEBUG_TEMPERATURE`], short chains restarted from the given program every
//!   [`DEBUG_RESTART`] proposals) until the tests pass or the budget of proposals ends.
//! - [`optimize`]: dead-code elimination, peepholes, then cycle-cost MCMC constrained to the tests.

use baton_core::Rng;
use baton_tinycpu::{
    mutate, random_instr, run_batch, run_with_limit, BatchRegs, BinOp, Instr, Program, Reg, ShiftOp, Task, UnOp,
    Values, DEFAULT_STEP_LIMIT, LANES, NUM_REGS,
};
use rand::Rng as _;

/// Longest program the debugger and optimizer propose (twice the longest reference is plenty).
pub const MAX_CANDIDATE_LEN: usize = 40;

/// Words a tester favours: the edges of unsigned and signed ranges.
const EDGES: [u8; 10] = [0, 1, 2, 0x7E, 0x7F, 0x80, 0x81, 0xFD, 0xFE, 0xFF];

/// A set of tests (inputs with the reference's outputs), laid out for [`run_batch`].
#[derive(Clone, Debug)]
pub struct TestSet {
    batches: Vec<(Box<BatchRegs>, usize)>,
    expected: Vec<[u8; NUM_REGS]>,
    inputs: Vec<Values>,
    outputs: usize,
}

/// How a program does on a [`TestSet`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    /// Tests whose outputs differ (a step-limit error counts as a failure).
    pub failing: u32,
    /// Output bits wrong, summed over tests (8 per output word of a failed run).
    pub distance: u32,
}

impl TestSet {
    /// Tests on `inputs` with the expected outputs of `task`'s reference program.
    pub fn new(task: &Task, inputs: &[Values]) -> TestSet {
        let mut batches = Vec::new();
        let mut expected = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(LANES) {
            let mut regs: Box<BatchRegs> = Box::new([[0; LANES]; NUM_REGS]);
            for (lane, v) in chunk.iter().enumerate() {
                for (r, &x) in v.as_slice().iter().enumerate() {
                    regs[r][lane] = x;
                }
            }
            batches.push((regs, chunk.len()));
        }
        for v in inputs {
            let mut want = [0u8; NUM_REGS];
            if let Ok(out) = task.expected(v.as_slice()) {
                want[..task.outputs].copy_from_slice(out.as_slice());
            }
            expected.push(want);
        }
        TestSet { batches, expected, inputs: inputs.to_vec(), outputs: task.outputs }
    }

    /// The union of two test sets of the same task.
    pub fn union(&self, other: &TestSet, task: &Task) -> TestSet {
        let mut inputs = self.inputs.clone();
        inputs.extend(other.inputs.iter().copied());
        TestSet::new(task, &inputs)
    }

    /// Number of tests.
    pub fn len(&self) -> usize {
        self.expected.len()
    }

    /// Whether there are no tests.
    pub fn is_empty(&self) -> bool {
        self.expected.is_empty()
    }

    /// The test inputs.
    pub fn inputs(&self) -> &[Values] {
        &self.inputs
    }

    /// Run `program` on every test. Straight-line programs run [`LANES`] tests at a time; programs with
    /// `jnz` run one test at a time under the step limit. Allocates nothing.
    pub fn score(&self, program: &Program) -> Score {
        let n = self.outputs;
        let mut s = Score::default();
        if program.has_jumps() {
            for (v, want) in self.inputs.iter().zip(&self.expected) {
                match run_with_limit(program, v.as_slice(), DEFAULT_STEP_LIMIT) {
                    Ok(out) => {
                        let d: u32 = (0..n).map(|r| (out.regs[r] ^ want[r]).count_ones()).sum();
                        s.failing += u32::from(d > 0);
                        s.distance += d;
                    }
                    Err(_) => {
                        s.failing += 1;
                        s.distance += 8 * n as u32;
                    }
                }
            }
            return s;
        }
        let mut base = 0;
        for (inputs, count) in &self.batches {
            let mut regs: BatchRegs = **inputs;
            run_batch(program, &mut regs);
            for (lane, want) in self.expected[base..base + count].iter().enumerate() {
                let d: u32 = (0..n).map(|r| (regs[r][lane] ^ want[r]).count_ones()).sum();
                s.failing += u32::from(d > 0);
                s.distance += d;
            }
            base += count;
        }
        s
    }
}

/// The tester's sample: `k` inputs of `task`, each word an edge value or uniform with equal probability.
pub fn sample_inputs(task: &Task, k: usize, rng: &mut Rng) -> Vec<Values> {
    (0..k)
        .map(|_| {
            let mut v = [0u8; NUM_REGS];
            for w in v.iter_mut().take(task.arity) {
                *w = if rng.random::<bool>() { EDGES[rng.random_range(0..EDGES.len())] } else { rng.random() };
            }
            Values::from_slice(&v[..task.arity])
        })
        .collect()
}

/// Registers the reference never mentions and that hold neither an input nor an output: where a verbose
/// writer's dead code goes.
pub fn free_registers(task: &Task) -> Vec<Reg> {
    let mut used = [false; NUM_REGS];
    for r in used.iter_mut().take(task.arity.max(task.outputs)) {
        *r = true;
    }
    for i in &task.reference.instrs {
        for r in i.sources().chain(i.dest()) {
            used[r.index()] = true;
        }
    }
    Reg::ALL.into_iter().filter(|r| !used[r.index()]).collect()
}

/// The probability that the writer's draft is the unbroken reference: `skill^(len/2)`.
pub fn writer_correct_probability(task: &Task, skill: f64) -> f64 {
    skill.powf(task.reference.len() as f64 / 2.0)
}

/// The writer: the reference, broken by one or two random edits with probability
/// `1 - skill^(len/2)`, padded with 0 to 2 dead instructions when a free register exists.
pub fn draft(task: &Task, skill: f64, rng: &mut Rng) -> Program {
    let mut p = task.reference.clone();
    if rng.random::<f64>() >= writer_correct_probability(task, skill) {
        let edits = 1 + usize::from(rng.random::<f64>() < 0.4);
        for _ in 0..edits {
            mutate(&mut p, rng);
        }
    }
    let free = free_registers(task);
    if !free.is_empty() && !p.has_jumps() {
        for _ in 0..rng.random_range(0..=2u32) {
            let mut i = random_instr(rng);
            let rd = free[rng.random_range(0..free.len())];
            i = with_dest(i, rd);
            let at = rng.random_range(0..=p.len());
            p.instrs.insert(at, i);
        }
    }
    p
}

fn with_dest(i: Instr, rd: Reg) -> Instr {
    match i {
        Instr::Bin { op, rs1, rs2, .. } => Instr::Bin { op, rd, rs1, rs2 },
        Instr::Un { op, rs, .. } => Instr::Un { op, rd, rs },
        Instr::Shift { op, rs, k, .. } => Instr::Shift { op, rd, rs, k },
        Instr::Ldi { imm, .. } => Instr::Ldi { rd, imm },
        Instr::Cmovnz { rs, rc, .. } => Instr::Cmovnz { rd, rs, rc },
        j @ Instr::Jnz { .. } => j,
    }
}

/// What a debugger or optimizer call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The resulting program.
    pub program: Program,
    /// Proposals evaluated (at most the budget).
    pub proposals: u32,
}

/// Metropolis acceptance of a cost change `delta` at temperature `temperature`.
fn metropolis_accept(delta: f64, temperature: f64, rng: &mut Rng) -> bool {
    delta <= 0.0 || rng.random::<f64>() < (-delta / temperature).exp()
}

/// The debugger restarts its chain from the program it was handed every this many proposals: a local
/// search over programs a few edits away (measured on single-edit bugs of every built-in task with 64
/// tests: 4 repairs 30% at 400 proposals and 44% at 2000, against 6% and 13% for one unbroken chain).
pub const DEBUG_RESTART: u32 = 4;

/// The debugger's temperature, in failing tests.
pub const DEBUG_TEMPERATURE: f64 = 0.5;

/// The debugger's cost: failing tests, plus the wrong output bits as a fraction below one (a tie-break that
/// prefers near misses without pulling the search towards constant outputs, which are few bits from many
/// answers).
fn debug_cost(s: Score, tests: &TestSet) -> f64 {
    let bits = 8.0 * tests.outputs as f64 * tests.len().max(1) as f64;
    f64::from(s.failing) + f64::from(s.distance) / (bits + 1.0)
}

/// The debugger: Metropolis MCMC with [`mutate()`] proposals, cost = output bits wrong on `tests`, until every
/// test passes or `budget` proposals are spent. Returns the best program seen (the input if nothing was
/// better).
pub fn debug(program: &Program, tests: &TestSet, budget: u32, rng: &mut Rng) -> Edit {
    let mut cur = program.clone();
    let start_cost = debug_cost(tests.score(&cur), tests);
    let mut cur_cost = start_cost;
    let mut best = cur.clone();
    let mut best_cost = cur_cost;
    let mut cand = Program::default();
    let mut used = 0;
    while used < budget && best_cost > 0.0 {
        if used % DEBUG_RESTART == 0 {
            // A local search: every DEBUG_RESTART proposals, start again from the program as handed over.
            cur.instrs.clone_from(&program.instrs);
            cur_cost = start_cost;
        }
        used += 1;
        cand.instrs.clone_from(&cur.instrs);
        mutate(&mut cand, rng);
        if cand.len() > MAX_CANDIDATE_LEN {
            continue;
        }
        let c = debug_cost(tests.score(&cand), tests);
        if metropolis_accept(c - cur_cost, DEBUG_TEMPERATURE, rng) {
            std::mem::swap(&mut cur, &mut cand);
            cur_cost = c;
            if c < best_cost {
                best.instrs.clone_from(&cur.instrs);
                best_cost = c;
            }
        }
    }
    Edit { program: best, proposals: used }
}

/// Removes instructions whose result is never read before being overwritten or the end (straight-line
/// programs only; a program with `jnz` is returned as is). `outputs` registers `r0..` are live at the end.
pub fn dead_code(program: &Program, outputs: usize) -> Program {
    if program.has_jumps() {
        return program.clone();
    }
    let mut live = [false; NUM_REGS];
    for l in live.iter_mut().take(outputs) {
        *l = true;
    }
    let mut keep = vec![false; program.len()];
    for (i, instr) in program.instrs.iter().enumerate().rev() {
        let Some(rd) = instr.dest() else {
            keep[i] = true;
            continue;
        };
        if !live[rd.index()] {
            continue;
        }
        keep[i] = true;
        live[rd.index()] = false;
        for s in instr.sources() {
            live[s.index()] = true;
        }
    }
    Program::new(program.instrs.iter().zip(keep).filter(|(_, k)| *k).map(|(i, _)| *i).collect())
}

/// Local rewrites that keep the semantics: `mov r, r` goes; a shift by 0, `and`/`or`/`min`/`max` of a
/// register with itself become `mov`.
pub fn peephole(program: &Program) -> Program {
    let out = program
        .instrs
        .iter()
        .filter_map(|&i| match i {
            Instr::Un { op: UnOp::Mov, rd, rs } if rd == rs => None,
            Instr::Shift { op: ShiftOp::Shl | ShiftOp::Shr | ShiftOp::Sar, rd, rs, k: 0 } => {
                (rd != rs).then_some(Instr::Un { op: UnOp::Mov, rd, rs })
            }
            Instr::Bin { op: BinOp::And | BinOp::Or | BinOp::Min | BinOp::Max, rd, rs1, rs2 } if rs1 == rs2 => {
                (rd != rs1).then_some(Instr::Un { op: UnOp::Mov, rd, rs: rs1 })
            }
            other => Some(other),
        })
        .collect();
    if program.has_jumps() {
        // Removing instructions would move jump targets; keep programs with jumps as they are.
        return program.clone();
    }
    Program::new(out)
}

/// The optimizer: peepholes and dead-code elimination (always), then, if the program passes every test,
/// Metropolis MCMC on the cycle count with every test as a hard constraint, for `budget` proposals. Returns
/// the fastest passing program seen.
pub fn optimize(program: &Program, tests: &TestSet, outputs: usize, budget: u32, rng: &mut Rng) -> Edit {
    let cleaned = dead_code(&peephole(program), outputs);
    if cleaned.has_jumps() || tests.score(&cleaned).failing > 0 {
        return Edit { program: cleaned, proposals: 0 };
    }
    let mut cur = cleaned;
    let mut cur_cost = cur.straight_line_cycles();
    let mut best = cur.clone();
    let mut best_cost = cur_cost;
    let mut cand = Program::default();
    let mut used = 0;
    while used < budget {
        used += 1;
        cand.instrs.clone_from(&cur.instrs);
        mutate(&mut cand, rng);
        if cand.len() > MAX_CANDIDATE_LEN || tests.score(&cand).failing > 0 {
            continue;
        }
        let c = cand.straight_line_cycles();
        if metropolis_accept(f64::from(c) - f64::from(cur_cost), 1.0, rng) {
            std::mem::swap(&mut cur, &mut cand);
            cur_cost = c;
            if c < best_cost {
                best.instrs.clone_from(&cur.instrs);
                best_cost = c;
            }
        }
    }
    Edit { program: dead_code(&best, outputs), proposals: used }
}
