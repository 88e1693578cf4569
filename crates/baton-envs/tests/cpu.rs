//! The CPU-programming workload: role transformers, interfaces, determinism.

use std::sync::Arc;

use baton_core::rng::{stream, uniform_index, Stream};
use baton_core::{Env, Event, JointState, Next};
use baton_envs::cpu::env::{oracle_spec, spec, N_JOINT};
use baton_envs::cpu::roles::{self, sample_inputs, TestSet};
use baton_envs::cpu::{strategy, CpuConfig, CpuEnv, CpuEpisodes, CpuWorld, Interfaces, Order, Tally};
use baton_tinycpu::{assemble, check_exhaustive, disassemble, mutate, Instr, Program, TaskSet, MAX_PROGRAM_LEN};
use proptest::prelude::*;

fn well_formed(p: &Program) -> Result<(), String> {
    if p.len() > MAX_PROGRAM_LEN {
        return Err(format!("{} instructions", p.len()));
    }
    for i in &p.instrs {
        if let Instr::Jnz { target, .. } = i {
            if usize::from(*target) > p.len() {
                return Err(format!("jump target {target} past the end ({})", p.len()));
            }
        }
    }
    let text = disassemble(p);
    match assemble(&text) {
        Ok(back) if back == *p => Ok(()),
        Ok(back) => Err(format!("text form does not round-trip:\n{text}\n{back}")),
        Err(e) => Err(format!("text form does not assemble: {e}\n{text}")),
    }
}

fn task_set() -> TaskSet {
    TaskSet::builtin()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every role returns a well-formed program; the debugger never ends worse on its tests than it started;
    /// the optimizer keeps a passing program passing its tests, and its dead-code and peephole passes keep the
    /// semantics exactly (same verdict and outputs on the hidden check domain).
    #[test]
    fn role_transformers_keep_programs_well_formed(task in 0usize..28, seed in any::<u64>(), edits in 0usize..4) {
        let set = task_set();
        let task = &set.tasks[task];
        let mut rng = stream(seed, Stream::Other(7));
        let mut start = task.reference.clone();
        for _ in 0..edits {
            mutate(&mut start, &mut rng);
        }
        let drafted = roles::draft(task, 0.7, &mut rng);
        prop_assert!(well_formed(&drafted).is_ok(), "{:?}", well_formed(&drafted));
        let tests = TestSet::new(task, &sample_inputs(task, 16, &mut rng));
        let before = tests.score(&start);
        let d = roles::debug(&start, &tests, 60, &mut rng);
        prop_assert!(well_formed(&d.program).is_ok(), "{:?}", well_formed(&d.program));
        prop_assert!(d.proposals <= 60);
        prop_assert!(tests.score(&d.program).failing <= before.failing);
        let o = roles::optimize(&start, &tests, task.outputs, 60, &mut rng);
        prop_assert!(well_formed(&o.program).is_ok(), "{:?}", well_formed(&o.program));
        if before.failing == 0 {
            prop_assert_eq!(tests.score(&o.program).failing, 0);
        }
        let cleaned = roles::dead_code(&roles::peephole(&start), task.outputs);
        prop_assert!(well_formed(&cleaned).is_ok());
        prop_assert!(cleaned.len() <= start.len());
        let (a, b) = (check_exhaustive(&start, task), check_exhaustive(&cleaned, task));
        prop_assert_eq!(a.passed, b.passed);
        prop_assert_eq!(a.failed, b.failed);
    }
}

#[test]
fn dead_code_removes_a_verbose_writers_padding() {
    let set = task_set();
    let p01 = set.task("p01").expect("built-in");
    let padded = assemble("ldi r4, 7\ndec r1, r0\nadd r5, r4, r1\nand r0, r0, r1\nmov r3, r3").expect("valid");
    let clean = roles::dead_code(&roles::peephole(&padded), 1);
    assert_eq!(clean, p01.reference);
}

#[test]
fn the_debugger_repairs_a_one_operand_bug() {
    let set = task_set();
    let p03 = set.task("p03").expect("built-in");
    // neg r1, r0; and r0, r0, r1 with the second source broken.
    let broken = assemble("neg r1, r0\nand r0, r0, r0").expect("valid");
    let mut rng = stream(3, Stream::Other(7));
    let tests = TestSet::new(p03, &sample_inputs(p03, 64, &mut rng));
    assert!(tests.score(&broken).failing > 0);
    let fixed = roles::debug(&broken, &tests, 2000, &mut rng);
    assert_eq!(tests.score(&fixed.program).failing, 0, "{}", fixed.program);
    assert!(check_exhaustive(&fixed.program, p03).passed, "{}", fixed.program);
}

