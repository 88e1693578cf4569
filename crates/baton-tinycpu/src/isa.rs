//! The instruction set: registers, instructions, opcodes and programs.
//!
//! Three-address form throughout: the destination comes first and every source is named, so an instruction
//! never depends on an implicit operand (`add r0, r1, r2` is `r0 = r1 + r2`). Words are 8 bits and arithmetic
//! wraps. See the crate documentation for the full table with cycle costs.

use std::fmt;

/// Number of registers, `r0` to `r5`.
pub const NUM_REGS: usize = 6;

/// Longest program accepted by the assembler (and produced by [`crate::mutate()`]).
pub const MAX_PROGRAM_LEN: usize = 256;

/// A register, `r0` to `r5` (the constructor rejects anything else).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(u8);

impl Reg {
    /// `r0`: the first input, and the output at halt.
    pub const R0: Reg = Reg(0);
    /// `r1`.
    pub const R1: Reg = Reg(1);
    /// `r2`.
    pub const R2: Reg = Reg(2);
    /// `r3`.
    pub const R3: Reg = Reg(3);
    /// `r4`.
    pub const R4: Reg = Reg(4);
    /// `r5`.
    pub const R5: Reg = Reg(5);
    /// Every register, in order.
    pub const ALL: [Reg; NUM_REGS] = [Reg(0), Reg(1), Reg(2), Reg(3), Reg(4), Reg(5)];

    /// Register `index`, if `index < 6`.
    pub const fn new(index: u8) -> Option<Reg> {
        if (index as usize) < NUM_REGS {
            Some(Reg(index))
        } else {
            None
        }
    }

    /// The register's number, `0..6`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Two-source operations: `op rd, rs1, rs2` computes `rd = rs1 op rs2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction `rs1 - rs2`.
    Sub,
    /// Low 8 bits of the product (3 cycles).
    Mul,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise exclusive or.
    Xor,
    /// `0xFF` if `rs1 < rs2` as unsigned numbers, else 0.
    CmpLtu,
    /// `0xFF` if `rs1 < rs2` as two's-complement signed numbers, else 0 (an addition to model.md 6.3).
    CmpLts,
    /// `0xFF` if `rs1 == rs2`, else 0.
    CmpEq,
    /// Unsigned minimum.
    Min,
    /// Unsigned maximum.
    Max,
}

impl BinOp {
    /// Every two-source operation.
    pub const ALL: [BinOp; 11] = [
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::And,
        BinOp::Or,
        BinOp::Xor,
        BinOp::CmpLtu,
        BinOp::CmpLts,
        BinOp::CmpEq,
        BinOp::Min,
        BinOp::Max,
    ];

    /// The operation on two words.
    #[inline(always)]
    pub fn apply(self, a: u8, b: u8) -> u8 {
        match self {
            BinOp::Add => a.wrapping_add(b),
            BinOp::Sub => a.wrapping_sub(b),
            BinOp::Mul => a.wrapping_mul(b),
            BinOp::And => a & b,
            BinOp::Or => a | b,
            BinOp::Xor => a ^ b,
            BinOp::CmpLtu => mask(a < b),
            BinOp::CmpLts => mask((a as i8) < (b as i8)),
            BinOp::CmpEq => mask(a == b),
            BinOp::Min => a.min(b),
            BinOp::Max => a.max(b),
        }
    }
}

/// One-source operations: `op rd, rs` computes `rd = op(rs)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Copy.
    Mov,
    /// Two's-complement negation (wrapping).
    Neg,
    /// Add one (wrapping).
    Inc,
    /// Subtract one (wrapping).
    Dec,
    /// Bitwise complement.
    Not,
}

impl UnOp {
    /// Every one-source operation.
    pub const ALL: [UnOp; 5] = [UnOp::Mov, UnOp::Neg, UnOp::Inc, UnOp::Dec, UnOp::Not];

