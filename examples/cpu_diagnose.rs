//! Where IC-Q's greedy CPU-programming policy loses success and return against the centralized oracle.
//!
//! ```sh
//! cargo run --release --example cpu_diagnose -- experiments/cpu.toml 0
//! ```
//!
//! For one seed (the config's training budget, behaviour and `tester_k`): trains IC-Q and the oracle, plays
//! both greedy policies on every task (`eval_episodes_per_task` episodes each, the run's evaluation stream),
//! and prints
//! - each method's success, wrong submissions, deadline losses, return, calls per role and wasted calls (a
//!   tester re-running an unchanged, already tested program; a debugger or optimizer call that changed
//!   nothing; a redraft of a program that was already correct; a bounce through the desk);
//! - where IC-Q's wrong submissions come from: what the desk saw and which role last changed the program;
//! - which tasks end at the deadline, and the commonest call sequences there;
//! - an attribution of IC-Q's lost return to its decisions: at every decision on IC-Q's own trajectories,
//!   the oracle's table scores IC-Q's action against the oracle's best action in the same joint state
//!   (`max_a Q_oracle(s, a) - Q_oracle(s, a_icq)`, the performance-difference lemma with the oracle's `Q` as
//!   the stand-in for `Q*`), summed per (role, what the role saw, IC-Q's action, the oracle's action), split by
//!   the hidden correctness of the program and the deadline, with IC-Q's own `Q` and visit counts of both
//!   actions (a small, rarely visited gap points at under-training; a well-visited one at the interface).

use std::collections::BTreeMap;

use baton::core::rng::{stream, Stream};
use baton::core::{ActionId, AgentId, ArtifactId, Env, Event, JointState, ObsId};
use baton::envs::cpu::env::{oracle_spec, Artifact, SUBMIT, SUBMIT_PROGRAM};
use baton::envs::cpu::{CpuEnv, Order};
use baton::experiment::cpu::CpuWorkload;
use baton::experiment::train::{Centralized, Decentralized};
use baton::learn::{IcqAgent, QFunction, TabularQ};

const ROLES: [&str; 5] = ["writer", "tester", "debugger", "optimizer", "desk"];
const ACTIONS: [&str; 6] = ["writer", "tester", "debugger", "optimizer", "desk", "SUBMIT"];

/// What the holder of the artifact sees, in words (the environment's interface of that role).
fn seen(env: &CpuEnv, agent: AgentId) -> String {
    env.describe(agent)
}

#[derive(Clone, Debug)]
struct Step {
    agent: AgentId,
    obs: ObsId,
    joint: ObsId,
    action: ActionId,
    seen: String,
    correct: bool,
    deadline: u32,
    /// The receiver's work changed the program.
    changed: bool,
    /// A tester call on a program already tested as it is.
    retest_unchanged: bool,
    /// A redraft of a program that was already correct.
    redraft_correct: bool,
}

#[derive(Clone, Debug)]
struct Played {
    task: u16,
    steps: Vec<Step>,
    submitted: bool,
    correct: bool,
    ret: f64,
    /// The role whose work last changed the program before the submission.
    last_editor: Option<AgentId>,
    desk_saw: String,
}

fn deadline_left(a: &Artifact, max: u32) -> u32 {
    max.saturating_sub(a.handoffs)
}

fn play(
    env: &mut CpuEnv,
    rng: &mut baton::core::Rng,
    mut pick: impl FnMut(&CpuEnv, AgentId, ObsId) -> ActionId,
) -> Played {
    let max = env.world().cpu.config.max_handoffs;
    let mut steps = Vec::new();
    let mut last_editor = None;
    let mut desk_saw = String::new();
    loop {
        match env.next_event(rng) {
            Event::Decide(d) => {
                let a = pick(env, d.agent, d.obs);
                let art = env.artifact().clone();
                let before = art.program.as_ref().map(|p| p.id);
                let correct = art.program.as_ref().is_some_and(|p| p.correct);
                let retest_unchanged = a.0 == 1 && art.log.is_some() && art.fresh;
                let redraft_correct = a.0 == 0 && correct;
                let joint = env.joint_state(ArtifactId(0));
                let s = seen(env, d.agent);
                if a == SUBMIT_PROGRAM {
                    desk_saw = s.clone();
                }
                env.act(d.artifact, a, rng);
                let after = env.artifact().program.as_ref().map(|p| p.id);
                let changed = a != SUBMIT_PROGRAM && before != after;
                if changed {
                    last_editor = Some(AgentId(a.0));
                }
                steps.push(Step {
                    agent: d.agent,
                    obs: d.obs,
                    joint,
                    action: a,
                    seen: s,
                    correct,
                    deadline: deadline_left(&art, max),
                    changed,
                    retest_unchanged,
                    redraft_correct,
                });
            }
            Event::Handoff(_) => {}
            Event::EpisodeEnd => {
                let r = env.last_episode().expect("an episode ended");
                return Played {
                    task: r.task,
                    steps,
                    submitted: r.submitted,
                    correct: r.correct,
                    ret: r.ret,
                    last_editor,
                    desk_saw,
                };
            }
        }
    }
}

