//! Independent specifications of the built-in tasks: one plain Rust function per task, written from the task's
//! semantic description (bit by bit, or by search), never by transcribing the reference program's formula.
//! The tests check every reference program against its specification on the task's whole domain.

use crate::exec::Values;

/// A specification: inputs (`r0..r(arity-1)`) to expected outputs.
pub type Spec = fn(&[u8]) -> Values;

fn one(v: u8) -> Values {
    Values::from_slice(&[v])
}

fn flag(b: bool) -> Values {
    one(if b { 0xFF } else { 0 })
}

fn bit(x: u8, i: u32) -> bool {
    x >> i & 1 == 1
}

/// Index of the lowest 1 bit, or `None` for 0 (by scanning, not `trailing_zeros`).
fn lowest_one(x: u8) -> Option<u32> {
    (0..8).find(|&i| bit(x, i))
}

/// Index of the lowest 0 bit, or `None` for 0xFF.
fn lowest_zero(x: u8) -> Option<u32> {
    (0..8).find(|&i| !bit(x, i))
}

/// Number of leading 0 bits (8 for 0), by scanning.
fn nlz(x: u8) -> u32 {
    (0..8).rev().take_while(|&i| !bit(x, i)).count() as u32
}

/// Number of 1 bits, by scanning.
fn ones(x: u8) -> u32 {
    (0..8).filter(|&i| bit(x, i)).count() as u32
}

/// Bits `0..n` set (`n` up to 8).
fn low_mask(n: u32) -> u8 {
    ((1u16 << n) - 1) as u8
}

/// p01: turn off the rightmost 1 bit.
pub fn p01(v: &[u8]) -> Values {
    let x = v[0];
    one(lowest_one(x).map_or(0, |i| x & !(1 << i)))
}

/// p02: turn off the trailing 1 bits (0 exactly for 2^n - 1).
pub fn p02(v: &[u8]) -> Values {
    let x = v[0];
    one(match lowest_zero(x) {
        Some(i) => x & !low_mask(i),
        None => 0,
    })
}

/// p03: isolate the rightmost 1 bit.
pub fn p03(v: &[u8]) -> Values {
    one(lowest_one(v[0]).map_or(0, |i| 1 << i))
}

/// p04: mask of the rightmost 1 bit and the trailing 0s.
pub fn p04(v: &[u8]) -> Values {
    one(low_mask(lowest_one(v[0]).map_or(8, |i| i + 1)))
}

/// p05: set the trailing 0s.
pub fn p05(v: &[u8]) -> Values {
    one(v[0] | low_mask(lowest_one(v[0]).unwrap_or(8)))
}

/// p06: turn on the rightmost 0 bit.
pub fn p06(v: &[u8]) -> Values {
    one(lowest_zero(v[0]).map_or(0xFF, |i| v[0] | 1 << i))
}

/// p07: isolate the rightmost 0 bit.
pub fn p07(v: &[u8]) -> Values {
    one(lowest_zero(v[0]).map_or(0, |i| 1 << i))
}

/// p08: mask of the trailing 0s.
pub fn p08(v: &[u8]) -> Values {
    one(low_mask(lowest_one(v[0]).unwrap_or(8)))
}

/// p09: absolute value of a signed byte, mod 256.
pub fn p09(v: &[u8]) -> Values {
    let x = i16::from(v[0] as i8);
    one(x.unsigned_abs() as u8)
}

/// p10: nlz(x) == nlz(y).
pub fn p10(v: &[u8]) -> Values {
    flag(nlz(v[0]) == nlz(v[1]))
}

/// p11: nlz(x) < nlz(y).
pub fn p11(v: &[u8]) -> Values {
    flag(nlz(v[0]) < nlz(v[1]))
}

/// p12: nlz(x) <= nlz(y).
pub fn p12(v: &[u8]) -> Values {
    flag(nlz(v[0]) <= nlz(v[1]))
}

/// p13: sign of a signed byte: -1, 0 or 1.
pub fn p13(v: &[u8]) -> Values {
    let x = v[0] as i8;
    one(if x < 0 {
        0xFF
    } else if x == 0 {
        0
    } else {
        1
    })
}

