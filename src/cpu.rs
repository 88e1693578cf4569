//! `baton cpu ...`: assemble, run and check TinyCPU programs against tasks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use baton::tinycpu::{assemble, check_exhaustive, run, Program, Task, TaskSet, Values};
use clap::Subcommand;

/// The `cpu` subcommands.
#[derive(Subcommand)]
pub enum CpuCommand {
    /// List the tasks (built-in, or those of --tasks).
    Tasks {
        /// A task file (TOML) to use instead of the built-in tasks.
        #[arg(long)]
        tasks: Option<PathBuf>,
    },
    /// Assemble a program and run it on the given inputs, or on the task's visible examples.
    Run {
        /// The program (assembly text, `.s`).
        program: PathBuf,
        /// The task, e.g. p03 (see `baton cpu tasks`).
        #[arg(long)]
        task: String,
        /// Comma-separated inputs, one per task input (decimal or 0x hex), e.g. 1,2.
        #[arg(long)]
        input: Option<String>,
        /// A task file (TOML) to use instead of the built-in tasks.
        #[arg(long)]
        tasks: Option<PathBuf>,
    },
    /// Check a program against a task on every input (exit code 1 if it is wrong somewhere).
    Check {
        /// The program (assembly text, `.s`).
        program: PathBuf,
        /// The task, e.g. p03 (see `baton cpu tasks`).
        #[arg(long)]
        task: String,
        /// A task file (TOML) to use instead of the built-in tasks.
        #[arg(long)]
        tasks: Option<PathBuf>,
    },
}

/// Run a `cpu` subcommand.
pub fn main(command: CpuCommand) -> Result<ExitCode> {
    match command {
        CpuCommand::Tasks { tasks } => list(&task_set(tasks.as_deref())?),
        CpuCommand::Run { program, task, input, tasks } => {
            let set = task_set(tasks.as_deref())?;
            run_program(&load_program(&program)?, set.task(&task)?, input.as_deref())
        }
        CpuCommand::Check { program, task, tasks } => {
            let set = task_set(tasks.as_deref())?;
            check(&load_program(&program)?, set.task(&task)?)
        }
    }
}

fn task_set(path: Option<&Path>) -> Result<TaskSet> {
    Ok(match path {
        Some(p) => TaskSet::load(p)?,
        None => TaskSet::builtin(),
    })
}

fn load_program(path: &Path) -> Result<Program> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read program {}", path.display()))?;
    assemble(&text).with_context(|| format!("cannot assemble {}", path.display()))
}

fn list(set: &TaskSet) -> Result<ExitCode> {
    println!("{:<8} {:>5} {:>7} {:>9} {:>7}  description", "task", "arity", "outputs", "ref instr", "cycles");
    for t in set.iter() {
        let cycles =
            if t.reference.has_jumps() { "loop".to_string() } else { t.reference.straight_line_cycles().to_string() };
        println!(
            "{:<8} {:>5} {:>7} {:>9} {:>7}  {}",
            t.name,
            t.arity,
            t.outputs,
            t.reference.len(),
            cycles,
            t.description
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_inputs(text: &str, arity: usize) -> Result<Vec<u8>> {
    let values = text
        .split(',')
        .map(|w| {
            let w = w.trim();
            let parsed = match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
                Some(hex) => u8::from_str_radix(hex, 16),
                None => w.parse::<u8>(),
            };
            parsed.map_err(|_| anyhow::anyhow!("--input: `{w}` is not a number in 0..=255"))
        })
        .collect::<Result<Vec<u8>>>()?;
    if values.len() != arity {
        bail!("--input: the task takes {arity} input(s), got {}", values.len());
    }
    Ok(values)
}

fn run_program(program: &Program, task: &Task, input: Option<&str>) -> Result<ExitCode> {
    let cases: Vec<(Values, Option<Values>)> = match input {
        Some(text) => {
            let inputs = parse_inputs(text, task.arity)?;
            vec![(Values::from_slice(&inputs), task.expected(&inputs).ok())]
        }
        None => task.visible_examples().into_iter().map(|e| (e.inputs, Some(e.outputs))).collect(),
    };
    println!("{}: {}", task.name, task.description);
    println!("program: {} instructions\n", program.len());
    for (inputs, expected) in cases {
        let verdict = match expected {
            Some(want) => format!("expected {want}"),
            None => "no expected value".to_string(),
        };
        match run(program, inputs.as_slice()) {
            Ok(out) => {
                let got = out.outputs(task.outputs);
                let mark = if Some(got) == expected { "ok" } else { "WRONG" };
                println!("inputs {inputs} -> {got} in {} cycles ({verdict}: {mark})", out.cycles);
            }
            Err(e) => println!("inputs {inputs} -> error: {e} ({verdict}: WRONG)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(program: &Program, task: &Task) -> Result<ExitCode> {
    let report = check_exhaustive(program, task);
    let domain = task.domain();
    let what = if domain.is_exhaustive() {
        format!("all {} inputs", report.checked)
    } else {
        format!(
            "{} inputs (the reduced domain of arity {}: a grid plus a fixed random sample)",
            report.checked, task.arity
        )
    };
    if report.passed {
        println!("{}: PASS on {what}", task.name);
    } else {
        println!("{}: FAIL on {} of {what}", task.name, report.failed);
    }
    if let Some(cx) = &report.first_counterexample {
        println!("first counterexample: {cx}");
    }
    let (c, r) = (report.cycles, report.reference_cycles);
    println!(
        "cycles: mean {:.2} (min {}, max {}); reference mean {:.2} (min {}, max {}), {} instructions vs {}",
        c.mean,
        c.min,
        c.max,
        r.mean,
        r.min,
        r.max,
        program.len(),
        task.reference.len()
    );
    Ok(if report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
