//! The interpreter: cycle-counted execution with a step cap.
//!
//! Execution starts at instruction 0 with the inputs in `r0, r1, ...` and every other register 0, and halts
//! when the program counter reaches the end of the program (or a `jnz` jumps to or past it). The output is
//! `r0` at halt; tasks with several outputs (the sorts) read `r0..r(n-1)`. A program that executes more than
//! the step limit of instructions is stopped with [`ExecError::StepLimit`]: an error value, never a hang.
//! The loop allocates nothing.

use std::fmt;

use thiserror::Error;

use crate::isa::{BinOp, Instr, Program, ShiftOp, UnOp, NUM_REGS};

/// Default cap on executed instructions per run: far above any straight-line program (at most
/// [`crate::MAX_PROGRAM_LEN`] instructions), small enough that a runaway loop costs microseconds.
pub const DEFAULT_STEP_LIMIT: u32 = 4096;

/// Why a run produced no result.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq, Hash)]
pub enum ExecError {
    /// The program executed `limit` instructions without halting (a loop that does not end in time).
    #[error("no halt within {limit} steps")]
    StepLimit {
        /// The step limit that was hit.
        limit: u32,
    },
    /// More inputs than registers.
    #[error("{given} inputs given, the machine has {NUM_REGS} registers")]
    TooManyInputs {
        /// How many inputs were given.
        given: usize,
    },
}

/// The result of a run that halted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// `r0` at halt: the output.
    pub output: u8,
    /// Every register at halt, `r0..r5` (multi-output tasks read a prefix).
    pub regs: [u8; NUM_REGS],
    /// Cycles spent (the sum of [`crate::Opcode::cycles`] over executed instructions).
    pub cycles: u32,
    /// Instructions executed.
    pub steps: u32,
}

impl Outcome {
    /// The first `n` registers as [`Values`] (`n` is clamped to the register count).
    pub fn outputs(&self, n: usize) -> Values {
        Values::from_regs(&self.regs, n)
    }
}

/// Up to six words: a task's inputs (`r0..r(arity-1)` at start) or outputs (`r0..r(n-1)` at halt, `n` = 1 for
/// most tasks, the arity for sorts).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Values {
    vals: [u8; NUM_REGS],
    len: u8,
}

impl Values {
    /// The first `n` of `regs` (clamped to the register count).
    pub fn from_regs(regs: &[u8; NUM_REGS], n: usize) -> Values {
        let n = n.min(NUM_REGS);
        let mut vals = [0; NUM_REGS];
        vals[..n].copy_from_slice(&regs[..n]);
        Values { vals, len: n as u8 }
    }

