//! Tasks and task sets, as data.
//!
//! A task file is TOML with one `[[task]]` table per task:
//!
//! ```toml
//! description = "optional: what the set is"
//!
//! [[task]]
//! name = "p01"                       # letters, digits, `-`, `_`; unique in the set
//! description = "Turn off the rightmost 1 bit."
//! arity = 1                          # inputs, in r0..r(arity-1); 1 to 5
//! outputs = 1                        # optional (default 1): registers compared at halt, r0..r(outputs-1)
//! visible_examples = 8               # optional (default 8): examples a program writer may see
//! reference = """
//! dec r1, r0
//! and r0, r0, r1
//! """
//! ```
//!
//! The reference program defines the task's ground truth: a candidate is correct when it halts with the same
//! outputs as the reference on every input of the task's [`Domain`]. Unknown fields are rejected, and every
//! error names the file, the task and the field. The built-in sets ([`TaskSet::builtin`]) are
//! `tasks/hackers-delight.toml` and `tasks/sorts.toml` in this crate; their references are checked against
//! independent Rust specifications ([`crate::spec`]) by the tests.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::asm::assemble;
use crate::error::TinyCpuError;
use crate::exec::{run_regs, ExecError, Values, DEFAULT_STEP_LIMIT};
use crate::isa::{Program, NUM_REGS};

/// Largest arity a task may have.
pub const MAX_ARITY: usize = 5;

/// Visible examples of a task whose file does not say.
pub const DEFAULT_VISIBLE_EXAMPLES: usize = 8;

/// Seeded random tuples added to the grid of the [`Domain`] of arity 3 and more.
pub const SAMPLE_SIZE: usize = 65_536;

/// The checked inputs of a task, by arity.
///
/// - arity 1 and 2: every input, 256 or 65,536 tuples, `r0` varying fastest.
/// - arity 3 to 5: a reduced domain of two parts. First the grid of every tuple over `g` evenly spaced values
///   `round(i * 255 / (g - 1))` for `i in 0..g`, with `g` = 40, 16, 9 for arity 3, 4, 5 (64,000, 65,536 and
///   59,049 tuples; always including 0 and 255 and every pattern of ties and orders among the grid values).
///   Then [`SAMPLE_SIZE`] tuples of uniformly random words from a fixed ChaCha8 stream (seed
///   `0x7c9u64 ^ arity`), the same for every run. For a comparator network (like the sort references) the grid
///   is a proof of correctness by the 0-1 principle, since it contains every tuple of 0s and 255s; for an
///   arbitrary program it is a strong test, not a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain {
    arity: usize,
}

impl Domain {
    /// The domain for `arity` inputs (`1..=MAX_ARITY`; 0 is the single empty tuple).
    pub fn new(arity: usize) -> Domain {
        Domain { arity: arity.min(MAX_ARITY) }
    }

    /// The arity.
    pub fn arity(&self) -> usize {
        self.arity
    }

    /// Whether this is every possible input (arity at most 2).
    pub fn is_exhaustive(&self) -> bool {
        self.arity <= 2
    }

    /// Grid values per input for arity 3 and more (1 element per value).
    fn grid_side(&self) -> usize {
        match self.arity {
            0..=2 => 256,
            3 => 40,
            4 => 16,
            _ => 9,
        }
    }

    fn grid_len(&self) -> usize {
        self.grid_side().pow(self.arity as u32)
    }

    /// Number of tuples.
    pub fn len(&self) -> usize {
        if self.is_exhaustive() {
            self.grid_len()
        } else {
            self.grid_len() + SAMPLE_SIZE
        }
    }

    /// Never empty; for symmetry with [`Domain::len`].
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every tuple, in the documented order, as registers (inputs first, the rest 0). Allocates nothing.
    pub fn iter(&self) -> DomainIter {
        DomainIter {
            domain: *self,
            index: 0,
            grid: self.grid_len(),
            side: self.grid_side(),
            len: self.len(),
            rng: ChaCha8Rng::seed_from_u64(0x7c9u64 ^ self.arity as u64),
        }
    }
}