fn sig(p: &Played) -> String {
    let mut s: Vec<String> = Vec::new();
    for st in &p.steps {
        let mark = if st.changed { "*" } else { "" };
        s.push(format!("{}{mark}", ACTIONS[st.action.0 as usize]));
    }
    s.join(" ")
}

#[derive(Default)]
struct Totals {
    n: u32,
    correct: u32,
    wrong: u32,
    deadline: u32,
    ret: f64,
    handoffs: u32,
    calls: [u32; 5],
    retest_unchanged: u32,
    no_change: [u32; 5],
    redraft_correct: u32,
    desk_bounce: u32,
}

impl Totals {
    fn add(&mut self, p: &Played) {
        self.n += 1;
        self.correct += u32::from(p.correct);
        self.wrong += u32::from(p.submitted && !p.correct);
        self.deadline += u32::from(!p.submitted);
        self.ret += p.ret;
        self.handoffs += p.steps.len() as u32;
        for (i, st) in p.steps.iter().enumerate() {
            if st.action != SUBMIT_PROGRAM {
                self.calls[st.action.0 as usize] += 1;
                if !st.changed && (st.action.0 == 2 || st.action.0 == 3) {
                    self.no_change[st.action.0 as usize] += 1;
                }
            }
            self.retest_unchanged += u32::from(st.retest_unchanged);
            self.redraft_correct += u32::from(st.redraft_correct);
            // A bounce: the desk received the program and handed it on instead of submitting.
            if st.agent == SUBMIT && st.action != SUBMIT_PROGRAM && i > 0 {
                self.desk_bounce += 1;
            }
        }
    }

    fn print(&self, name: &str) {
        let n = f64::from(self.n);
        let r = |x: u32| f64::from(x) / n;
        println!(
            "{name:<7} success {:.3}  wrong {:.3}  deadline {:.3}  return {:.3}  handoffs/ep {:.2}",
            r(self.correct),
            r(self.wrong),
            r(self.deadline),
            self.ret / n,
            r(self.handoffs)
        );
        println!(
            "        calls/ep writer {:.2} tester {:.2} debugger {:.2} optimizer {:.2} desk {:.2}",
            r(self.calls[0]),
            r(self.calls[1]),
            r(self.calls[2]),
            r(self.calls[3]),
            r(self.calls[4])
        );
        println!(
            "        wasted/ep retest-unchanged {:.3} debugger-no-change {:.3} optimizer-no-change {:.3} \
             redraft-of-correct {:.3} desk-bounce {:.3}",
            r(self.retest_unchanged),
            r(self.no_change[2]),
            r(self.no_change[3]),
            r(self.redraft_correct),
            r(self.desk_bounce)
        );
    }
}

#[derive(Default)]
struct Loss {
    count: u32,
    loss: f64,
    correct: u32,
    late: u32,
    q_icq: f64,
    q_alt: f64,
    n_icq: u32,
    n_alt: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: cpu_diagnose CONFIG [SEED]")?;
    let seed: u64 = args.get(1).map_or(Ok(0), |s| s.parse())?;
    let exp = baton::experiment::load_experiment(std::path::Path::new(path))?;
    let Some(w) = exp.workload_as::<CpuWorkload>() else { return Err("not a cpu config".into()) };
    let k = w.cpu.config.tester_k;
    let episodes = w.cpu.config.episodes;
    let spec = &w.spec;
    let agents =
        spec.agents.iter().map(|a| IcqAgent::new(TabularQ::new(a, exp.learner.step.clone()), spec.discount)).collect();
    let mut icq = Decentralized::new(w.env(k, Order::Sample), agents, exp.learner.behaviour, seed);
    icq.run_until(|_, s| s.episodes >= episodes);
    let os = oracle_spec()?;
    let central = IcqAgent::new(TabularQ::new(&os, exp.learner.step.clone()), spec.discount);
    let mut orc = Centralized::new(w.env(k, Order::Sample), central, exp.learner.behaviour, seed);
    orc.run_until(|_, s| s.episodes >= episodes);
    let (ia, oc) = (icq.agents(), orc.learner());

    let n_eval = w.eval_episodes();
    let mut runs: Vec<Vec<Played>> = Vec::new();
    for m in 0..2 {
        let mut env = w.env(k, Order::Sequential);
        let mut rng = stream(seed, Stream::Env);
        env.reset(&mut rng);
        let mut out = Vec::new();
        for _ in 0..n_eval {
            out.push(if m == 0 {
                play(&mut env, &mut rng, |_, g, o| ia[g.index()].greedy(o))
            } else {
                play(&mut env, &mut rng, |e, _, _| oc.greedy(e.joint_state(ArtifactId(0))))
            });
        }
        runs.push(out);
    }
    let names = ["ic-q", "oracle"];
    println!("=== {path}: seed {seed}, k = {k}, {episodes} training episodes, {n_eval} greedy episodes per method");
    for (name, run) in names.iter().zip(&runs) {
        let mut t = Totals::default();
        run.iter().for_each(|p| t.add(p));
        t.print(name);
    }

