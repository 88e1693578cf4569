//! The world of one CPU run at one tester sample size k: the tasks, the writer's drafts, the tester's
//! samples, and caches of every role call.
//!
//! Role calls are real program transformations ([`super::roles`]) but are seeded from their inputs: a
//! debugger or optimizer call on (program, logged tests) draws one of `role_variants` seeds, a tester call
//! one of `tester_samples` samples, a writer call one of `drafts` drafts. Each result is therefore a pure
//! function of its key, computed the first time it is asked for and cached, so runs stay fast and the
//! results are the same whatever thread asks first (the cache is shared by every job of a run). Programs are
//! interned: the environment carries an [`Arc`] to a [`ProgramInfo`] (its hidden correctness and cycles,
//! computed once by the exhaustive check) and allocates nothing on a cache hit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_core::rng::{stream, Stream};
use baton_tinycpu::{check_exhaustive, disassemble, Program, Task};

use super::config::Cpu;
use super::roles::{self, TestSet};

/// A program as the world knows it: its hidden verdict is for scoring and the oracle only.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramInfo {
    /// Index in the interner (internal: differs between runs with different thread schedules, so nothing
    /// observable depends on it).
    pub id: u32,
    /// The task's index.
    pub task: u16,
    /// The program.
    pub program: Program,
    /// Correct on the task's whole hidden check domain ([`check_exhaustive`]).
    pub correct: bool,
    /// Mean cycles over the check domain.
    pub cycles: f64,
    /// Passes the task's visible examples.
    pub visible_pass: bool,
}

/// One task of the world.
#[derive(Clone, Debug)]
pub struct TaskWorld {
    /// The task.
    pub task: Task,
    /// Difficulty bucket from the reference length: 0 (at most 3 instructions), 1 (at most 7), 2 (longer).
    pub difficulty: u8,
    /// The reference's mean cycles.
    pub reference_cycles: f64,
    /// The visible examples as tests.
    pub visible: TestSet,
    /// The tester's samples (k inputs each).
    pub samples: Vec<TestSet>,
    /// Each sample together with the visible examples: what the debugger and optimizer work against.
    pub logged: Vec<TestSet>,
    /// The writer's drafts.
    pub drafts: Vec<Program>,
}

/// No tester log: the debugger and optimizer work against the visible examples only.
pub const NO_LOG: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Role {
    Debug,
    Optimize,
}

#[derive(Default)]
struct Cache {
    ids: HashMap<(u16, Program), u32>,
    drafts: HashMap<(u16, u32), u32>,
    programs: Vec<Arc<ProgramInfo>>,
    failing: HashMap<(u32, u16), u32>,
    edits: HashMap<(u32, u16, u8, Role), (u32, u32)>,
}

/// The world: tasks, drafts, samples and caches at one k.
pub struct CpuWorld {
    /// The validated config.
    pub cpu: Cpu,
    /// The tester sample size.
    pub k: u32,
    /// The tasks.
    pub tasks: Vec<TaskWorld>,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for CpuWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuWorld").field("k", &self.k).field("tasks", &self.tasks.len()).finish()
    }
}

