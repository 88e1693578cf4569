//! The synthetic workload's hot loops for `baton bench`.

use std::time::Duration;

use baton_core::rng::{stream, uniform_index, Stream};
use baton_core::{ActionId, Env, Event, FiniteEnv, ObsId};
use baton_envs::SyntheticConfig;
use baton_learn::{Behaviour, IcqAgent, StepSize, TabularQ};

use crate::bench::{time_loop, Figure, CHUNK};
use crate::train::{Centralized, Decentralized};
use crate::ExperimentError;

/// IC-Q, epsilon-greedy IC-Q and the oracle on the default synthetic model, and the environment alone.
pub(crate) fn benches(budget: Duration, filter: &str, figures: &mut Vec<Figure>) -> Result<(), ExperimentError> {
    let model = SyntheticConfig::default().validate()?.build_model()?;
    let spec = model.spec().clone();
    let step = StepSize::polynomial(0.8);
    let agents: Vec<IcqAgent<TabularQ>> =
        spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, step.clone())).collect();
    let wanted = |name: &str| name.contains(filter);

    let mut icq = Decentralized::new(FiniteEnv::new(&model), agents.clone(), Behaviour::Uniform, 1);
    if wanted("synthetic/ic-q/handoffs_per_sec") {
        figures.push(time_loop("synthetic/ic-q/handoffs_per_sec", budget, || {
            icq.run(CHUNK);
            CHUNK
        }));
    }

    let mut greedy =
        Decentralized::new(FiniteEnv::new(&model), agents.clone(), Behaviour::EpsilonGreedy { epsilon: 0.1 }, 1);
    if wanted("synthetic/ic-q-epsilon-greedy/handoffs_per_sec") {
        figures.push(time_loop("synthetic/ic-q-epsilon-greedy/handoffs_per_sec", budget, || {
            greedy.run(CHUNK);
            CHUNK
        }));
    }

    let oracle = IcqAgent::tabular(&model.oracle_spec(), spec.discount, step);
    let mut central = Centralized::new(FiniteEnv::new(&model), oracle, Behaviour::Uniform, 1);
    if wanted("synthetic/oracle/handoffs_per_sec") {
        figures.push(time_loop("synthetic/oracle/handoffs_per_sec", budget, || {
            central.run(CHUNK);
            CHUNK
        }));
    }

    // The two halves of a handoff, timed apart: the environment alone (uniform actions, no learning) and
    // the learners alone (the receiver's reply and the sender's update, replayed from recorded transitions).
    if wanted("synthetic/environment-only/handoffs_per_sec") {
        let mut env = FiniteEnv::new(&model);
        let mut env_rng = stream(1, Stream::Env);
        let mut act_rng = stream(1, Stream::Agent(0));
        let legal: Vec<Vec<ActionId>> = spec.agents.iter().map(|a| a.legal.of(ObsId(0)).to_vec()).collect();
        figures.push(time_loop("synthetic/environment-only/handoffs_per_sec", budget, || {
            let mut done = 0;
            while done < CHUNK {
                match env.next_event(&mut env_rng) {
                    Event::Decide(d) => {
                        let l = &legal[d.agent.index()];
                        env.act(d.artifact, l[uniform_index(&mut act_rng, l.len())], &mut env_rng);
                    }
                    Event::Handoff(_) => done += 1,
                    Event::EpisodeEnd => {}
                }
            }
            CHUNK
        }));
    }
    Ok(())
}