    let icq_run = &runs[0];
    let n = icq_run.len() as f64;
    println!("\n-- IC-Q's wrong submissions (per episode; what the desk saw, the role that last changed the program):");
    let mut wrong: BTreeMap<String, u32> = BTreeMap::new();
    for p in icq_run.iter().filter(|p| p.submitted && !p.correct) {
        let ed = p.last_editor.map_or("none", |a| ROLES[a.index()]);
        *wrong.entry(format!("desk saw [{}]; last changed by {ed}", p.desk_saw)).or_default() += 1;
    }
    let mut v: Vec<_> = wrong.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (key, c) in v.iter().take(10) {
        println!("{:>7.4}  {key}", f64::from(*c) / n);
    }

    println!("\n-- deadline losses per task (ic-q / oracle, fraction of that task's episodes):");
    let tasks = &w.worlds[0].tasks;
    let per_task = |run: &[Played], t: usize| {
        let eps: Vec<&Played> = run.iter().filter(|p| usize::from(p.task) == t).collect();
        let dl = eps.iter().filter(|p| !p.submitted).count() as f64 / eps.len().max(1) as f64;
        let ok = eps.iter().filter(|p| p.correct).count() as f64 / eps.len().max(1) as f64;
        (dl, ok)
    };
    for (t, tw) in tasks.iter().enumerate() {
        let (a, sa) = per_task(&runs[0], t);
        let (b, sb) = per_task(&runs[1], t);
        if a > 0.0 || b > 0.0 || sa < sb {
            println!(
                "   {:<6} len {:>2}  deadline {:.3} / {:.3}  success {:.3} / {:.3}",
                tw.task.name,
                tw.task.reference.len(),
                a,
                b,
                sa,
                sb
            );
        }
    }
    for (name, run) in names.iter().zip(&runs) {
        let mut seqs: BTreeMap<String, u32> = BTreeMap::new();
        for p in run.iter().filter(|p| !p.submitted) {
            *seqs.entry(sig(p)).or_default() += 1;
        }
        let mut v: Vec<_> = seqs.into_iter().collect();
        v.sort_by_key(|x| std::cmp::Reverse(x.1));
        println!("   {name}: commonest call sequences of deadline episodes (receiver; * = it changed the program):");
        for (s, c) in v.iter().take(6) {
            println!("   {c:>5}  {s}");
        }
    }

    // Attribution of the lost return to IC-Q's decisions, scored by the oracle's table.
    let mut by: BTreeMap<String, Loss> = BTreeMap::new();
    let mut by_role = [0.0f64; 5];
    let mut total = 0.0;
    for p in icq_run {
        for st in &p.steps {
            let legal = os.legal.of(st.joint);
            let (best, best_q) = legal
                .iter()
                .map(|&a| (a, oc.q().value(st.joint, a)))
                .fold((legal[0], f64::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
            let loss = best_q - oc.q().value(st.joint, st.action);
            if loss <= 1e-12 {
                continue;
            }
            total += loss;
            by_role[st.agent.index()] += loss;
            let key = format!(
                "{:<9} sees [{}]: icq {} / oracle {}",
                ROLES[st.agent.index()],
                st.seen,
                ACTIONS[st.action.0 as usize],
                ACTIONS[best.0 as usize]
            );
            let e = by.entry(key).or_default();
            e.count += 1;
            e.loss += loss;
            e.correct += u32::from(st.correct);
            e.late += u32::from(st.deadline < 6);
            let q = ia[st.agent.index()].q();
            e.q_icq = q.value(st.obs, st.action);
            e.q_alt = q.value(st.obs, best);
            e.n_icq = q.visits(st.obs, st.action);
            e.n_alt = q.visits(st.obs, best);
        }
    }
    println!("\n-- IC-Q's return lost by its decisions, scored by the oracle's Q: {:.4} per episode", total / n);
    println!(
        "   by role: writer {:.4} tester {:.4} debugger {:.4} optimizer {:.4} desk {:.4}",
        by_role[0] / n,
        by_role[1] / n,
        by_role[2] / n,
        by_role[3] / n,
        by_role[4] / n
    );
    println!(
        "   (loss/ep, count/ep, share hidden-correct, share <6 handoffs left, IC-Q's Q icq-choice / oracle-choice, visits)"
    );
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.loss.total_cmp(&a.1.loss));
    for (key, e) in v.iter().take(25) {
        let c = f64::from(e.count);
        println!(
            "{:>7.4} {:>6.3} {:>5.2} {:>5.2} {:>7.3} {:>7.3} {:>8} {:>8}  {key}",
            e.loss / n,
            c / n,
            f64::from(e.correct) / c,
            f64::from(e.late) / c,
            e.q_icq,
            e.q_alt,
            e.n_icq,
            e.n_alt
        );
    }
    Ok(())
}