    /// The operation on a word.
    #[inline(always)]
    pub fn apply(self, a: u8) -> u8 {
        match self {
            UnOp::Mov => a,
            UnOp::Neg => a.wrapping_neg(),
            UnOp::Inc => a.wrapping_add(1),
            UnOp::Dec => a.wrapping_sub(1),
            UnOp::Not => !a,
        }
    }
}

/// Shifts by a constant: `op rd, rs, k` with `k` in `0..=7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShiftOp {
    /// Shift left, filling with zeros.
    Shl,
    /// Logical shift right, filling with zeros.
    Shr,
    /// Arithmetic shift right, filling with copies of bit 7.
    Sar,
}

impl ShiftOp {
    /// Every shift.
    pub const ALL: [ShiftOp; 3] = [ShiftOp::Shl, ShiftOp::Shr, ShiftOp::Sar];

    /// The shift of `a` by `k & 7`.
    #[inline(always)]
    pub fn apply(self, a: u8, k: u8) -> u8 {
        let k = k & 7;
        match self {
            ShiftOp::Shl => a << k,
            ShiftOp::Shr => a >> k,
            ShiftOp::Sar => ((a as i8) >> k) as u8,
        }
    }
}

#[inline(always)]
fn mask(b: bool) -> u8 {
    if b {
        0xFF
    } else {
        0
    }
}

/// One instruction. Small (6 bytes) and `Copy`; a [`Program`] is a `Vec` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instr {
    /// `op rd, rs1, rs2`: `rd = rs1 op rs2`.
    Bin {
        /// The operation.
        op: BinOp,
        /// Destination.
        rd: Reg,
        /// First source.
        rs1: Reg,
        /// Second source.
        rs2: Reg,
    },
    /// `op rd, rs`: `rd = op(rs)`.
    Un {
        /// The operation.
        op: UnOp,
        /// Destination.
        rd: Reg,
        /// Source.
        rs: Reg,
    },
    /// `op rd, rs, k`: `rd = rs shifted by k`.
    Shift {
        /// The shift.
        op: ShiftOp,
        /// Destination.
        rd: Reg,
        /// Source.
        rs: Reg,
        /// Shift amount, `0..=7`.
        k: u8,
    },
    /// `ldi rd, imm`: `rd = imm`.
    Ldi {
        /// Destination.
        rd: Reg,
        /// The constant.
        imm: u8,
    },
    /// `cmovnz rd, rs, rc`: `if rc != 0 { rd = rs }`.
    Cmovnz {
        /// Destination (kept when `rc == 0`).
        rd: Reg,
        /// Source.
        rs: Reg,
        /// Condition.
        rc: Reg,
    },
    /// `jnz rc, label`: `if rc != 0 { pc = target }`. A target at or past the end halts.
    Jnz {
        /// Condition.
        rc: Reg,
        /// Index of the instruction jumped to.
        target: u16,
    },
}

/// What an operand of an [`Opcode`] is, in text order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A register `r0..r5`.
    Reg,
    /// An 8-bit constant (`0..=255`; `-128..=-1` is accepted as its two's complement).
    Imm,
    /// A shift amount `0..=7`.
    Shift,
    /// A label (a jump target).
    Label,
}

/// Every instruction kind, flat: the assembler's and disassembler's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// See [`Instr::Bin`].
    Bin(BinOp),
    /// See [`Instr::Un`].
    Un(UnOp),
    /// See [`Instr::Shift`].
    Shift(ShiftOp),
    /// See [`Instr::Ldi`].
    Ldi,
    /// See [`Instr::Cmovnz`].
    Cmovnz,
    /// See [`Instr::Jnz`].
    Jnz,
}

