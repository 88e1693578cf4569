//! # baton-tinycpu: the machine and task set of the CPU-programming workload
//!
//! model.md section 6.3's TinyCPU: an 8-bit register machine small enough that a candidate program can be checked
//! on every input ("hidden exhaustive check"), with a ladder of tasks from two-instruction bit tricks to
//! register sorts. This crate is the machine and the tasks only; the roles that write, test, debug and
//! optimize programs live elsewhere and use this API.
//!
//! ## The machine
//!
//! - Words are 8 bits; arithmetic wraps mod 256.
//! - Six registers `r0..r5`. A task of arity `n` starts with its inputs in `r0..r(n-1)` and every other
//!   register 0. The output is `r0` at halt (tasks with several outputs, the sorts, read `r0..r(n-1)`).
//! - Execution starts at instruction 0 and halts when the program counter runs past the last instruction.
//!   A run that executes more than [`DEFAULT_STEP_LIMIT`] instructions ends with [`ExecError::StepLimit`].
//! - Three-address form: destination first, every source named (`add r0, r1, r2` is `r0 = r1 + r2`);
//!   destination and sources may coincide.
//!
//! | mnemonic | operands | cycles | semantics |
//! |---|---|---|---|
//! | `mov` | rd, rs | 1 | rd = rs |
//! | `ldi` | rd, imm | 1 | rd = imm (`0..=255`, or `-128..=-1` as two's complement) |
//! | `add` | rd, rs1, rs2 | 1 | rd = rs1 + rs2 mod 256 |
//! | `sub` | rd, rs1, rs2 | 1 | rd = rs1 - rs2 mod 256 |
//! | `neg` | rd, rs | 1 | rd = -rs mod 256 |
//! | `inc` | rd, rs | 1 | rd = rs + 1 mod 256 |
//! | `dec` | rd, rs | 1 | rd = rs - 1 mod 256 |
//! | `and` | rd, rs1, rs2 | 1 | rd = rs1 & rs2 |
//! | `or` | rd, rs1, rs2 | 1 | rd = rs1 \| rs2 |
//! | `xor` | rd, rs1, rs2 | 1 | rd = rs1 ^ rs2 |
//! | `not` | rd, rs | 1 | rd = !rs |
//! | `shl` | rd, rs, k | 1 | rd = rs << k, k in `0..=7` |
//! | `shr` | rd, rs, k | 1 | rd = rs >> k, logical |
//! | `sar` | rd, rs, k | 1 | rd = rs >> k, arithmetic (copies of bit 7 shift in) |
//! | `mul` | rd, rs1, rs2 | 3 | rd = rs1 * rs2 mod 256 (the low byte) |
//! | `cmpltu` | rd, rs1, rs2 | 1 | rd = 0xFF if rs1 < rs2 unsigned, else 0 |
//! | `cmplts` | rd, rs1, rs2 | 1 | rd = 0xFF if rs1 < rs2 signed (two's complement), else 0 (an addition to model.md 6.3) |
//! | `cmpeq` | rd, rs1, rs2 | 1 | rd = 0xFF if rs1 == rs2, else 0 |
//! | `min` | rd, rs1, rs2 | 1 | rd = unsigned minimum |
//! | `max` | rd, rs1, rs2 | 1 | rd = unsigned maximum |
//! | `cmovnz` | rd, rs, rc | 1 | if rc != 0 then rd = rs |
//! | `jnz` | rc, label | 1 | if rc != 0 then jump to label (taken or not: 1 cycle) |
//!
//! The text form is described in [`asm`]; the interpreter in [`exec`].
//!
//! ## Tasks
//!
//! A [`Task`] is data: a name, a description, an arity, the number of outputs, and a reference program that
//! defines the ground truth ([`task`] describes the file format). [`check_exhaustive`] compares a candidate
//! with the reference on the task's [`Domain`]: every input for arity 1 and 2 (256 or 65,536 inputs); for
//! arity 3 to 5 a documented reduced domain (a grid of evenly spaced values plus 65,536 seeded random tuples).
//! The built-in set ([`TaskSet::builtin`]) is the Hacker's Delight ladder `p01`..`p25` of Gulwani et al.
//! (PLDI 2011) rescaled to 8 bits, and register sorts `sort3`, `sort4`, `sort5`; [`spec`] holds an independent
//! Rust specification for each, against which the tests check every reference.
//!
//! ```
//! use baton_tinycpu::{assemble, check_exhaustive, run, TaskSet};
//!
//! let tasks = TaskSet::builtin();
//! let p01 = tasks.task("p01")?;                     // turn off the rightmost 1 bit
//! let mine = assemble("dec r1, r0\nand r0, r1, r0")?;
//! assert_eq!(run(&mine, &[0b0110_1000])?.output, 0b0110_0000);
//! let report = check_exhaustive(&mine, p01);
//! assert!(report.passed && report.checked == 256);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod asm;
pub mod check;
pub mod error;
pub mod exec;
pub mod isa;
pub mod mutate;
pub mod spec;
pub mod task;

pub use asm::{assemble, disassemble};
pub use check::{check_exhaustive, CheckReport, Counterexample, CycleStats};
pub use error::{AsmError, AsmErrorKind, TinyCpuError};
pub use exec::{run, run_batch, run_with_limit, BatchRegs, ExecError, Outcome, Values, DEFAULT_STEP_LIMIT, LANES};
pub use isa::{BinOp, Instr, Opcode, Operand, Program, Reg, ShiftOp, UnOp, MAX_PROGRAM_LEN, NUM_REGS};
pub use mutate::{mutate, random_instr, Mutation};
pub use task::{Domain, Example, Task, TaskSet};
