//! `baton bench`.

use serde_json::Value;

use crate::support::baton;

#[test]
fn bench_json_prints_named_figures() {
    let outcome = baton(["bench", "--json", "--seconds", "0.05"]);
    outcome.assert_success();
    let figures: Value = serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|e| panic!("stdout should be one JSON object: {e}\n{outcome:?}"));
    let figures = figures.as_object().unwrap_or_else(|| panic!("stdout should be a JSON object:\n{outcome:?}"));
    assert!(figures.contains_key("synthetic/ic-q/handoffs_per_sec"), "missing the IC-Q figure in {figures:?}");
    assert!(
        figures.contains_key("service/loopback/handoffs_per_sec"),
        "missing the figure of handoffs through services in {figures:?}"
    );
    for (name, value) in figures {
        // Every figure has its rate per wall second and per CPU second (Linux), and what was timed.
        for key in ["per_sec", "per_cpu_sec", "seconds", "cpu_seconds"] {
            let v = value[key].as_f64().unwrap_or_else(|| panic!("{name}.{key}: {value} has no number there"));
            assert!(v.is_finite() && v > 0.0, "{name}.{key}: {v} should be a positive number");
        }
        assert!(value["ops"].as_u64().is_some_and(|n| n > 0), "{name}.ops: {value}");
    }
}

#[test]
fn bench_rejects_a_non_positive_duration() {
    let outcome = baton(["bench", "--json", "--seconds", "0"]);
    assert_eq!(outcome.code, Some(2), "{outcome:?}");
    assert!(outcome.stderr.contains("--seconds"), "{outcome:?}");
    assert!(outcome.stdout.is_empty(), "{outcome:?}");
}
