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
        let v = value.as_f64().unwrap_or_else(|| panic!("{name}: {value} is not a number"));
        assert!(v.is_finite() && v > 0.0, "{name}: {v} should be a positive number");
    }
}

#[test]
fn bench_rejects_a_non_positive_duration() {
    let outcome = baton(["bench", "--json", "--seconds", "0"]);
    assert_eq!(outcome.code, Some(2), "{outcome:?}");
    assert!(outcome.stderr.contains("--seconds"), "{outcome:?}");
    assert!(outcome.stdout.is_empty(), "{outcome:?}");
}
