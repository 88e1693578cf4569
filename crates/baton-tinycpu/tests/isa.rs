//! Every instruction against its definition, over random register files (proptest), plus the interpreter's
//! control flow: halting, jumps, the step limit, cycle counts.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use baton_tinycpu::{
    assemble, run, run_with_limit, BinOp, ExecError, Instr, Opcode, Program, Reg, ShiftOp, UnOp, NUM_REGS,
};
use proptest::prelude::*;

/// The definition of a two-source operation on 8-bit words, written with wide integers.
fn bin_def(op: BinOp, a: u8, b: u8) -> u8 {
    let (wa, wb) = (i32::from(a), i32::from(b));
    let (sa, sb) = (i32::from(a as i8), i32::from(b as i8));
    let t = |c: bool| if c { 255 } else { 0 };
    let v: i32 = match op {
        BinOp::Add => wa + wb,
        BinOp::Sub => wa - wb,
        BinOp::Mul => wa * wb,
        BinOp::And => wa & wb,
        BinOp::Or => wa | wb,
        BinOp::Xor => wa ^ wb,
        BinOp::CmpLtu => t(wa < wb),
        BinOp::CmpLts => t(sa < sb),
        BinOp::CmpEq => t(wa == wb),
        BinOp::Min => wa.min(wb),
        BinOp::Max => wa.max(wb),
    };
    v.rem_euclid(256) as u8
}

fn un_def(op: UnOp, a: u8) -> u8 {
    let w = i32::from(a);
    let v = match op {
        UnOp::Mov => w,
        UnOp::Neg => -w,
        UnOp::Inc => w + 1,
        UnOp::Dec => w - 1,
        UnOp::Not => 255 - w,
    };
    v.rem_euclid(256) as u8
}

fn shift_def(op: ShiftOp, a: u8, k: u8) -> u8 {
    let p = 1i32 << k;
    match op {
        ShiftOp::Shl => (i32::from(a) * p).rem_euclid(256) as u8,
        ShiftOp::Shr => (i32::from(a) / p) as u8,
        ShiftOp::Sar => i32::from(a as i8).div_euclid(p).rem_euclid(256) as u8,
    }
}

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..NUM_REGS as u8).prop_map(|i| Reg::new(i).unwrap())
}

/// Run one instruction on a full register file and return the file after it.
fn exec1(instr: Instr, regs: [u8; NUM_REGS]) -> [u8; NUM_REGS] {
    let out = run(&Program::new(vec![instr]), &regs).unwrap();
    assert_eq!(out.steps, 1);
    assert_eq!(out.cycles, if matches!(instr, Instr::Bin { op: BinOp::Mul, .. }) { 3 } else { 1 });
    assert_eq!(out.output, out.regs[0]);
    out.regs
}

/// What the register file should be after writing `value` to `rd`.
fn written(mut regs: [u8; NUM_REGS], rd: Reg, value: u8) -> [u8; NUM_REGS] {
    regs[rd.index()] = value;
    regs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn two_source_operations(op in prop::sample::select(BinOp::ALL.to_vec()), rd in reg(), rs1 in reg(), rs2 in reg(),
                             regs in prop::array::uniform6(any::<u8>())) {
        let want = written(regs, rd, bin_def(op, regs[rs1.index()], regs[rs2.index()]));
        prop_assert_eq!(exec1(Instr::Bin { op, rd, rs1, rs2 }, regs), want);
    }

    #[test]
    fn one_source_operations(op in prop::sample::select(UnOp::ALL.to_vec()), rd in reg(), rs in reg(),
                             regs in prop::array::uniform6(any::<u8>())) {
        let want = written(regs, rd, un_def(op, regs[rs.index()]));
        prop_assert_eq!(exec1(Instr::Un { op, rd, rs }, regs), want);
    }

    #[test]
    fn shifts(op in prop::sample::select(ShiftOp::ALL.to_vec()), rd in reg(), rs in reg(), k in 0u8..8,
              regs in prop::array::uniform6(any::<u8>())) {
        let want = written(regs, rd, shift_def(op, regs[rs.index()], k));
        prop_assert_eq!(exec1(Instr::Shift { op, rd, rs, k }, regs), want);
    }

    #[test]
    fn load_immediate(rd in reg(), imm in any::<u8>(), regs in prop::array::uniform6(any::<u8>())) {
        prop_assert_eq!(exec1(Instr::Ldi { rd, imm }, regs), written(regs, rd, imm));
    }

    #[test]
    fn conditional_move(rd in reg(), rs in reg(), rc in reg(), regs in prop::array::uniform6(any::<u8>())) {
        let want = if regs[rc.index()] != 0 { written(regs, rd, regs[rs.index()]) } else { regs };
        prop_assert_eq!(exec1(Instr::Cmovnz { rd, rs, rc }, regs), want);
    }

    #[test]
    fn jump_if_nonzero(rc in reg(), regs in prop::array::uniform6(any::<u8>())) {
        // jnz over an `ldi r0, 0x5a`: taken leaves r0 alone.
        let p = Program::new(vec![Instr::Jnz { rc, target: 2 }, Instr::Ldi { rd: Reg::R0, imm: 0x5a }]);
        let out = run(&p, &regs).unwrap();
        let taken = regs[rc.index()] != 0;
        prop_assert_eq!(out.output, if taken { regs[0] } else { 0x5a });
        prop_assert_eq!(out.steps, if taken { 1 } else { 2 });
    }
}

