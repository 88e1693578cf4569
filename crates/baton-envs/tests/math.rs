//! The math workflow environment's invariants on a hand-built table: the reward of a hand-checked episode,
//! observations that never depend on the correctness label, bounded episodes, determinism by seed.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use baton_core::rng::{stream, uniform_index, Stream};
use baton_core::{ActionId, AgentId, ArtifactId, Env, Event, Next, ObsId};
use baton_envs::math::env::{
    spec, spec_for, Interfaces, Workflow, AGENT_CHEAP, AGENT_CHECKER, AGENT_CRITIC, AGENT_STRONG, AGENT_SUBMIT,
    SUBMIT_CHEAP, SUBMIT_STRONG, TO_CHEAP, TO_CHECKER, TO_CRITIC, TO_STRONG,
};
use baton_envs::math::table::numbers_in;
use baton_envs::math::{Calls, MathEnv, MathEpisodes, MathTable, Order, QuestionRow, SolverAnswer, Thresholds};

fn answer(cost: f64, correct: bool, flags: bool, critic: bool, critic_cost: f64) -> SolverAnswer {
    SolverAnswer {
        cost_usd: cost,
        checker_flags: flags,
        long: false,
        critic_flags: critic,
        critic_cost_usd: critic_cost,
        correct,
        correct_routellm: Some(correct),
    }
}

fn table() -> MathTable {
    MathTable {
        rows: vec![
            QuestionRow {
                question: 0,
                answers: [answer(0.0004, true, false, false, 0.003), answer(0.016, true, false, false, 0.004)],
                agree: true,
                long_question: false,
                prompt: 3,
            },
            QuestionRow {
                question: 1,
                answers: [answer(0.0005, false, true, true, 0.0031), answer(0.018, true, true, false, 0.0042)],
                agree: false,
                long_question: true,
                prompt: 9,
            },
        ],
        thresholds: Thresholds { output_tokens: [100, 150], question_tokens: 50, question_quartiles: [30, 50, 70] },
    }
}

fn env(table: MathTable, order: Order, lambda: f64) -> MathEnv {
    env_with(table, order, lambda, Interfaces::Verdicts)
}

fn env_with(table: MathTable, order: Order, lambda: f64, interfaces: Interfaces) -> MathEnv {
    MathEpisodes::env(Arc::new(table), Arc::new(spec(1.0, interfaces).unwrap()), vec![0u32, 1].into(), order, lambda)
}

const BOTH: [Interfaces; 2] = [Interfaces::Narrow, Interfaces::Verdicts];

/// Plays one episode with `actions`, returning (agent, obs) of every decision and every handoff's reward.
fn play(e: &mut MathEnv, actions: &[ActionId]) -> (Vec<(AgentId, ObsId)>, Vec<f64>) {
    let mut rng = stream(1, Stream::Env);
    let (mut seen, mut rewards, mut k) = (Vec::new(), Vec::new(), 0);
    loop {
        match e.next_event(&mut rng) {
            Event::Decide(d) => {
                seen.push((d.agent, d.obs));
                e.act(d.artifact, actions[k], &mut rng);
                k += 1;
            }
            Event::Handoff(h) => {
                assert_eq!(h.duration, 1);
                rewards.push(h.reward);
                if let Next::To { agent, obs } = h.next {
                    // The receiver's observation at receipt is the one it then acts on.
                    assert!(matches!(e.next_event(&mut rng), Event::Decide(d) if d.agent == agent && d.obs == obs));
                    seen.push((agent, obs));
                    e.act(ArtifactId(0), actions[k], &mut rng);
                    k += 1;
                }
            }
            Event::EpisodeEnd => return (seen, rewards),
        }
    }
}

