//! Random instructions and random program edits, the proposal moves of an MCMC search over programs
//! (in the style of stochastic superoptimization).
//!
//! [`random_instr`] draws straight-line instructions only (no `jnz`); [`mutate`] never introduces a `jnz` but
//! keeps the targets of existing ones pointing at the same instructions when it inserts or deletes.

use rand::Rng;

use crate::isa::{BinOp, Instr, Opcode, Program, Reg, ShiftOp, UnOp, MAX_PROGRAM_LEN, NUM_REGS};

/// The edit [`mutate`] made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// The instruction at this index was replaced by a random one.
    Replace(usize),
    /// The opcode at this index was changed to another with the same operand shape.
    Opcode(usize),
    /// One operand of the instruction at this index was redrawn.
    Operand(usize),
    /// The instructions at these two indices were swapped.
    Swap(usize, usize),
    /// A random instruction was inserted at this index.
    Insert(usize),
    /// The instruction at this index was deleted.
    Delete(usize),
}

fn reg<R: Rng + ?Sized>(rng: &mut R) -> Reg {
    Reg::ALL[rng.random_range(0..NUM_REGS)]
}

/// A uniformly random straight-line instruction: a uniform opcode among the 21 that are not `jnz`, then
/// uniform operands (registers `r0..r5`, constants `0..=255`, shifts `0..=7`).
pub fn random_instr<R: Rng + ?Sized>(rng: &mut R) -> Instr {
    let opcodes = &Opcode::ALL[..Opcode::ALL.len() - 1];
    match opcodes[rng.random_range(0..opcodes.len())] {
        Opcode::Bin(op) => Instr::Bin { op, rd: reg(rng), rs1: reg(rng), rs2: reg(rng) },
        Opcode::Un(op) => Instr::Un { op, rd: reg(rng), rs: reg(rng) },
        Opcode::Shift(op) => Instr::Shift { op, rd: reg(rng), rs: reg(rng), k: rng.random_range(0..8) },
        Opcode::Ldi => Instr::Ldi { rd: reg(rng), imm: rng.random() },
        Opcode::Cmovnz => Instr::Cmovnz { rd: reg(rng), rs: reg(rng), rc: reg(rng) },
        Opcode::Jnz => unreachable!("jnz is excluded"),
    }
}

/// Another opcode of the same operand shape (the same one if it has no sibling).
fn other_opcode<R: Rng + ?Sized>(instr: Instr, rng: &mut R) -> Instr {
    fn pick<T: Copy + PartialEq, R: Rng + ?Sized>(all: &[T], not: T, rng: &mut R) -> T {
        let i = rng.random_range(0..all.len() - 1);
        if all[i] == not {
            all[all.len() - 1]
        } else {
            all[i]
        }
    }
    match instr {
        Instr::Bin { op, rd, rs1, rs2 } => Instr::Bin { op: pick(&BinOp::ALL, op, rng), rd, rs1, rs2 },
        Instr::Un { op, rd, rs } => Instr::Un { op: pick(&UnOp::ALL, op, rng), rd, rs },
        Instr::Shift { op, rd, rs, k } => Instr::Shift { op: pick(&ShiftOp::ALL, op, rng), rd, rs, k },
        // cmovnz shares its shape with the two-source operations.
        Instr::Cmovnz { rd, rs, rc } => {
            Instr::Bin { op: BinOp::ALL[rng.random_range(0..BinOp::ALL.len())], rd, rs1: rs, rs2: rc }
        }
        other => other,
    }
}

/// Redraw one operand of `instr` (a `jnz` target is redrawn in `0..=len`).
fn other_operand<R: Rng + ?Sized>(instr: Instr, len: usize, rng: &mut R) -> Instr {
    let slot = rng.random_range(0..instr.opcode().operands().len());
    match instr {
        Instr::Bin { op, rd, rs1, rs2 } => match slot {
            0 => Instr::Bin { op, rd: reg(rng), rs1, rs2 },
            1 => Instr::Bin { op, rd, rs1: reg(rng), rs2 },
            _ => Instr::Bin { op, rd, rs1, rs2: reg(rng) },
        },
        Instr::Un { op, rd, rs } => match slot {
            0 => Instr::Un { op, rd: reg(rng), rs },
            _ => Instr::Un { op, rd, rs: reg(rng) },
        },
        Instr::Shift { op, rd, rs, k } => match slot {
            0 => Instr::Shift { op, rd: reg(rng), rs, k },
            1 => Instr::Shift { op, rd, rs: reg(rng), k },
            _ => Instr::Shift { op, rd, rs, k: rng.random_range(0..8) },
        },
        Instr::Ldi { rd, imm } => match slot {
            0 => Instr::Ldi { rd: reg(rng), imm },
            _ => Instr::Ldi { rd, imm: rng.random() },
        },
        Instr::Cmovnz { rd, rs, rc } => match slot {
            0 => Instr::Cmovnz { rd: reg(rng), rs, rc },
            1 => Instr::Cmovnz { rd, rs: reg(rng), rc },
            _ => Instr::Cmovnz { rd, rs, rc: reg(rng) },
        },
        Instr::Jnz { rc, target } => match slot {
            0 => Instr::Jnz { rc: reg(rng), target },
            _ => Instr::Jnz { rc, target: rng.random_range(0..=len) as u16 },
        },
    }
}