impl Opcode {
    /// All 22 opcodes, in the order of the crate documentation's table.
    pub const ALL: [Opcode; 22] = [
        Opcode::Un(UnOp::Mov),
        Opcode::Ldi,
        Opcode::Bin(BinOp::Add),
        Opcode::Bin(BinOp::Sub),
        Opcode::Un(UnOp::Neg),
        Opcode::Un(UnOp::Inc),
        Opcode::Un(UnOp::Dec),
        Opcode::Bin(BinOp::And),
        Opcode::Bin(BinOp::Or),
        Opcode::Bin(BinOp::Xor),
        Opcode::Un(UnOp::Not),
        Opcode::Shift(ShiftOp::Shl),
        Opcode::Shift(ShiftOp::Shr),
        Opcode::Shift(ShiftOp::Sar),
        Opcode::Bin(BinOp::Mul),
        Opcode::Bin(BinOp::CmpLtu),
        Opcode::Bin(BinOp::CmpLts),
        Opcode::Bin(BinOp::CmpEq),
        Opcode::Bin(BinOp::Min),
        Opcode::Bin(BinOp::Max),
        Opcode::Cmovnz,
        Opcode::Jnz,
    ];

    /// The mnemonic, lower case (the assembler accepts any case).
    pub const fn mnemonic(self) -> &'static str {
        match self {
            Opcode::Bin(op) => match op {
                BinOp::Add => "add",
                BinOp::Sub => "sub",
                BinOp::Mul => "mul",
                BinOp::And => "and",
                BinOp::Or => "or",
                BinOp::Xor => "xor",
                BinOp::CmpLtu => "cmpltu",
                BinOp::CmpLts => "cmplts",
                BinOp::CmpEq => "cmpeq",
                BinOp::Min => "min",
                BinOp::Max => "max",
            },
            Opcode::Un(op) => match op {
                UnOp::Mov => "mov",
                UnOp::Neg => "neg",
                UnOp::Inc => "inc",
                UnOp::Dec => "dec",
                UnOp::Not => "not",
            },
            Opcode::Shift(op) => match op {
                ShiftOp::Shl => "shl",
                ShiftOp::Shr => "shr",
                ShiftOp::Sar => "sar",
            },
            Opcode::Ldi => "ldi",
            Opcode::Cmovnz => "cmovnz",
            Opcode::Jnz => "jnz",
        }
    }

    /// The opcode with this mnemonic, in any case.
    pub fn from_mnemonic(text: &str) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|op| op.mnemonic().eq_ignore_ascii_case(text))
    }

    /// The operands in text order.
    pub const fn operands(self) -> &'static [Operand] {
        match self {
            Opcode::Bin(_) | Opcode::Cmovnz => &[Operand::Reg, Operand::Reg, Operand::Reg],
            Opcode::Un(_) => &[Operand::Reg, Operand::Reg],
            Opcode::Shift(_) => &[Operand::Reg, Operand::Reg, Operand::Shift],
            Opcode::Ldi => &[Operand::Reg, Operand::Imm],
            Opcode::Jnz => &[Operand::Reg, Operand::Label],
        }
    }

    /// Cycles one execution costs: 3 for `mul`, 1 for everything else (a `jnz` costs 1 taken or not).
    pub const fn cycles(self) -> u32 {
        match self {
            Opcode::Bin(BinOp::Mul) => 3,
            _ => 1,
        }
    }

    /// One line of semantics, for listings.
    pub const fn semantics(self) -> &'static str {
        match self {
            Opcode::Bin(op) => match op {
                BinOp::Add => "rd = rs1 + rs2 (mod 256)",
                BinOp::Sub => "rd = rs1 - rs2 (mod 256)",
                BinOp::Mul => "rd = rs1 * rs2 (mod 256)",
                BinOp::And => "rd = rs1 & rs2",
                BinOp::Or => "rd = rs1 | rs2",
                BinOp::Xor => "rd = rs1 ^ rs2",
                BinOp::CmpLtu => "rd = 0xFF if rs1 < rs2 (unsigned) else 0",
                BinOp::CmpLts => "rd = 0xFF if rs1 < rs2 (signed) else 0",
                BinOp::CmpEq => "rd = 0xFF if rs1 == rs2 else 0",
                BinOp::Min => "rd = min(rs1, rs2) (unsigned)",
                BinOp::Max => "rd = max(rs1, rs2) (unsigned)",
            },
            Opcode::Un(op) => match op {
                UnOp::Mov => "rd = rs",
                UnOp::Neg => "rd = -rs (mod 256)",
                UnOp::Inc => "rd = rs + 1 (mod 256)",
                UnOp::Dec => "rd = rs - 1 (mod 256)",
                UnOp::Not => "rd = !rs",
            },
            Opcode::Shift(op) => match op {
                ShiftOp::Shl => "rd = rs << k",
                ShiftOp::Shr => "rd = rs >> k (logical)",
                ShiftOp::Sar => "rd = rs >> k (arithmetic)",
            },
            Opcode::Ldi => "rd = imm",
            Opcode::Cmovnz => "if rc != 0 { rd = rs }",
            Opcode::Jnz => "if rc != 0 { jump to label }",
        }
    }
}

