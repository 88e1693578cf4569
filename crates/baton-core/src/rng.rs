//! The one portable random generator and its independent streams.
//!
//! Every random draw in baton comes from a [`Rng`] (ChaCha8, portable and reproducible across platforms)
//! built by [`stream`] from the run's single `seed` and a [`Stream`] naming the component. Each component
//! (the environment, each agent's exploration, each evaluation) gets its own ChaCha stream, so adding an
//! agent or a method does not shift anyone else's numbers, and thread scheduling cannot change results.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every component uses.
pub type Rng = ChaCha8Rng;

/// The component a stream belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The environment's dynamics (kernel sampling, resets).
    Env,
    /// Agent `i`'s own behaviour (exploration) draws.
    Agent(u16),
    /// A centralized learner's behaviour draws (oracle).
    Central,
    /// Evaluation rollouts (Monte-Carlo checks), numbered.
    Eval(u32),
    /// Anything else a workload needs, numbered by the workload.
    Other(u32),
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Env => 1,
            Stream::Central => 2,
            Stream::Agent(i) => (1 << 32) | u64::from(i),
            Stream::Eval(i) => (2 << 32) | u64::from(i),
            Stream::Other(i) => (3 << 32) | u64::from(i),
        }
    }
}

/// The generator for `component` of the run seeded with `seed`.
pub fn stream(seed: u64, component: Stream) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(component.id());
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn generator_first_output_is_pinned() {
        // If this changes, every published figure changes: bump the version and say so in the changelog.
        let mut rng = stream(42, Stream::Env);
        let first = rng.next_u64();
        assert_eq!(first, PINNED_FIRST_OUTPUT, "ChaCha8 stream output changed: {first}");
    }

    #[test]
    fn streams_are_independent() {
        let a = stream(7, Stream::Agent(0)).next_u64();
        let b = stream(7, Stream::Agent(1)).next_u64();
        let c = stream(7, Stream::Env).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, stream(7, Stream::Agent(0)).next_u64());
    }

    const PINNED_FIRST_OUTPUT: u64 = 13_222_472_167_927_179_408;
}