/// p14: floor of the average.
pub fn p14(v: &[u8]) -> Values {
    one(((u16::from(v[0]) + u16::from(v[1])) / 2) as u8)
}

/// p15: ceiling of the average.
pub fn p15(v: &[u8]) -> Values {
    one((u16::from(v[0]) + u16::from(v[1])).div_ceil(2) as u8)
}

/// p16: unsigned maximum.
pub fn p16(v: &[u8]) -> Values {
    one(if v[0] >= v[1] { v[0] } else { v[1] })
}

/// p17: turn off the rightmost contiguous string of 1 bits.
pub fn p17(v: &[u8]) -> Values {
    let mut x = v[0];
    if let Some(start) = lowest_one(x) {
        let mut i = start;
        while i < 8 && bit(x, i) {
            x &= !(1 << i);
            i += 1;
        }
    }
    one(x)
}

/// p18: is x a power of 2.
pub fn p18(v: &[u8]) -> Values {
    flag(ones(v[0]) == 1)
}

/// p19: swap bits i and i + 4 of x for every i in 0..3 with bit i of y set.
pub fn p19(v: &[u8]) -> Values {
    let (mut x, m) = (v[0], v[1]);
    for i in 0..4 {
        if bit(m, i) {
            let (lo, hi) = (bit(x, i), bit(x, i + 4));
            x &= !(1 << i | 1 << (i + 4));
            x |= u8::from(hi) << i | u8::from(lo) << (i + 4);
        }
    }
    one(x)
}

/// p20: the next higher number with as many 1 bits, or 0 if none (by search).
pub fn p20(v: &[u8]) -> Values {
    let x = v[0];
    one((u16::from(x) + 1..256).find(|&y| ones(y as u8) == ones(x)).map_or(0, |y| y as u8))
}

/// p21: cycle 0x15 -> 0x6A -> 0xC3 -> 0x15; anything else gives 0xC3.
pub fn p21(v: &[u8]) -> Values {
    one(match v[0] {
        0x15 => 0x6A,
        0x6A => 0xC3,
        0xC3 => 0x15,
        _ => 0xC3,
    })
}

/// p22: parity.
pub fn p22(v: &[u8]) -> Values {
    one((ones(v[0]) % 2) as u8)
}

/// p23: population count.
pub fn p23(v: &[u8]) -> Values {
    one(ones(v[0]) as u8)
}

/// p24: the smallest power of 2 at least x, mod 256; 0 for x = 0.
pub fn p24(v: &[u8]) -> Values {
    let x = u16::from(v[0]);
    if x == 0 {
        return one(0);
    }
    let mut p = 1u16;
    while p < x {
        p *= 2;
    }
    one((p % 256) as u8)
}

/// p25: the high byte of the 16-bit product.
pub fn p25(v: &[u8]) -> Values {
    one(((u16::from(v[0]) * u16::from(v[1])) >> 8) as u8)
}

/// Sorting, for any arity (by insertion, not a network).
pub fn sort(v: &[u8]) -> Values {
    let mut out: Vec<u8> = Vec::with_capacity(v.len());
    for &x in v {
        let at = out.iter().position(|&y| y > x).unwrap_or(out.len());
        out.insert(at, x);
    }
    Values::from_slice(&out)
}

/// Every built-in task's specification, by name.
pub const BUILTIN: [(&str, Spec); 28] = [
    ("p01", p01),
    ("p02", p02),
    ("p03", p03),
    ("p04", p04),
    ("p05", p05),
    ("p06", p06),
    ("p07", p07),
    ("p08", p08),
    ("p09", p09),
    ("p10", p10),
    ("p11", p11),
    ("p12", p12),
    ("p13", p13),
    ("p14", p14),
    ("p15", p15),
    ("p16", p16),
    ("p17", p17),
    ("p18", p18),
    ("p19", p19),
    ("p20", p20),
    ("p21", p21),
    ("p22", p22),
    ("p23", p23),
    ("p24", p24),
    ("p25", p25),
    ("sort3", sort),
    ("sort4", sort),
    ("sort5", sort),
];

/// The specification of the built-in task `name`, if it is one.
pub fn builtin(name: &str) -> Option<Spec> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}