    /// These values (at most 6).
    pub fn from_slice(values: &[u8]) -> Values {
        let n = values.len().min(NUM_REGS);
        let mut vals = [0; NUM_REGS];
        vals[..n].copy_from_slice(&values[..n]);
        Values { vals, len: n as u8 }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values.
    pub fn as_slice(&self) -> &[u8] {
        &self.vals[..self.len as usize]
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl fmt::Display for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_values(f, self.as_slice())
    }
}

/// Write values as `a, b, c`, each in decimal with its hex form (`37 (0x25)`).
pub(crate) fn write_values(f: &mut impl fmt::Write, values: &[u8]) -> fmt::Result {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{v} ({v:#04x})")?;
    }
    Ok(())
}

/// Run `program` on `inputs` (loaded into `r0, r1, ...`) with the [`DEFAULT_STEP_LIMIT`].
pub fn run(program: &Program, inputs: &[u8]) -> Result<Outcome, ExecError> {
    run_with_limit(program, inputs, DEFAULT_STEP_LIMIT)
}

/// Run `program` on `inputs`, stopping with [`ExecError::StepLimit`] after `limit` executed instructions.
pub fn run_with_limit(program: &Program, inputs: &[u8], limit: u32) -> Result<Outcome, ExecError> {
    if inputs.len() > NUM_REGS {
        return Err(ExecError::TooManyInputs { given: inputs.len() });
    }
    let mut regs = [0u8; NUM_REGS];
    regs[..inputs.len()].copy_from_slice(inputs);
    run_regs(&program.instrs, regs, limit)
}

/// The hot loop: registers in, registers out. Register numbers are `< 6` by construction of [`crate::Reg`];
/// the file has 8 slots and indices are masked with 7, so no bounds check is needed.
#[inline]
pub(crate) fn run_regs(code: &[Instr], regs: [u8; NUM_REGS], limit: u32) -> Result<Outcome, ExecError> {
    let mut r = [0u8; 8];
    r[..NUM_REGS].copy_from_slice(&regs);
    let mut pc = 0usize;
    let mut steps = 0u32;
    let mut extra = 0u32; // cycles beyond one per instruction (mul)
                          // `steps` is checked against `limit` only at taken jumps and at halt: between two taken jumps the program
                          // runs forward, so the verdict (more than `limit` instructions executed or not) is the same as checking
                          // before every instruction.
    while let Some(&instr) = code.get(pc) {
        steps = steps.wrapping_add(1);
        pc += 1;
        match instr {
            Instr::Bin { op, rd, rs1, rs2 } => {
                r[rd.index() & 7] = op.apply(r[rs1.index() & 7], r[rs2.index() & 7]);
                if op == BinOp::Mul {
                    extra += 2;
                }
            }
            Instr::Un { op, rd, rs } => r[rd.index() & 7] = op.apply(r[rs.index() & 7]),
            Instr::Shift { op, rd, rs, k } => r[rd.index() & 7] = op.apply(r[rs.index() & 7], k),
            Instr::Ldi { rd, imm } => r[rd.index() & 7] = imm,
            Instr::Cmovnz { rd, rs, rc } => {
                if r[rc.index() & 7] != 0 {
                    r[rd.index() & 7] = r[rs.index() & 7];
                }
            }
            Instr::Jnz { rc, target } => {
                if r[rc.index() & 7] != 0 {
                    if steps >= limit && usize::from(target) < code.len() {
                        return Err(ExecError::StepLimit { limit });
                    }
                    pc = target as usize;
                }
            }
        }
    }
    if steps > limit {
        return Err(ExecError::StepLimit { limit });
    }
    let cycles = steps + extra;
    let mut out = [0u8; NUM_REGS];
    out.copy_from_slice(&r[..NUM_REGS]);
    Ok(Outcome { output: out[0], regs: out, cycles, steps })
}

/// Lanes of [`run_batch`]: inputs run side by side through a straight-line program.
pub const LANES: usize = 256;

/// One register per row, one input per lane.
pub type BatchRegs = [[u8; LANES]; NUM_REGS];

/// Run a straight-line program (no `jnz`: every instruction executes exactly once) on [`LANES`] inputs at once,
/// one instruction over all lanes at a time, so the instruction is decoded once per batch and the lane loops
/// vectorize. Returns the cycles of one run (the same for every lane), or `None` if the program has a `jnz`
/// (use [`run`] then).
pub fn run_batch(program: &Program, regs: &mut BatchRegs) -> Option<u32> {
    if program.has_jumps() {
        return None;
    }
    for &instr in &program.instrs {
        match instr {
            Instr::Bin { op, rd, rs1, rs2 } => {
                let (a, b) = (regs[rs1.index()], regs[rs2.index()]);
                let d = &mut regs[rd.index()];
                macro_rules! lanes {
                    ($f:expr) => {
                        for ((d, &a), &b) in d.iter_mut().zip(a.iter()).zip(b.iter()) {
                            *d = $f(a, b);
                        }
                    };
                }
                match op {
                    BinOp::Add => lanes!(|a: u8, b: u8| a.wrapping_add(b)),
                    BinOp::Sub => lanes!(|a: u8, b: u8| a.wrapping_sub(b)),
                    BinOp::Mul => lanes!(|a: u8, b: u8| a.wrapping_mul(b)),
                    BinOp::And => lanes!(|a: u8, b: u8| a & b),
                    BinOp::Or => lanes!(|a: u8, b: u8| a | b),
                    BinOp::Xor => lanes!(|a: u8, b: u8| a ^ b),
                    BinOp::CmpLtu => lanes!(|a: u8, b: u8| 0u8.wrapping_sub(u8::from(a < b))),
                    BinOp::CmpLts => lanes!(|a: u8, b: u8| 0u8.wrapping_sub(u8::from((a as i8) < (b as i8)))),
                    BinOp::CmpEq => lanes!(|a: u8, b: u8| 0u8.wrapping_sub(u8::from(a == b))),
                    BinOp::Min => lanes!(|a: u8, b: u8| a.min(b)),
                    BinOp::Max => lanes!(|a: u8, b: u8| a.max(b)),
                }
            }
            Instr::Un { op, rd, rs } => {
                let a = regs[rs.index()];
                let d = &mut regs[rd.index()];
                macro_rules! lanes {
                    ($f:expr) => {
                        for (d, &a) in d.iter_mut().zip(a.iter()) {
                            *d = $f(a);
                        }
                    };
                }
                match op {
                    UnOp::Mov => *d = a,
                    UnOp::Neg => lanes!(|a: u8| a.wrapping_neg()),
                    UnOp::Inc => lanes!(|a: u8| a.wrapping_add(1)),
                    UnOp::Dec => lanes!(|a: u8| a.wrapping_sub(1)),
                    UnOp::Not => lanes!(|a: u8| !a),
                }
            }
            Instr::Shift { op, rd, rs, k } => {
                let a = regs[rs.index()];
                let d = &mut regs[rd.index()];
                let k = k & 7;
                match op {
                    ShiftOp::Shl => d.iter_mut().zip(a.iter()).for_each(|(d, &a)| *d = a << k),
                    ShiftOp::Shr => d.iter_mut().zip(a.iter()).for_each(|(d, &a)| *d = a >> k),
                    ShiftOp::Sar => d.iter_mut().zip(a.iter()).for_each(|(d, &a)| *d = ((a as i8) >> k) as u8),
                }
            }
            Instr::Ldi { rd, imm } => regs[rd.index()] = [imm; LANES],
            Instr::Cmovnz { rd, rs, rc } => {
                let (s, c) = (regs[rs.index()], regs[rc.index()]);
                for ((d, &s), &c) in regs[rd.index()].iter_mut().zip(s.iter()).zip(c.iter()) {
                    *d = if c != 0 { s } else { *d };
                }
            }
            Instr::Jnz { .. } => unreachable!("checked above: no jnz"),
        }
    }
    Some(program.straight_line_cycles())
}