/// Iterator over a [`Domain`].
#[derive(Clone, Debug)]
pub struct DomainIter {
    domain: Domain,
    index: usize,
    grid: usize,
    side: usize,
    len: usize,
    rng: ChaCha8Rng,
}

impl DomainIter {
    /// Write the next (up to) [`crate::LANES`] tuples into lanes of `regs` (input `r` of tuple `i` in
    /// `regs[r][i]`; other rows untouched) and return how many; 0 at the end.
    pub fn fill_batch(&mut self, regs: &mut crate::BatchRegs) -> usize {
        let lanes = crate::LANES;
        if self.side == 256 && self.index % lanes == 0 && self.index + lanes <= self.grid {
            // Every input (arity 1 or 2): r0 runs through 0..=255 in each batch, r1 counts batches.
            for (lane, v) in regs[0].iter_mut().enumerate() {
                *v = lane as u8;
            }
            if self.domain.arity == 2 {
                regs[1] = [(self.index / lanes) as u8; crate::LANES];
            }
            self.index += lanes;
            return lanes;
        }
        let arity = self.domain.arity;
        let mut count = 0;
        while count < lanes {
            let Some(tuple) = self.next() else { break };
            for (row, &v) in regs.iter_mut().zip(&tuple[..arity]) {
                row[count] = v;
            }
            count += 1;
        }
        count
    }
}

impl Iterator for DomainIter {
    type Item = [u8; NUM_REGS];

    fn next(&mut self) -> Option<[u8; NUM_REGS]> {
        let arity = self.domain.arity;
        let mut regs = [0u8; NUM_REGS];
        if self.index < self.grid {
            if self.side == 256 {
                // Every input (arity 1 or 2): the index's bytes, r0 fastest.
                regs[0] = self.index as u8;
                regs[1] = (self.index >> 8) as u8;
            } else {
                let side = self.side;
                let mut rest = self.index;
                for r in regs.iter_mut().take(arity) {
                    let i = rest % side;
                    rest /= side;
                    *r = ((i * 255 + (side - 1) / 2) / (side - 1)) as u8;
                }
            }
        } else if self.index < self.len {
            let word = self.rng.next_u64().to_le_bytes();
            regs[..arity].copy_from_slice(&word[..arity]);
        } else {
            return None;
        }
        self.index += 1;
        Some(regs)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for DomainIter {}

/// An input and the outputs the task expects for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Example {
    /// The inputs, `r0..r(arity-1)`.
    pub inputs: Values,
    /// The expected outputs, `r0..r(outputs-1)`.
    pub outputs: Values,
}

/// One task: what to compute, and a reference program that computes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Unique name within its set (`p01`, `sort3`).
    pub name: String,
    /// What the program must compute, in words.
    pub description: String,
    /// Number of inputs, in `r0..r(arity-1)`.
    pub arity: usize,
    /// Number of outputs compared at halt, `r0..r(outputs-1)`.
    pub outputs: usize,
    /// How many examples a program writer may see ([`Task::visible_examples`]).
    pub visible_examples: usize,
    /// The reference program (the ground truth).
    pub reference: Program,
    /// The reference as written in the task file.
    pub reference_text: String,
    /// The reference's outputs over the domain, computed on first use by [`crate::check_exhaustive`].
    pub(crate) cache: ReferenceCache,
}

/// The reference program's outputs on every domain input, flat (`outputs` bytes per input), and its cycles.
#[derive(Clone, Debug)]
pub(crate) struct ReferenceRun {
    /// The program these were computed for (recomputed if the task's `reference` is changed).
    pub(crate) program: Program,
    /// Outputs, `outputs` bytes per domain input, in domain order.
    pub(crate) outputs: Vec<u8>,
    /// Cycles over the domain.
    pub(crate) cycles: crate::check::CycleStats,
}

/// A lazily filled, shared [`ReferenceRun`]. Derived data: it never makes two tasks unequal.
#[derive(Clone, Default)]
pub(crate) struct ReferenceCache(pub(crate) Arc<OnceLock<ReferenceRun>>);