#[test]
fn reward_is_correctness_minus_lambda_cost_on_a_hand_checked_episode() {
    // Question 1: desk -> cheap (costs 0.0005) -> critic (judges the cheap answer: 0.0031) -> checker (free)
    // -> submit the cheap answer, which is wrong.
    let lambda = 100.0;
    let mut e = env(table(), Order::Sequential, lambda);
    let mut rng = stream(0, Stream::Env);
    e.reset(&mut rng);
    let _ = play(&mut e, &[TO_CHEAP, SUBMIT_CHEAP]); // question 0 first
    let (seen, rewards) = play(&mut e, &[TO_CHEAP, TO_CRITIC, TO_CHECKER, SUBMIT_CHEAP]);
    let agents: Vec<AgentId> = seen.iter().map(|s| s.0).collect();
    assert_eq!(agents, vec![AGENT_SUBMIT, AGENT_CHEAP, AGENT_CRITIC, AGENT_CHECKER]);
    assert_eq!(rewards, vec![-lambda * 0.0005, -lambda * 0.0031, 0.0, 0.0]);
    let rec = e.last_episode().unwrap();
    assert_eq!((rec.question, rec.correct, rec.handoffs), (1, false, 4));
    assert!((rec.cost_usd - 0.0036).abs() < 1e-15);
    let total: f64 = rewards.iter().sum();
    assert!((total - (0.0 - lambda * rec.cost_usd)).abs() < 1e-12);
    // Question 0 again, the right strong... here the cheap answer, right: reward 1 at submission.
    let (_, rewards) = play(&mut e, &[TO_CHEAP, SUBMIT_CHEAP]);
    assert_eq!(rewards, vec![-lambda * 0.0004, 1.0]);
    assert_eq!(e.tally().episodes, 3);
    assert_eq!(e.tally().correct, 2);
}

#[test]
fn no_observation_depends_on_the_label() {
    // The same table with every correctness label flipped: under the same random policy every decision
    // sees the same observation; only the submission rewards differ.
    let mut flipped = table();
    for r in &mut flipped.rows {
        for a in &mut r.answers {
            a.correct = !a.correct;
            a.correct_routellm = a.correct_routellm.map(|c| !c);
        }
    }
    for interfaces in BOTH {
        let run = |t: MathTable| {
            let mut e = env_with(t, Order::Sample, 10.0, interfaces);
            let (mut env_rng, mut pol) = (stream(5, Stream::Env), stream(5, Stream::Central));
            e.reset(&mut env_rng);
            let mut trace = Vec::new();
            let mut episodes = 0;
            while episodes < 2000 {
                match e.next_event(&mut env_rng) {
                    Event::Decide(d) => {
                        let legal = e.spec().agents[d.agent.index()].legal.of(d.obs);
                        let a = legal[uniform_index(&mut pol, legal.len())];
                        trace.push((d.agent, d.obs, a));
                        e.act(d.artifact, a, &mut env_rng);
                    }
                    Event::Handoff(h) => {
                        if let Next::To { agent, obs } = h.next {
                            trace.push((agent, obs, ActionId(u16::MAX)));
                        }
                        assert!(h.reward <= 1.0);
                    }
                    Event::EpisodeEnd => episodes += 1,
                }
            }
            (trace, e.tally())
        };
        let (a, ta) = run(table());
        let (b, tb) = run(flipped.clone());
        assert_eq!(a, b, "observations must not depend on the label");
        assert_eq!(ta.correct + tb.correct, ta.episodes, "the flip changes exactly the scores");
        assert_eq!(ta.cost_usd, tb.cost_usd);
        // Every episode ended within 14 handoffs.
        assert!(ta.handoffs <= 14 * ta.episodes);
    }
}

#[test]
fn the_environment_passes_the_core_contract_check_and_is_deterministic() {
    for interfaces in BOTH {
        let mk = || env_with(table(), Order::Sample, 3.0, interfaces);
        baton_core::check_env(mk, baton_core::CheckOptions { max_episode_handoffs: 14, ..Default::default() }).unwrap();
        let trace = |seed: u64| {
            let mut e = mk();
            let mut rng = stream(seed, Stream::Env);
            e.reset(&mut rng);
            let mut out = Vec::new();
            for _ in 0..500 {
                let ev = e.next_event(&mut rng);
                if let Event::Decide(d) = ev {
                    let legal = e.spec().agents[d.agent.index()].legal.of(d.obs);
                    let a = legal[uniform_index(&mut rng, legal.len())];
                    e.act(d.artifact, a, &mut rng);
                }
                out.push(format!("{ev:?}"));
            }
            out
        };
        assert_eq!(trace(7), trace(7));
        assert_ne!(trace(7), trace(8));
    }
}