impl Instr {
    /// This instruction's opcode.
    pub const fn opcode(self) -> Opcode {
        match self {
            Instr::Bin { op, .. } => Opcode::Bin(op),
            Instr::Un { op, .. } => Opcode::Un(op),
            Instr::Shift { op, .. } => Opcode::Shift(op),
            Instr::Ldi { .. } => Opcode::Ldi,
            Instr::Cmovnz { .. } => Opcode::Cmovnz,
            Instr::Jnz { .. } => Opcode::Jnz,
        }
    }

    /// Cycles one execution costs (see [`Opcode::cycles`]).
    pub const fn cycles(self) -> u32 {
        self.opcode().cycles()
    }

    /// The register written, if any (`jnz` writes none).
    pub const fn dest(self) -> Option<Reg> {
        match self {
            Instr::Bin { rd, .. }
            | Instr::Un { rd, .. }
            | Instr::Shift { rd, .. }
            | Instr::Ldi { rd, .. }
            | Instr::Cmovnz { rd, .. } => Some(rd),
            Instr::Jnz { .. } => None,
        }
    }

    /// The registers read, in operand order (`cmovnz` reads its destination too, since it may keep it).
    pub fn sources(self) -> impl Iterator<Item = Reg> {
        let (regs, n): ([Reg; 3], usize) = match self {
            Instr::Bin { rs1, rs2, .. } => ([rs1, rs2, rs2], 2),
            Instr::Un { rs, .. } | Instr::Shift { rs, .. } => ([rs, rs, rs], 1),
            Instr::Ldi { .. } => ([Reg::R0; 3], 0),
            Instr::Cmovnz { rd, rs, rc } => ([rs, rc, rd], 3),
            Instr::Jnz { rc, .. } => ([rc, rc, rc], 1),
        };
        regs.into_iter().take(n)
    }
}

/// A program: instructions executed from index 0 until the program counter runs past the end.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Program {
    /// The instructions, in order.
    pub instrs: Vec<Instr>,
}

impl Program {
    /// A program of these instructions.
    pub fn new(instrs: Vec<Instr>) -> Program {
        Program { instrs }
    }

    /// Number of instructions.
    pub fn len(&self) -> usize {
        self.instrs.len()
    }

    /// Whether the program has no instructions (it returns its first input unchanged).
    pub fn is_empty(&self) -> bool {
        self.instrs.is_empty()
    }

    /// Whether the program contains a `jnz` (otherwise it is straight-line and runs each instruction once).
    pub fn has_jumps(&self) -> bool {
        self.instrs.iter().any(|i| matches!(i, Instr::Jnz { .. }))
    }

    /// Cycles of one pass through every instruction: the exact cost of a straight-line program.
    pub fn straight_line_cycles(&self) -> u32 {
        self.instrs.iter().map(|i| i.cycles()).sum()
    }
}

impl From<Vec<Instr>> for Program {
    fn from(instrs: Vec<Instr>) -> Program {
        Program { instrs }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::asm::disassemble(self))
    }
}