impl PartialEq for ReferenceCache {
    fn eq(&self, _: &ReferenceCache) -> bool {
        true
    }
}

impl Eq for ReferenceCache {}

impl std::fmt::Debug for ReferenceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "ReferenceCache(filled)" } else { "ReferenceCache(empty)" })
    }
}

impl Task {
    /// The inputs the task is checked on.
    pub fn domain(&self) -> Domain {
        Domain::new(self.arity)
    }

    /// What the task expects on `inputs` (the reference program's outputs). Errors only if the reference
    /// loops past the step limit on an input outside the domain it was validated on.
    pub fn expected(&self, inputs: &[u8]) -> Result<Values, ExecError> {
        if inputs.len() > NUM_REGS {
            return Err(ExecError::TooManyInputs { given: inputs.len() });
        }
        let mut regs = [0u8; NUM_REGS];
        regs[..inputs.len()].copy_from_slice(inputs);
        Ok(run_regs(&self.reference.instrs, regs, DEFAULT_STEP_LIMIT)?.outputs(self.outputs))
    }

    /// Whether `program` gives the expected outputs on `inputs` (a step-limit error counts as a failure).
    pub fn passes(&self, program: &Program, inputs: &[u8]) -> bool {
        match (crate::exec::run(program, inputs), self.expected(inputs)) {
            (Ok(got), Ok(want)) => got.outputs(self.outputs) == want,
            _ => false,
        }
    }

    /// Uniformly random inputs (every word uniform on `0..=255`), e.g. for a tester's sample.
    pub fn random_inputs<R: Rng + ?Sized>(&self, rng: &mut R) -> Values {
        let mut v = [0u8; NUM_REGS];
        rng.fill_bytes(&mut v[..self.arity]);
        Values::from_slice(&v[..self.arity])
    }

    /// The task's visible examples: `visible_examples` distinct random inputs from a ChaCha8 stream seeded by
    /// the task's name (so they are the same on every run), with their expected outputs.
    pub fn visible_examples(&self) -> Vec<Example> {
        let mut rng = ChaCha8Rng::seed_from_u64(fnv1a(self.name.as_bytes()));
        let space = 1usize << (8 * self.arity.min(7));
        let want = self.visible_examples.min(space);
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            let inputs = self.random_inputs(&mut rng);
            if !seen.insert(inputs.as_slice().to_vec()) {
                continue;
            }
            if let Ok(outputs) = self.expected(inputs.as_slice()) {
                out.push(Example { inputs, outputs });
            }
        }
        out
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A named collection of tasks, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskSet {
    /// The tasks, in file order; names are unique.
    pub tasks: Vec<Task>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFile {
    #[allow(dead_code)]
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    task: Vec<toml::Table>,
}

const FIELDS: [&str; 6] = ["name", "description", "arity", "outputs", "visible_examples", "reference"];

const HACKERS_DELIGHT: &str = include_str!("../tasks/hackers-delight.toml");
const SORTS: &str = include_str!("../tasks/sorts.toml");

impl TaskSet {
    /// Read and validate a task file.
    pub fn load(path: impl AsRef<Path>) -> Result<TaskSet, TinyCpuError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| TinyCpuError::Io { file: file.clone(), reason: e.to_string() })?;
        TaskSet::from_toml(&text, &file)
    }

    /// Parse and validate task-file text; `source` names it in errors (usually the file's path).
    pub fn from_toml(text: &str, source: &str) -> Result<TaskSet, TinyCpuError> {
        let file_err = |reason: String| TinyCpuError::File { file: source.to_string(), reason };
        let parsed: TaskFile = toml::from_str(text).map_err(|e| file_err(e.to_string().trim_end().to_string()))?;
        let mut set = TaskSet::default();
        for (i, table) in parsed.task.iter().enumerate() {
            let task = parse_task(table, i, source)?;
            if set.get(&task.name).is_some() {
                return Err(TinyCpuError::Task {
                    file: source.to_string(),
                    task: task.name.clone(),
                    field: "name".into(),
                    reason: "defined twice in this file".into(),
                });
            }
            set.tasks.push(task);
        }
        if set.tasks.is_empty() {
            return Err(file_err("no [[task]] tables".into()));
        }
        Ok(set)
    }

