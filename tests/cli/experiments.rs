//! The experiment configs shipped in `experiments/` parse and validate (without running them).

use std::path::Path;

use baton::experiment::{ExperimentConfig, Method};

use crate::support::read;

#[test]
fn experiments_synthetic_toml_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/synthetic.toml");
    let origin = path.display().to_string();
    let config =
        ExperimentConfig::from_toml(&read(&path), &origin).unwrap_or_else(|e| panic!("{origin} does not parse: {e}"));
    assert_eq!(
        config.methods,
        [Method::Optimal, Method::IcQ, Method::Oracle, Method::NoScalar, Method::RoundRobin, Method::Random],
        "the default experiment compares every method"
    );
    let experiment = config.validate().unwrap_or_else(|e| panic!("{origin} is not valid: {e}"));
    assert!(experiment.total_work() > 0);
}
