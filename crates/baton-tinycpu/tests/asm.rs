//! The text form round-trips: `assemble(disassemble(p)) == p` for random programs, and the canonical text is
//! a fixed point.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use baton_tinycpu::{assemble, disassemble, random_instr, Instr, Program, Reg};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A random program of `len` instructions, a few of them `jnz` with targets in `0..=len`.
fn program(seed: u64, len: usize, jumps: bool) -> Program {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let instrs = (0..len)
        .map(|_| {
            if jumps && rng.random_range(0..6) == 0 {
                Instr::Jnz { rc: Reg::ALL[rng.random_range(0..6)], target: rng.random_range(0..=len) as u16 }
            } else {
                random_instr(&mut rng)
            }
        })
        .collect();
    Program::new(instrs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn disassembly_assembles_to_the_same_program(seed in any::<u64>(), len in 0usize..40, jumps in any::<bool>()) {
        let p = program(seed, len, jumps);
        let text = disassemble(&p);
        let back = assemble(&text).unwrap();
        prop_assert_eq!(&back, &p, "text:\n{}", text);
        prop_assert_eq!(disassemble(&back), text);
    }

    #[test]
    fn case_and_spacing_do_not_matter(seed in any::<u64>(), len in 1usize..20) {
        let p = program(seed, len, true);
        let shouty: String = disassemble(&p)
            .lines()
            .map(|l| if l.ends_with(':') { format!("{l}   ; label\n") } else { format!("   {}  ;x\n", l.to_uppercase().replace(", ", " ,")) })
            .collect();
        prop_assert_eq!(assemble(&shouty).unwrap(), p);
    }
}
