//! The text form (`.s` files): assembler and disassembler.
//!
//! ```text
//! ; p01: turn off the rightmost 1 bit        <- `;` starts a comment, to the end of the line
//! dec r1, r0                                 <- one instruction per line, operands separated by commas
//! AND R0, R0, R1                             <- mnemonics and registers in any case
//! loop: dec r1, r1                           <- a label (`name:`) before an instruction or on its own line
//!       jnz r1, loop                         <- labels are case-sensitive; a label after the last
//!                                               instruction is the end of the program (jumping there halts)
//! ```
//!
//! Numbers (`ldi` constants, shift amounts) are decimal, `0x` hex or `0b` binary; `ldi` takes `0..=255`
//! and `-128..=-1` (stored as two's complement), shifts take `0..=7`. Errors name the 1-based line and
//! the reason. [`disassemble`] writes the canonical form (lower case, jump targets as labels `L<index>`),
//! which [`assemble`] reads back to the same [`Program`].

use std::collections::HashMap;

use crate::error::{AsmError, AsmErrorKind};
use crate::isa::{Instr, Opcode, Operand, Program, Reg, MAX_PROGRAM_LEN};

/// One parsed operand before labels are resolved.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Reg(Reg),
    Num(u8),
    Label(&'a str),
}

/// Assemble `text` into a [`Program`]. Errors name the first offending line.
pub fn assemble(text: &str) -> Result<Program, AsmError> {
    let mut labels: HashMap<&str, (usize, usize)> = HashMap::new(); // label -> (instruction index, line)
    let mut pending: Vec<(usize, Opcode, [Option<Arg<'_>>; 3])> = Vec::new(); // (line, opcode, args)
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |kind| AsmError { line, kind };
        let mut rest = raw.split(';').next().unwrap_or("").trim();
        // Labels: `name:` prefixes.
        while let Some(colon) = rest.find(':') {
            let (name, after) = (rest[..colon].trim(), &rest[colon + 1..]);
            if !is_identifier(name) {
                return Err(err(AsmErrorKind::BadLabel(name.to_string())));
            }
            if let Some(&(_, first_line)) = labels.get(name) {
                return Err(err(AsmErrorKind::DuplicateLabel { label: name.to_string(), first_line }));
            }
            labels.insert(name, (pending.len(), line));
            rest = after.trim();
        }
        if rest.is_empty() {
            continue;
        }
        let (mnemonic, operand_text) = match rest.find(char::is_whitespace) {
            Some(p) => (&rest[..p], rest[p..].trim()),
            None => (rest, ""),
        };
        let opcode =
            Opcode::from_mnemonic(mnemonic).ok_or_else(|| err(AsmErrorKind::UnknownMnemonic(mnemonic.to_string())))?;
        let words: Vec<&str> =
            if operand_text.is_empty() { Vec::new() } else { operand_text.split(',').map(str::trim).collect() };
        let kinds = opcode.operands();
        if words.len() != kinds.len() {
            return Err(err(AsmErrorKind::WrongOperandCount {
                mnemonic: opcode.mnemonic(),
                expected: kinds.len(),
                got: words.len(),
            }));
        }
        let mut args = [None; 3];
        for (slot, (word, kind)) in args.iter_mut().zip(words.iter().zip(kinds)) {
            *slot = Some(match kind {
                Operand::Reg => {
                    Arg::Reg(parse_reg(word).ok_or_else(|| err(AsmErrorKind::BadRegister(word.to_string())))?)
                }
                Operand::Imm => Arg::Num(parse_num(word, -128, 255).map_err(err)? as u8),
                Operand::Shift => Arg::Num(parse_num(word, 0, 7).map_err(err)? as u8),
                Operand::Label => {
                    if !is_identifier(word) {
                        return Err(err(AsmErrorKind::BadLabel(word.to_string())));
                    }
                    Arg::Label(word)
                }
            });
        }
        if pending.len() == MAX_PROGRAM_LEN {
            return Err(err(AsmErrorKind::TooLong));
        }
        pending.push((line, opcode, args));
    }
    let mut instrs = Vec::with_capacity(pending.len());
    for (line, opcode, args) in pending {
        let reg = |k: usize| match args[k] {
            Some(Arg::Reg(r)) => r,
            _ => unreachable!("operand {k} of {opcode:?} is a register"),
        };
        let num = |k: usize| match args[k] {
            Some(Arg::Num(n)) => n,
            _ => unreachable!("operand {k} of {opcode:?} is a number"),
        };
        let instr = match opcode {
            Opcode::Bin(op) => Instr::Bin { op, rd: reg(0), rs1: reg(1), rs2: reg(2) },
            Opcode::Un(op) => Instr::Un { op, rd: reg(0), rs: reg(1) },
            Opcode::Shift(op) => Instr::Shift { op, rd: reg(0), rs: reg(1), k: num(2) },
            Opcode::Ldi => Instr::Ldi { rd: reg(0), imm: num(1) },
            Opcode::Cmovnz => Instr::Cmovnz { rd: reg(0), rs: reg(1), rc: reg(2) },
            Opcode::Jnz => {
                let Some(Arg::Label(name)) = args[1] else { unreachable!("operand 1 of jnz is a label") };
                let &(target, _) = labels
                    .get(name)
                    .ok_or_else(|| AsmError { line, kind: AsmErrorKind::UndefinedLabel(name.to_string()) })?;
                Instr::Jnz { rc: reg(0), target: target as u16 }
            }
        };
        instrs.push(instr);
    }
    Ok(Program::new(instrs))
}

/// The canonical text of `program`: one lower-case instruction per line, jump targets as labels `L<index>`
/// on their own line (a target past the end is written as the end of the program, which is equivalent).
pub fn disassemble(program: &Program) -> String {
    let len = program.len();
    let mut is_target = vec![false; len + 1];
    for instr in &program.instrs {
        if let Instr::Jnz { target, .. } = *instr {
            is_target[(target as usize).min(len)] = true;
        }
    }
    let mut text = String::new();
    for (i, instr) in program.instrs.iter().enumerate() {
        if is_target[i] {
            text.push_str(&format!("L{i}:\n"));
        }
        text.push_str(&format_instr(instr, len));
        text.push('\n');
    }
    if is_target[len] {
        text.push_str(&format!("L{len}:\n"));
    }
    text
}

/// One instruction in canonical text (a `jnz` names its target as `L<index>`, clamped to `program_len`).
pub fn format_instr(instr: &Instr, program_len: usize) -> String {
    let m = instr.opcode().mnemonic();
    match *instr {
        Instr::Bin { rd, rs1, rs2, .. } => format!("{m} {rd}, {rs1}, {rs2}"),
        Instr::Un { rd, rs, .. } => format!("{m} {rd}, {rs}"),
        Instr::Shift { rd, rs, k, .. } => format!("{m} {rd}, {rs}, {k}"),
        Instr::Ldi { rd, imm } if imm < 10 => format!("{m} {rd}, {imm}"),
        Instr::Ldi { rd, imm } => format!("{m} {rd}, {imm:#04x}"),
        Instr::Cmovnz { rd, rs, rc } => format!("{m} {rd}, {rs}, {rc}"),
        Instr::Jnz { rc, target } => format!("{m} {rc}, L{}", (target as usize).min(program_len)),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn parse_reg(word: &str) -> Option<Reg> {
    let digits = word.strip_prefix('r').or_else(|| word.strip_prefix('R'))?;
    if digits.len() != 1 {
        return None;
    }
    Reg::new(digits.parse().ok()?)
}

fn parse_num(word: &str, min: i64, max: i64) -> Result<i64, AsmErrorKind> {
    let (negative, body) = match word.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, word),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        (2, d)
    } else {
        (10, body)
    };
    let bad = || AsmErrorKind::BadImmediate(word.to_string());
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad());
    }
    let out_of_range = || AsmErrorKind::ImmediateOutOfRange { text: word.to_string(), min, max };
    let magnitude = i64::from_str_radix(digits, radix).map_err(|_| out_of_range())?;
    let value = if negative { -magnitude } else { magnitude };
    if value < min || value > max {
        return Err(out_of_range());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::BinOp;

    fn error(text: &str) -> AsmError {
        assemble(text).expect_err("should not assemble")
    }

    #[test]
    fn mnemonics_and_registers_are_case_insensitive_and_comments_ignored() {
        let p = assemble("; a comment\n  AdD R0, r1, R2 ; trailing\n\n").unwrap();
        assert_eq!(p.instrs, vec![Instr::Bin { op: BinOp::Add, rd: Reg::R0, rs1: Reg::R1, rs2: Reg::R2 }]);
    }

    #[test]
    fn numbers_in_every_base_and_negative_constants() {
        let p = assemble("ldi r0, 0xfF\nldi r1, 0b101\nldi r2, -1\nldi r3, 200\nshl r4, r4, 7").unwrap();
        let imms: Vec<_> =
            p.instrs.iter().filter_map(|i| if let Instr::Ldi { imm, .. } = i { Some(*imm) } else { None }).collect();
        assert_eq!(imms, vec![255, 5, 255, 200]);
    }

    #[test]
    fn labels_resolve_forward_backward_and_to_the_end() {
        let p = assemble("top: dec r0, r0\njnz r0, top\njnz r1, end\nmov r2, r0\nend:").unwrap();
        assert_eq!(p.instrs[1], Instr::Jnz { rc: Reg::R0, target: 0 });
        assert_eq!(p.instrs[2], Instr::Jnz { rc: Reg::R1, target: 4 });
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        let e = error("mov r0, r1\nfrob r0, r1");
        assert_eq!((e.line, &e.kind), (2, &AsmErrorKind::UnknownMnemonic("frob".into())));
        assert_eq!(e.to_string(), "line 2: unknown mnemonic `frob`");
        assert_eq!(error("add r0, r9, r1").kind, AsmErrorKind::BadRegister("r9".into()));
        assert_eq!(error("add r0, r10, r1").kind, AsmErrorKind::BadRegister("r10".into()));
        assert_eq!(error("ldi r0, x").kind, AsmErrorKind::BadImmediate("x".into()));
        assert_eq!(
            error("ldi r0, 256").kind,
            AsmErrorKind::ImmediateOutOfRange { text: "256".into(), min: -128, max: 255 }
        );
        assert_eq!(
            error("ldi r0, -129").kind,
            AsmErrorKind::ImmediateOutOfRange { text: "-129".into(), min: -128, max: 255 }
        );
        assert_eq!(error("shl r0, r0, 8").kind, AsmErrorKind::ImmediateOutOfRange { text: "8".into(), min: 0, max: 7 });
        assert_eq!(
            error("ldi r0, 99999999999999999999999").kind,
            AsmErrorKind::ImmediateOutOfRange { text: "99999999999999999999999".into(), min: -128, max: 255 }
        );
        let e = error("\n\njnz r0, nowhere");
        assert_eq!((e.line, e.kind), (3, AsmErrorKind::UndefinedLabel("nowhere".into())));
        assert_eq!(error("add r0, r1").kind, AsmErrorKind::WrongOperandCount { mnemonic: "add", expected: 3, got: 2 });
        assert_eq!(error("not").kind, AsmErrorKind::WrongOperandCount { mnemonic: "not", expected: 2, got: 0 });
        assert_eq!(error("a:\na: mov r0, r0").kind, AsmErrorKind::DuplicateLabel { label: "a".into(), first_line: 1 });
        assert_eq!(error("1x: mov r0, r0").kind, AsmErrorKind::BadLabel("1x".into()));
        assert_eq!(error(&"inc r0, r0\n".repeat(MAX_PROGRAM_LEN + 1)).line, MAX_PROGRAM_LEN + 1);
    }

    #[test]
    fn disassembly_is_canonical() {
        let text = "Top:  DEC r0, r0\n JNZ r0, Top ; loop\nLDI r1, 255\nldi r2, 7\n";
        assert_eq!(disassemble(&assemble(text).unwrap()), "L0:\ndec r0, r0\njnz r0, L0\nldi r1, 0xff\nldi r2, 7\n");
    }
}
