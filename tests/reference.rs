//! The CleanRL-style reference example (`examples/icq_reference.rs`) learns exactly what the library learns.

#[allow(dead_code)]
#[path = "../examples/icq_reference.rs"]
mod reference;

use baton::core::FiniteEnv;
use baton::experiment::train::Decentralized;
use baton::learn::{Behaviour, IcqAgent, StepSize, TabularQ};

const HANDOFFS: u64 = 50_000;

#[test]
fn reference_example_matches_the_library_bit_for_bit() -> Result<(), Box<dyn std::error::Error>> {
    let model = reference::model()?;
    let spec = model.spec();
    for seed in [1, 2] {
        let reference::Trained { tables, scalars } = reference::train_and_count(seed, HANDOFFS)?;
        assert_eq!(tables, reference::train(seed, HANDOFFS)?);

        let agents: Vec<IcqAgent<TabularQ>> =
            spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, StepSize::polynomial(0.8))).collect();
        let mut library = Decentralized::new(FiniteEnv::new(&model), agents, Behaviour::Uniform, seed);
        library.run(HANDOFFS);

        assert_eq!(library.stats().handoffs, HANDOFFS);
        assert_eq!(scalars, library.stats().scalars, "seed {seed}: scalars sent");
        assert_eq!(tables.len(), library.agents().len());
        for (i, (ours, theirs)) in tables.iter().zip(library.agents()).enumerate() {
            let theirs = theirs.q().as_slice();
            assert_eq!(ours.len(), theirs.len(), "seed {seed}, agent {i}: table size");
            // Bit for bit: compare the f64 bit patterns, so that even 0.0 vs -0.0 would count as a difference.
            for (k, (x, y)) in ours.iter().zip(theirs).enumerate() {
                assert_eq!(x.to_bits(), y.to_bits(), "seed {seed}, agent {i}, entry {k}: {x} vs {y}");
            }
            assert!(ours.iter().any(|&x| x != 0.0), "seed {seed}, agent {i}: nothing learned");
        }
    }
    Ok(())
}
