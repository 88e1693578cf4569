//! Invalid input: exit code 2, one error on stderr naming the field and the reason, no output directory.

use std::path::Path;

use crate::support::{baton, baton_run, entries, temp_dir, write_file, Config, Outcome};

const CONFIG: &str = "experiment.toml";

fn tiny() -> Config {
    Config::tiny(&["optimal", "ic-q"])
}

/// The run failed cleanly: code 2, nothing on stdout, exactly one `error:` on stderr mentioning every
/// one of `mentions`, and nothing written to `out` or beside it.
fn assert_refused(outcome: &Outcome, dir: &Path, out: &Path, mentions: &[&str]) {
    assert_eq!(outcome.code, Some(2), "should exit with code 2:\n{outcome:?}");
    assert!(outcome.stdout.is_empty(), "nothing on stdout:\n{outcome:?}");
    let errors = outcome.stderr.lines().filter(|l| l.starts_with("error")).count();
    assert_eq!(errors, 1, "exactly one error on stderr:\n{outcome:?}");
    assert!(!outcome.stderr.contains("panicked"), "a panic, not an error:\n{outcome:?}");
    for m in mentions {
        assert!(outcome.stderr.contains(m), "stderr should mention `{m}`:\n{outcome:?}");
    }
    assert!(!out.exists(), "no output directory after a failed run:\n{outcome:?}");
    let left: Vec<String> = entries(dir).into_iter().filter(|n| n != CONFIG).collect();
    assert!(left.is_empty(), "a failed run left {left:?} behind");
}

/// Running `config` is refused and the message mentions the config file and every one of `mentions`.
fn assert_rejected(config: &Config, mentions: &[&str]) {
    let tmp = temp_dir();
    let path = config.write(tmp.path(), CONFIG);
    let out = tmp.path().join("out");
    let outcome = baton_run(&path, &out, &[]);
    assert_refused(&outcome, tmp.path(), &out, mentions);
    assert!(
        outcome.stderr.contains(&path.display().to_string()),
        "the error should name the config file:\n{outcome:?}"
    );
}

#[test]
fn an_unknown_top_level_field_is_rejected() {
    assert_rejected(&tiny().set("", "colour", "\"blue\""), &["unknown field", "colour"]);
}

#[test]
fn an_unknown_workload_field_is_rejected() {
    assert_rejected(&tiny().set("workload", "colour", "\"blue\""), &["unknown field", "colour"]);
}

#[test]
fn an_unknown_learner_field_is_rejected() {
    assert_rejected(&tiny().set("learner", "colour", "\"blue\""), &["unknown field", "colour"]);
}

#[test]
fn a_discount_of_one_is_rejected() {
    assert_rejected(&tiny().set("workload", "discount", "1.0"), &["discount", "[0, 1)"]);
}

#[test]
fn a_discount_above_one_is_rejected() {
    assert_rejected(&tiny().set("workload", "discount", "1.5"), &["discount", "[0, 1)", "1.5"]);
}

#[test]
fn durations_that_do_not_sum_to_one_are_rejected() {
    assert_rejected(&tiny().set("workload", "durations.low", "[0.5, 0.4]"), &["durations.low", "sum"]);
}

#[test]
fn zero_agents_are_rejected() {
    assert_rejected(&tiny().set("workload", "agents", "0"), &["agents", "got 0"]);
}

#[test]
fn zero_seeds_are_rejected() {
    assert_rejected(&tiny().set("", "seeds", "0"), &["seeds", "at least 1"]);
}

#[test]
fn a_seeds_flag_of_zero_is_rejected() {
    let tmp = temp_dir();
    let path = tiny().write(tmp.path(), CONFIG);
    let out = tmp.path().join("out");
    let outcome = baton_run(&path, &out, &["--seeds", "0"]);
    assert_refused(&outcome, tmp.path(), &out, &["seeds", "at least 1"]);
}

#[test]
fn an_empty_method_list_is_rejected() {
    assert_rejected(&tiny().set("", "methods", "[]"), &["methods", "at least one"]);
}

#[test]
fn an_unknown_method_name_is_rejected() {
    assert_rejected(&tiny().set("", "methods", "[\"ic-z\"]"), &["ic-z", "unknown variant"]);
}

#[test]
fn a_nan_step_cost_is_rejected_as_non_finite() {
    assert_rejected(&tiny().set("workload", "step_cost", "nan"), &["step_cost", "finite"]);
}

#[test]
fn an_infinite_submit_reward_is_rejected_as_non_finite() {
    assert_rejected(&tiny().set("workload", "submit_reward", "inf"), &["submit_reward", "finite"]);
}

#[test]
fn a_step_exponent_of_one_half_or_less_is_rejected() {
    assert_rejected(&tiny().set("learner", "step_exponent", "0.3"), &["learner.step_exponent", "0.3"]);
}

#[test]
fn zero_training_handoffs_are_rejected() {
    assert_rejected(&tiny().set("training", "handoffs", "0"), &["training.handoffs", "at least 1"]);
}

#[test]
fn a_missing_config_file_is_rejected_naming_the_path() {
    let tmp = temp_dir();
    let missing = tmp.path().join("no-such-experiment.toml");
    let out = tmp.path().join("out");
    let outcome = baton_run(&missing, &out, &[]);
    assert_refused(&outcome, tmp.path(), &out, &["cannot read config", "no-such-experiment.toml"]);
    assert!(outcome.stderr.contains(&missing.display().to_string()), "{outcome:?}");
}

#[test]
fn a_file_that_is_not_toml_is_rejected() {
    let tmp = temp_dir();
    let out = tmp.path().join("out");
    let text = write_file(tmp.path(), CONFIG, b"this is a sentence, not an experiment\n");
    let outcome = baton_run(&text, &out, &[]);
    assert_refused(&outcome, tmp.path(), &out, &["TOML parse error", CONFIG]);

    let binary = write_file(tmp.path(), CONFIG, &[0xff, 0xfe, 0x00, 0x01, b'=', 0x80]);
    let outcome = baton_run(&binary, &out, &[]);
    assert_refused(&outcome, tmp.path(), &out, &[CONFIG]);
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let outcome = baton(["fly"]);
    assert_eq!(outcome.code, Some(2), "{outcome:?}");
    assert!(outcome.stderr.contains("fly"), "{outcome:?}");
}

#[test]
fn a_type_error_inside_the_workload_table_names_the_dotted_field() {
    assert_rejected(
        &tiny().set("workload", "agents", "-1"),
        &["workload.agents", "invalid value: integer `-1`, expected u32"],
    );
}

#[test]
fn a_huge_step_size_is_rejected_before_training() {
    assert_rejected(&tiny().set("learner", "constant_step_size", "1e308"), &["learner.constant_step_size"]);
    assert_rejected(&tiny().set("training", "handoffs", "9223372036854775807"), &["training.handoffs", "at most"]);
}

#[test]
fn an_endless_config_file_is_refused_at_once() {
    let tmp = temp_dir();
    let out = tmp.path().join("out");
    let started = std::time::Instant::now();
    let outcome = baton_run(Path::new("/dev/zero"), &out, &[]);
    assert_refused(&outcome, tmp.path(), &out, &["/dev/zero", "larger than"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
}