    /// The built-in tasks: Hacker's Delight `p01`..`p25`, then `sort3`, `sort4`, `sort5`.
    pub fn builtin() -> TaskSet {
        static BUILTIN: OnceLock<TaskSet> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut set = TaskSet::hackers_delight();
                set.tasks.extend(TaskSet::sorts().tasks);
                set
            })
            .clone()
    }

    /// The Hacker's Delight ladder `p01`..`p25`, rescaled to 8-bit words.
    pub fn hackers_delight() -> TaskSet {
        TaskSet::from_toml(HACKERS_DELIGHT, "tasks/hackers-delight.toml")
            .expect("the built-in task file is valid (checked by the tests)")
    }

    /// Register sorts of 3, 4 and 5 values.
    pub fn sorts() -> TaskSet {
        TaskSet::from_toml(SORTS, "tasks/sorts.toml").expect("the built-in task file is valid (checked by the tests)")
    }

    /// The task called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// The task called `name`, or an error listing the known names.
    pub fn task(&self, name: &str) -> Result<&Task, TinyCpuError> {
        self.get(name).ok_or_else(|| TinyCpuError::UnknownTask {
            name: name.to_string(),
            known: self.tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// The tasks in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Task> {
        self.tasks.iter()
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there are no tasks (never, for a loaded set).
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

fn parse_task(table: &toml::Table, index: usize, file: &str) -> Result<Task, TinyCpuError> {
    let mut label = format!("#{}", index + 1);
    if let Some(toml::Value::String(name)) = table.get("name") {
        if !name.is_empty() {
            label = name.clone();
        }
    }
    let err = |field: &str, reason: String| TinyCpuError::Task {
        file: file.to_string(),
        task: label.clone(),
        field: field.to_string(),
        reason,
    };
    for key in table.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return Err(err(key, format!("unknown field, expected one of {}", FIELDS.join(", "))));
        }
    }
    let string = |field: &str| -> Result<String, TinyCpuError> {
        match table.get(field) {
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(err(field, format!("must be a string, got {}", other.type_str()))),
            None => Err(err(field, "missing".into())),
        }
    };
    let integer = |field: &str, default: Option<i64>, min: i64, max: i64| -> Result<usize, TinyCpuError> {
        let value = match (table.get(field), default) {
            (Some(toml::Value::Integer(n)), _) => *n,
            (Some(other), _) => return Err(err(field, format!("must be an integer, got {}", other.type_str()))),
            (None, Some(d)) => d,
            (None, None) => return Err(err(field, "missing".into())),
        };
        if value < min || value > max {
            return Err(err(field, format!("must be in {min}..={max}, got {value}")));
        }
        Ok(value as usize)
    };
    let name = string("name")?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(err("name", format!("`{name}`: use letters, digits, `-` and `_` only")));
    }
    let description = string("description")?;
    let arity = integer("arity", None, 1, MAX_ARITY as i64)?;
    let outputs = integer("outputs", Some(1), 1, NUM_REGS as i64)?;
    let visible_examples = integer("visible_examples", Some(DEFAULT_VISIBLE_EXAMPLES as i64), 0, 1024)?;
    let reference_text = string("reference")?;
    let reference = assemble(&reference_text).map_err(|e| err("reference", e.to_string()))?;
    let task = Task {
        name,
        description,
        arity,
        outputs,
        visible_examples,
        reference,
        reference_text,
        cache: ReferenceCache::default(),
    };
    if task.reference.has_jumps() {
        for regs in task.domain().iter() {
            if let Err(e) = run_regs(&task.reference.instrs, regs, DEFAULT_STEP_LIMIT) {
                return Err(err("reference", format!("on inputs {}: {e}", Values::from_slice(&regs[..arity]))));
            }
        }
    }
    Ok(task)
}