fn world(k: u32) -> Arc<CpuWorld> {
    let cpu = CpuConfig::default().validate().expect("defaults are valid");
    Arc::new(CpuWorld::new(&cpu, &task_set().tasks, k))
}

/// Random legal play for `episodes` episodes; checks observations and legality along the way.
fn play(env: &mut CpuEnv, seed: u64, episodes: u64) -> Tally {
    let interfaces = env.world().cpu.config.interfaces;
    let sp = spec(1.0, interfaces).expect("spec");
    let os = oracle_spec().expect("oracle spec");
    let mut rng = stream(seed, Stream::Env);
    let mut policy = stream(seed, Stream::Central);
    env.reset(&mut rng);
    let mut done = 0;
    let mut handoffs = 0;
    while done < episodes {
        match env.next_event(&mut rng) {
            Event::Decide(d) => {
                let i = d.agent.index();
                assert!(d.obs.0 < interfaces.obs_sizes()[i], "agent {i} obs {}", d.obs.0);
                let legal = sp.agents[i].legal.of(d.obs);
                let j = env.joint_state(d.artifact);
                assert!(j.0 < N_JOINT);
                assert_eq!(os.legal.of(j), legal, "the oracle's legal set is the holder's");
                let a = legal[uniform_index(&mut policy, legal.len())];
                env.act(d.artifact, a, &mut rng);
            }
            Event::Handoff(h) => {
                handoffs += 1;
                assert!(h.duration >= 1);
                if let Next::To { agent, obs } = h.next {
                    assert!(obs.0 < interfaces.obs_sizes()[agent.index()]);
                }
            }
            Event::EpisodeEnd => {
                done += 1;
                assert!(handoffs <= 14, "the deadline ends every episode");
                handoffs = 0;
            }
        }
    }
    env.tally()
}

#[test]
fn episodes_respect_interfaces_and_the_deadline() {
    for interfaces in [Interfaces::Spec, Interfaces::Verdicts] {
        let cpu = CpuConfig { interfaces, ..CpuConfig::default() }.validate().expect("valid");
        let w = Arc::new(CpuWorld::new(&cpu, &task_set().tasks, 16));
        let mut env = CpuEpisodes::env(w, Arc::new(spec(1.0, interfaces).expect("spec")), Order::Sample);
        let t = play(&mut env, 5, 300);
        assert_eq!(t.episodes, 300);
        assert!(t.correct > 0 && t.correct < t.episodes, "{t:?}");
    }
}

/// Role results are pure functions of their inputs: a world whose caches were filled by other episodes first
/// gives exactly the same episodes.
#[test]
fn results_do_not_depend_on_what_the_cache_saw_first() {
    let sp = Arc::new(spec(1.0, Interfaces::default()).expect("spec"));
    let cold = world(8);
    let warm = world(8);
    let mut other = CpuEpisodes::env(warm.clone(), sp.clone(), Order::Sample);
    play(&mut other, 99, 200);
    let a = play(&mut CpuEpisodes::env(cold, sp.clone(), Order::Sample), 1, 200);
    let b = play(&mut CpuEpisodes::env(warm, sp, Order::Sample), 1, 200);
    assert_eq!(a, b);
}

#[test]
fn the_fixed_pipeline_makes_eight_handoffs_and_submits() {
    let w = world(64);
    let n = w.tasks.len() as u64;
    let mut env = CpuEpisodes::env(w, Arc::new(spec(1.0, Interfaces::default()).expect("spec")), Order::Sequential);
    let mut rng = stream(2, Stream::Env);
    env.reset(&mut rng);
    let mut done = 0;
    while done < n {
        match env.next_event(&mut rng) {
            Event::Decide(d) => {
                let a = strategy::fixed_pipeline(d.agent, env.artifact());
                env.act(d.artifact, a, &mut rng);
            }
            Event::Handoff(_) => {}
            Event::EpisodeEnd => {
                let r = env.last_episode().expect("an episode ended");
                assert!(r.submitted);
                assert_eq!(r.handoffs, 8);
                done += 1;
            }
        }
    }
}