/// A 64-bit mix of several words (splitmix64 finalizer chained), for seeding role calls.
pub fn mix(words: &[u64]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &w in words {
        h ^= w.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(h << 6).wrapping_add(h >> 2);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A stable hash of a program's content (its text form).
pub fn program_hash(p: &Program) -> u64 {
    fnv1a(disassemble(p).as_bytes())
}

fn difficulty(len: usize) -> u8 {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

impl CpuWorld {
    /// Build the world for `tasks` at tester sample size `k`: drafts and samples are drawn from streams
    /// seeded by `world_seed` and the task's position (samples at a larger k extend those at a smaller one).
    pub fn new(cpu: &Cpu, tasks: &[Task], k: u32) -> CpuWorld {
        let c = &cpu.config;
        let tasks = tasks
            .iter()
            .enumerate()
            .map(|(t, task)| {
                let visible_inputs: Vec<_> = task.visible_examples().iter().map(|e| e.inputs).collect();
                let visible = TestSet::new(task, &visible_inputs);
                let samples: Vec<TestSet> = (0..c.tester_samples)
                    .map(|s| {
                        let mut rng = stream(mix(&[c.world_seed, t as u64, u64::from(s)]), Stream::Other(1));
                        TestSet::new(task, &roles::sample_inputs(task, k as usize, &mut rng))
                    })
                    .collect();
                let logged = samples.iter().map(|s| s.union(&visible, task)).collect();
                let drafts = (0..c.drafts)
                    .map(|d| {
                        let mut rng = stream(mix(&[c.world_seed, t as u64, u64::from(d)]), Stream::Other(2));
                        roles::draft(task, c.writer_skill, &mut rng)
                    })
                    .collect();
                let reference_cycles = check_exhaustive(&task.reference, task).reference_cycles.mean;
                TaskWorld {
                    task: task.clone(),
                    difficulty: difficulty(task.reference.len()),
                    reference_cycles,
                    visible,
                    samples,
                    logged,
                    drafts,
                }
            })
            .collect();
        CpuWorld { cpu: cpu.clone(), k, tasks, cache: Mutex::new(Cache::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves the caches consistent (every insert is one call), so a
        // poisoned lock is still usable.
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The interned program (checked exhaustively the first time it is seen).
    pub fn intern(&self, task: u16, program: &Program) -> Arc<ProgramInfo> {
        {
            let cache = self.lock();
            if let Some(&id) = cache.ids.get(&(task, program.clone())) {
                return cache.programs[id as usize].clone();
            }
        }
        let tw = &self.tasks[usize::from(task)];
        let report = check_exhaustive(program, &tw.task);
        let visible_pass = tw.visible.score(program).failing == 0;
        let mut cache = self.lock();
        if let Some(&id) = cache.ids.get(&(task, program.clone())) {
            return cache.programs[id as usize].clone();
        }
        let id = cache.programs.len() as u32;
        let info = Arc::new(ProgramInfo {
            id,
            task,
            program: program.clone(),
            correct: report.passed,
            cycles: report.cycles.mean,
            visible_pass,
        });
        cache.ids.insert((task, program.clone()), id);
        cache.programs.push(info.clone());
        info
    }

    /// Draft `d` of `task`.
    pub fn draft(&self, task: u16, d: u32) -> Arc<ProgramInfo> {
        {
            let cache = self.lock();
            if let Some(&id) = cache.drafts.get(&(task, d)) {
                return cache.programs[id as usize].clone();
            }
        }
        let info = self.intern(task, &self.tasks[usize::from(task)].drafts[d as usize]);
        self.lock().drafts.insert((task, d), info.id);
        info
    }

    /// Failing tests of `p` on sample `s` of its task.
    pub fn failing(&self, p: &ProgramInfo, s: u16) -> u32 {
        let hit = self.lock().failing.get(&(p.id, s)).copied();
        if let Some(f) = hit {
            return f;
        }
        let f = self.tasks[usize::from(p.task)].samples[usize::from(s)].score(&p.program).failing;
        self.lock().failing.insert((p.id, s), f);
        f
    }

    fn edit(&self, p: &ProgramInfo, log: u16, variant: u8, role: Role) -> (Arc<ProgramInfo>, u32) {
        let key = (p.id, log, variant, role);
        let hit = self.lock().edits.get(&key).copied();
        if let Some((id, used)) = hit {
            return (self.lock().programs[id as usize].clone(), used);
        }
        let c = &self.cpu.config;
        let tw = &self.tasks[usize::from(p.task)];
        let tests = if log == NO_LOG { &tw.visible } else { &tw.logged[usize::from(log)] };
        let which = match role {
            Role::Debug => 1,
            Role::Optimize => 2,
        };
        let seed =
            mix(&[c.world_seed, u64::from(p.task), program_hash(&p.program), u64::from(log), u64::from(variant)]);
        let mut rng = stream(seed, Stream::Other(10 + which));
        let edit = match role {
            Role::Debug => roles::debug(&p.program, tests, c.debugger_budget, &mut rng),
            Role::Optimize => roles::optimize(&p.program, tests, tw.task.outputs, c.optimizer_budget, &mut rng),
        };
        let out = self.intern(p.task, &edit.program);
        self.lock().edits.insert(key, (out.id, edit.proposals));
        (out, edit.proposals)
    }

    /// The debugger on `p` against log `log` (or [`NO_LOG`]) with seed `variant`: the result and the
    /// proposals it evaluated.
    pub fn debug(&self, p: &ProgramInfo, log: u16, variant: u8) -> (Arc<ProgramInfo>, u32) {
        self.edit(p, log, variant, Role::Debug)
    }

    /// The optimizer on `p` against log `log` (or [`NO_LOG`]) with seed `variant`.
    pub fn optimize(&self, p: &ProgramInfo, log: u16, variant: u8) -> (Arc<ProgramInfo>, u32) {
        self.edit(p, log, variant, Role::Optimize)
    }
}