#[test]
fn inputs_fill_the_first_registers_and_the_rest_start_at_zero() {
    let p = assemble("").unwrap();
    assert_eq!(run(&p, &[7, 8]).unwrap().regs, [7, 8, 0, 0, 0, 0]);
    assert_eq!(run(&p, &[1, 2, 3, 4, 5, 6, 7]), Err(ExecError::TooManyInputs { given: 7 }));
}

#[test]
fn a_loop_counts_steps_and_cycles() {
    // r1 = r0 * 3 by repeated addition; 3 instructions per iteration.
    let p = assemble("loop: add r1, r1, r2\nldi r3, 3\nadd r1, r1, r3\ndec r0, r0\njnz r0, loop\nmov r0, r1").unwrap();
    let out = run(&p, &[5]).unwrap();
    assert_eq!(out.output, 15);
    assert_eq!(out.steps, 5 * 5 + 1);
    assert_eq!(out.cycles, out.steps);
}

#[test]
fn an_endless_loop_is_an_error_value() {
    let p = assemble("top: inc r1, r1\njnz r1, top\nl: jnz r0, l").unwrap();
    // r1 wraps to 0 after 256 iterations; then `jnz r0, l` loops forever when r0 != 0.
    assert_eq!(run_with_limit(&p, &[0], 10_000).unwrap().steps, 513);
    assert_eq!(run_with_limit(&p, &[1], 10_000), Err(ExecError::StepLimit { limit: 10_000 }));
    assert_eq!(run_with_limit(&p, &[0], 512), Err(ExecError::StepLimit { limit: 512 }));
    assert!(run_with_limit(&p, &[0], 513).is_ok());
}

#[test]
fn a_jump_past_the_end_halts() {
    let p = Program::new(vec![Instr::Jnz { rc: Reg::R0, target: 200 }, Instr::Ldi { rd: Reg::R0, imm: 9 }]);
    assert_eq!(run(&p, &[4]).unwrap().output, 4);
}

#[test]
fn the_opcode_table_is_complete_and_consistent() {
    assert_eq!(Opcode::ALL.len(), BinOp::ALL.len() + UnOp::ALL.len() + ShiftOp::ALL.len() + 3);
    for op in Opcode::ALL {
        assert_eq!(Opcode::from_mnemonic(&op.mnemonic().to_uppercase()), Some(op));
        assert!(!op.semantics().is_empty());
    }
    assert_eq!(std::mem::size_of::<Instr>(), 6, "Instr stays small");
}

/// A plain interpreter that checks the step limit before every instruction, for comparison.
fn naive(p: &Program, inputs: [u8; NUM_REGS], limit: u32) -> Result<([u8; NUM_REGS], u32, u32), ExecError> {
    let (mut r, mut pc, mut steps, mut cycles) = (inputs, 0usize, 0u32, 0u32);
    while pc < p.len() {
        if steps == limit {
            return Err(ExecError::StepLimit { limit });
        }
        let instr = p.instrs[pc];
        steps += 1;
        cycles += instr.cycles();
        pc += 1;
        match instr {
            Instr::Bin { op, rd, rs1, rs2 } => r[rd.index()] = bin_def(op, r[rs1.index()], r[rs2.index()]),
            Instr::Un { op, rd, rs } => r[rd.index()] = un_def(op, r[rs.index()]),
            Instr::Shift { op, rd, rs, k } => r[rd.index()] = shift_def(op, r[rs.index()], k),
            Instr::Ldi { rd, imm } => r[rd.index()] = imm,
            Instr::Cmovnz { rd, rs, rc } => {
                if r[rc.index()] != 0 {
                    r[rd.index()] = r[rs.index()];
                }
            }
            Instr::Jnz { rc, target } => {
                if r[rc.index()] != 0 {
                    pc = usize::from(target);
                }
            }
        }
    }
    Ok((r, steps, cycles))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random programs with loops, random step limits: the same registers, steps, cycles and verdicts.
    #[test]
    fn the_interpreter_matches_a_plain_one(seed in any::<u64>(), len in 1usize..12, limit in 0u32..60,
                                           inputs in prop::array::uniform6(any::<u8>())) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let instrs = (0..len)
            .map(|_| if rng.random_range(0..4) == 0 {
                Instr::Jnz { rc: Reg::ALL[rng.random_range(0..6)], target: rng.random_range(0..=len + 1) as u16 }
            } else {
                baton_tinycpu::random_instr(&mut rng)
            })
            .collect();
        let p = Program::new(instrs);
        let want = naive(&p, inputs, limit);
        let got = run_with_limit(&p, &inputs, limit).map(|o| (o.regs, o.steps, o.cycles));
        prop_assert_eq!(got, want);
    }
}
