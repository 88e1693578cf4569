//! Where IC-Q's greedy math policy differs from the centralized oracle's, question by question.
//!
//! ```sh
//! cargo run --release --example math_diagnose -- experiments/math-gsm8k.toml 20 30 50
//! ```
//!
//! For each lambda (seed 0, the config's training budget): trains IC-Q and the oracle on the train half, plays
//! both greedy policies (and the cascade) on every held-out question, and prints accuracy, cost and return;
//! the most common pairs of differing paths (agent:action ...); and, at the first decision where the two
//! differ, which IC-Q agent decided, what it saw, and the Q-values and visit counts of its choice and of the
//! oracle's choice in its own table (a small gap with few visits points at under-training; a large, well
//! visited gap at what the agent cannot see).

use std::collections::BTreeMap;
use std::sync::Arc;

use baton::core::{ActionId, AgentId, Env, Event, JointState, Next, ObsId};
use baton::envs::math::env::{describe, oracle_spec_for};
use baton::envs::math::{MathEnv, Order, Strategy};
use baton::experiment::math::MathWorkload;
use baton::experiment::train::{Centralized, Decentralized};
use baton::learn::{IcqAgent, QFunction, TabularQ};

const NAMES: [&str; 7] = ["cheap", "strong", "checker", "critic", "desk", "SUBMIT-cheap", "SUBMIT-strong"];

#[derive(Clone, Debug)]
struct Played {
    path: Vec<(AgentId, ObsId, ActionId, String)>,
    correct: bool,
    cost: f64,
}

fn play(env: &mut MathEnv, mut pick: impl FnMut(&MathEnv, AgentId, ObsId) -> ActionId) -> Played {
    let mut rng = baton::core::rng::stream(0, baton::core::Stream::Eval(0));
    let mut path = Vec::new();
    loop {
        match env.next_event(&mut rng) {
            Event::Decide(d) => {
                let a = pick(env, d.agent, d.obs);
                path.push((d.agent, d.obs, a, describe(d.agent, env.features(), env.interfaces())));
                env.act(d.artifact, a, &mut rng);
            }
            Event::Handoff(h) => {
                if let Next::To { .. } = h.next {
                    continue;
                }
            }
            Event::EpisodeEnd => {
                let r = env.last_episode().expect("an episode ended");
                return Played { path, correct: r.correct, cost: r.cost_usd };
            }
        }
    }
}