/// Apply one random edit to `program` and say which. Moves, with equal probability among those possible:
/// replace an instruction, change an opcode, redraw an operand, swap two instructions, insert a random
/// instruction (below [`MAX_PROGRAM_LEN`]), delete an instruction. An empty program always gets an insert.
pub fn mutate<R: Rng + ?Sized>(program: &mut Program, rng: &mut R) -> Mutation {
    let len = program.len();
    if len == 0 {
        program.instrs.push(random_instr(rng));
        return Mutation::Insert(0);
    }
    let moves = if len < MAX_PROGRAM_LEN { 6 } else { 5 };
    let at = rng.random_range(0..len);
    match rng.random_range(0..moves) {
        0 => {
            program.instrs[at] = random_instr(rng);
            Mutation::Replace(at)
        }
        1 => {
            program.instrs[at] = other_opcode(program.instrs[at], rng);
            Mutation::Opcode(at)
        }
        2 => {
            program.instrs[at] = other_operand(program.instrs[at], len, rng);
            Mutation::Operand(at)
        }
        3 => {
            let other = rng.random_range(0..len);
            program.instrs.swap(at, other);
            Mutation::Swap(at, other)
        }
        4 => {
            program.instrs.remove(at);
            for instr in &mut program.instrs {
                if let Instr::Jnz { target, .. } = instr {
                    if usize::from(*target) > at {
                        *target -= 1;
                    }
                }
            }
            Mutation::Delete(at)
        }
        _ => {
            let at = rng.random_range(0..=len);
            for instr in &mut program.instrs {
                if let Instr::Jnz { target, .. } = instr {
                    if usize::from(*target) >= at {
                        *target += 1;
                    }
                }
            }
            program.instrs.insert(at, random_instr(rng));
            Mutation::Insert(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::asm::{assemble, disassemble};

    #[test]
    fn random_instructions_cover_every_opcode_but_jnz() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let seen: HashSet<Opcode> = (0..5000).map(|_| random_instr(&mut rng).opcode()).collect();
        assert_eq!(seen.len(), Opcode::ALL.len() - 1);
        assert!(!seen.contains(&Opcode::Jnz));
    }

    #[test]
    fn every_move_happens_and_jump_targets_follow_their_instructions() {
        let base = assemble("top: dec r0, r0\nmov r1, r0\njnz r0, top\nadd r2, r2, r1\njnz r2, end\nldi r3, 4\nend:")
            .expect("valid");
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut kinds = HashSet::new();
        for _ in 0..3000 {
            let mut p = base.clone();
            let m = mutate(&mut p, &mut rng);
            kinds.insert(std::mem::discriminant(&m));
            // The result is always a program the text form can carry.
            assert_eq!(assemble(&disassemble(&p)).expect("round trip"), p);
            let moved = |i: usize| match m {
                Mutation::Insert(at) => Some(if i >= at { i + 1 } else { i }),
                Mutation::Delete(at) if i == at => None,
                Mutation::Delete(at) => Some(if i > at { i - 1 } else { i }),
                _ => Some(i),
            };
            if matches!(m, Mutation::Insert(_) | Mutation::Delete(_)) {
                assert_eq!(
                    p.len() as isize - base.len() as isize,
                    if matches!(m, Mutation::Insert(_)) { 1 } else { -1 }
                );
                for (i, instr) in base.instrs.iter().enumerate() {
                    if let (Instr::Jnz { target, .. }, Some(j)) = (instr, moved(i)) {
                        let Instr::Jnz { target: new, .. } = p.instrs[j] else { panic!("jnz moved away: {m:?}") };
                        let want = moved(usize::from(*target)).unwrap_or(usize::from(*target));
                        assert_eq!(usize::from(new), want, "{m:?}");
                    }
                }
            }
        }
        assert_eq!(kinds.len(), 6, "all six moves occur");
    }

    #[test]
    fn an_empty_program_grows() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut p = Program::default();
        assert_eq!(mutate(&mut p, &mut rng), Mutation::Insert(0));
        assert_eq!(p.len(), 1);
    }
}