/// Plays random legal actions for `episodes` episodes; returns every (agent, action) taken.
fn random_play(e: &mut MathEnv, episodes: u64, seed: u64) -> Vec<(AgentId, ActionId)> {
    let (mut env_rng, mut pol) = (stream(seed, Stream::Env), stream(seed, Stream::Central));
    e.reset(&mut env_rng);
    let mut taken = Vec::new();
    let mut done = 0;
    while done < episodes {
        match e.next_event(&mut env_rng) {
            Event::Decide(d) => {
                let legal = e.spec().agents[d.agent.index()].legal.of(d.obs);
                let a = legal[uniform_index(&mut pol, legal.len())];
                taken.push((d.agent, a));
                e.act(d.artifact, a, &mut env_rng);
            }
            Event::Handoff(_) => {}
            Event::EpisodeEnd => done += 1,
        }
    }
    taken
}

#[test]
fn without_a_critic_no_policy_can_call_it() {
    for interfaces in BOTH {
        let s = spec_for(1.0, interfaces, Workflow::Full, false).unwrap();
        for a in &s.agents {
            for o in 0..a.n_obs {
                assert!(!a.legal.of(ObsId(o)).contains(&TO_CRITIC), "{} obs {o}", a.name);
            }
        }
        let mut e = MathEpisodes::env(Arc::new(table()), Arc::new(s), vec![0u32, 1].into(), Order::Sample, 1.0);
        e.keep_records();
        let taken = random_play(&mut e, 3000, 3);
        assert!(taken.iter().all(|&(_, a)| a != TO_CRITIC));
        let t = e.tally();
        assert_eq!((t.episodes, t.critic_calls), (3000, 0));
        assert!(t.checker_calls > 0 && t.cheap_calls > 0 && t.strong_calls > 0);
        assert_eq!(e.take_records().len(), 3000);
    }
    // With the critic, random play does call it.
    let mut e = env(table(), Order::Sample, 1.0);
    let _ = random_play(&mut e, 3000, 3);
    assert!(e.tally().critic_calls > 0);
}

#[test]
fn prompt_only_calls_exactly_one_solver_and_the_desk_sees_only_the_question() {
    let s = spec_for(1.0, Interfaces::Verdicts, Workflow::PromptOnly, false).unwrap();
    let mut e = MathEpisodes::env(Arc::new(table()), Arc::new(s), vec![0u32, 1].into(), Order::Sequential, 10.0);
    assert_eq!(e.workflow(), Workflow::PromptOnly);
    e.keep_records();
    // Question 0 (context 3) to the strong solver, question 1 (context 9) to the cheap one.
    let (seen, rewards) = play(&mut e, &[TO_STRONG, SUBMIT_STRONG]);
    assert_eq!(seen, vec![(AGENT_SUBMIT, ObsId(3)), (AGENT_STRONG, ObsId(0))]);
    assert_eq!(rewards, vec![-10.0 * 0.016, 1.0]);
    let (seen, rewards) = play(&mut e, &[TO_CHEAP, SUBMIT_CHEAP]);
    assert_eq!(seen, vec![(AGENT_SUBMIT, ObsId(9)), (AGENT_CHEAP, ObsId(0))]);
    assert_eq!(rewards, vec![-10.0 * 0.0005, 0.0]);
    let r = e.take_records();
    assert_eq!(r[0].calls, Calls { strong: true, ..Calls::default() });
    assert_eq!(r[1].calls, Calls { cheap: true, ..Calls::default() });
    // Under any policy: one solver per question, nothing else.
    let _ = random_play(&mut e, 2000, 4);
    let t = e.tally();
    assert_eq!(t.cheap_calls + t.strong_calls, t.episodes);
    assert_eq!((t.checker_calls, t.critic_calls, t.handoffs), (0, 0, 2 * t.episodes));
}

#[test]
fn numbers_in_counts_each_stated_number_once() {
    assert_eq!(numbers_in("Tom has 3 boxes of 12 eggs. He uses 7."), 3);
    assert_eq!(numbers_in("$80,000 and then $50,000.5 in repairs, 150%"), 3);
    assert_eq!(numbers_in("no numbers here."), 0);
    assert_eq!(numbers_in("1/2 of 10"), 3);
}