fn sig(p: &Played) -> String {
    p.path
        .iter()
        .map(|(g, _, a, _)| format!("{}:{}", NAMES[g.index()], NAMES[a.0 as usize]))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: math_diagnose CONFIG LAMBDA...")?;
    let exp = baton::experiment::load_experiment(std::path::Path::new(path))?;
    let Some(m) = exp.workload_as::<MathWorkload>() else { return Err("not a math config".into()) };
    let lambdas: Vec<f64> = args[1..].iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
    let episodes = m.math.config.episodes;
    let seed = 0;
    for lambda in lambdas {
        let spec = &m.spec;
        let agents = spec
            .agents
            .iter()
            .map(|a| IcqAgent::new(TabularQ::new(a, exp.learner.step.clone()), spec.discount))
            .collect();
        let mut icq = Decentralized::new(m.env(&m.train, Order::Sample, lambda), agents, exp.learner.behaviour, seed);
        icq.run_until(|_, s| s.episodes >= episodes);
        let os = oracle_spec_for(m.critic().enabled())?;
        let central = IcqAgent::new(TabularQ::new(&os, exp.learner.step.clone()), spec.discount);
        let mut orc = Centralized::new(m.env(&m.train, Order::Sample, lambda), central, exp.learner.behaviour, seed);
        orc.run_until(|_, s| s.episodes >= episodes);
        let (ia, oc) = (icq.agents(), orc.learner());
        let mut diffs: BTreeMap<String, (u32, u32, u32, f64, f64)> = BTreeMap::new();
        let mut first: BTreeMap<String, (u32, f64, f64, u32, u32)> = BTreeMap::new();
        let mut tot = [(0u32, 0.0f64); 3];
        // IC-Q's and the oracle's greedy policies on question `q`.
        let both = |q: u32| {
            let one: Arc<[u32]> = vec![q].into();
            let a = play(&mut m.env(&one, Order::Sequential, lambda), |_, g, o| ia[g.index()].greedy(o));
            let b = play(&mut m.env(&one, Order::Sequential, lambda), |e, _, _| {
                oc.greedy(e.joint_state(baton::core::ArtifactId(0)))
            });
            (one, a, b)
        };
        for &q in m.test.iter() {
            let (one, a, b) = both(q);
            let c =
                play(&mut m.env(&one, Order::Sequential, lambda), |e, g, _| Strategy::Cascade.action(g, e.features()));
            for (t, p) in tot.iter_mut().zip([&a, &b, &c]) {
                t.0 += u32::from(p.correct);
                t.1 += p.cost;
            }
            if sig(&a) != sig(&b) {
                let e = diffs.entry(format!("icq[{}]  oracle[{}]", sig(&a), sig(&b))).or_default();
                e.0 += 1;
                e.1 += u32::from(a.correct);
                e.2 += u32::from(b.correct);
                e.3 += a.cost;
                e.4 += b.cost;
                if let Some(k) = a.path.iter().zip(&b.path).position(|(x, y)| x.2 != y.2) {
                    let (g, o, act, seen) = &a.path[k];
                    let alt = b.path[k].2;
                    let qf = ia[g.index()].q();
                    let key = format!(
                        "{} sees [{}]: icq {} / oracle {}",
                        NAMES[g.index()],
                        seen,
                        NAMES[act.0 as usize],
                        NAMES[alt.0 as usize]
                    );
                    let f = first.entry(key).or_default();
                    f.0 += 1;
                    f.1 = qf.value(*o, *act);
                    f.2 = qf.value(*o, alt);
                    f.3 = qf.visits(*o, *act);
                    f.4 = qf.visits(*o, alt);
                }
            }
        }
        // The same greedy policies on the questions they were trained on: a learner whose held-out return is
        // below another's while its train return is above has fitted its training questions, not the task.
        let mut fit = [(0u32, 0.0f64); 2];
        for &q in m.train.iter() {
            let (_, a, b) = both(q);
            for (t, p) in fit.iter_mut().zip([&a, &b]) {
                t.0 += u32::from(p.correct);
                t.1 += p.cost;
            }
        }
        let n = m.test.len() as f64;
        let n_train = m.train.len() as f64;
        println!("\n=== lambda {lambda} ({} held-out, {episodes} episodes, seed {seed})", m.test.len());
        for (name, t) in ["ic-q", "oracle", "cascade"].iter().zip(tot) {
            let (acc, cost) = (f64::from(t.0) / n, t.1 / n);
            println!("{name:<8} accuracy {acc:.4}  $/1k {:.3}  return {:.4}", 1000.0 * cost, acc - lambda * cost);
        }
        for (name, t) in ["ic-q", "oracle"].iter().zip(fit) {
            let (acc, cost) = (f64::from(t.0) / n_train, t.1 / n_train);
            println!(
                "{name:<8} on its {} train questions: accuracy {acc:.4}  $/1k {:.3}  return {:.4}",
                m.train.len(),
                1000.0 * cost,
                acc - lambda * cost
            );
        }
        let mut d: Vec<_> = diffs.into_iter().collect();
        d.sort_by_key(|x| std::cmp::Reverse(x.1 .0));
        println!("-- differing paths (count, icq right, oracle right, icq $, oracle $):");
        for (k, v) in d.iter().take(8) {
            println!("{:>4} {:>4} {:>4} {:>8.4} {:>8.4}  {k}", v.0, v.1, v.2, v.3, v.4);
        }
        let mut f: Vec<_> = first.into_iter().collect();
        f.sort_by_key(|x| std::cmp::Reverse(x.1 .0));
        println!("-- first differing decision (count, Q icq-choice, Q oracle-choice, visits icq-choice, visits oracle-choice):");
        for (k, v) in f.iter().take(8) {
            println!("{:>4} {:>8.4} {:>8.4} {:>8} {:>8}  {k}", v.0, v.1, v.2, v.3, v.4);
        }
    }
    Ok(())
}
