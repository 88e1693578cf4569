//! Bad configs get one clear error before anything runs, naming the dotted field: the reported cases, and a
//! property test over random mutations of every shipped `experiments/*.toml`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use baton_experiment::{ExperimentConfig, ExperimentError};
use proptest::prelude::*;

/// The data directory (`BATON_DATA_DIR`, default the repository's `data/` folder).
fn data_dir() -> PathBuf {
    baton_experiment::data::data_dir()
}

fn experiments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

/// Every shipped experiment config, its data paths made absolute (tests run in the crate's directory).
fn shipped() -> Vec<(String, toml::Table)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(experiments_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the experiments/ folder has the shipped configs");
    files
        .into_iter()
        .map(|p| {
            let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            if let Some(toml::Value::Table(w)) = doc.get_mut("workload") {
                if let Some(toml::Value::Table(t)) = w.get_mut("topology") {
                    if let Some(toml::Value::String(path)) = t.get_mut("path") {
                        *path = data_dir().join(&*path).display().to_string();
                    }
                }
                if w.get("kind").and_then(toml::Value::as_str) == Some("math") {
                    w.insert("data_dir".into(), toml::Value::String(data_dir().display().to_string()));
                }
            }
            (p.file_name().unwrap().to_string_lossy().into_owned(), doc)
        })
        .collect()
}

/// A config text with `key = value` set in the table `table` of a shipped config (dotted, "" for the top).
fn shipped_with(file: &str, table: &str, key: &str, value: &str) -> String {
    let (_, mut doc) = shipped().into_iter().find(|(n, _)| n == file).unwrap();
    let mut t = &mut doc;
    for part in table.split('.').filter(|p| !p.is_empty()) {
        t = t.entry(part).or_insert_with(|| toml::Value::Table(toml::Table::new())).as_table_mut().unwrap();
    }
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}")).unwrap()["v"].clone();
    t.insert(key.into(), value);
    toml::to_string(&doc).unwrap()
}

/// Parse and validate; the error's text.
fn rejected(text: &str) -> String {
    match ExperimentConfig::from_toml(text, "bad.toml").and_then(ExperimentConfig::validate) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_names(error: &str, mentions: &[&str]) {
    for m in mentions {
        assert!(error.contains(m), "the error should mention `{m}`: {error}");
    }
}

#[test]
fn a_type_error_inside_the_workload_table_names_the_field() {
    let e = rejected(&shipped_with("synthetic.toml", "workload", "agents", "-1"));
    assert_names(&e, &["bad.toml", "workload.agents", "invalid value: integer `-1`, expected u32", "line"]);
    let e = rejected(&shipped_with("synthetic.toml", "workload.success", "low", "\"high\""));
    assert_names(&e, &["workload.success.low", "expected f64"]);
    let e = rejected(&shipped_with("routing-adapt.toml", "workload", "loads", "[1.0, \"x\"]"));
    assert_names(&e, &["workload.loads[1]"]);
    let e = rejected(&shipped_with("cpu.toml", "workload", "colour", "1"));
    assert_names(&e, &["workload", "unknown field `colour`"]);
    let e = rejected(&shipped_with("cpu.toml", "workload", "kind", "\"gpu\""));
    assert_names(&e, &["workload.kind", "unknown variant `gpu`"]);
    let e = rejected(&shipped_with("cpu.toml", "workload", "kind", "3"));
    assert_names(&e, &["workload.kind", "expected a string"]);
}

#[test]
fn a_huge_routing_duration_is_blamed_on_duration_not_bin() {
    let e = rejected(&shipped_with("routing-6x6.toml", "workload", "duration", "1e308"));
    assert_names(&e, &["workload.duration", "1e9"]);
    assert!(!e.contains("bin"), "{e}");
    let e = rejected(&shipped_with("routing-6x6.toml", "workload", "loads", "[1e300]"));
    assert_names(&e, &["workload.loads"]);
}

#[test]
fn a_huge_step_size_is_rejected_before_training() {
    let e = rejected(&shipped_with("routing-6x6.toml", "learner", "constant_step_size", "1e308"));
    assert_names(&e, &["learner.constant_step_size", "(0, 1]"]);
    let e = rejected(&shipped_with("synthetic-neural.toml", "learner.network", "eta", "1e308"));
    assert_names(&e, &["learner.network.eta", "(0, 10]"]);
    let e = rejected(&shipped_with("synthetic-neural.toml", "learner.network", "eta", "9223372036854775807"));
    assert_names(&e, &["learner.network.eta", "(0, 10]"]);
}

#[test]
fn routing_skills_with_a_huge_work_time_is_rejected() {
    let e = rejected(&shipped_with("routing-skills.toml", "workload.skills", "work", "1e12"));
    assert_names(&e, &["workload.skills.work", "duration"]);
}

#[test]
fn huge_budgets_and_counts_are_rejected_naming_the_field() {
    for (file, table, key, value, field) in [
        ("synthetic.toml", "training", "handoffs", "9223372036854775807", "training.handoffs"),
        ("synthetic.toml", "", "seeds", "4000000000", "seeds"),
        ("synthetic.toml", "workload", "submit_reward", "1e300", "workload.submit_reward"),
        ("routing-6x6.toml", "workload", "max_in_flight", "4000000000", "workload.max_in_flight"),
        ("routing-skills.toml", "workload.skills", "max_hops", "4000000000", "workload.skills.max_hops"),
        ("math-gsm8k.toml", "workload", "episodes", "9223372036854775807", "workload.episodes"),
        ("math-gsm8k.toml", "workload", "lambdas", "[1e300]", "workload.lambdas"),
        ("cpu.toml", "workload", "episodes", "9223372036854775807", "workload.episodes"),
        (
            "cpu.toml",
            "workload",
            "writer",
            "{ cost = 0.05, min_duration = 4000000000, jitter = 2 }",
            "workload.writer.min_duration",
        ),
        ("cpu.toml", "workload", "speed_bonus", "1e300", "workload.speed_bonus"),
        ("bound-width.toml", "sweep", "approx_samples", "9223372036854775807", "sweep.approx_samples"),
        ("bound-interface.toml", "sweep", "levels", "[0.0, 1.0, 1e300]", "sweep.levels"),
        ("bound-width.toml", "learner.network", "radius", "1e300", "learner.network.radius"),
    ] {
        let e = rejected(&shipped_with(file, table, key, value));
        assert_names(&e, &[field]);
    }
}

#[test]
fn an_error_inside_a_nested_tagged_table_names_the_field_not_the_table() {
    let grid = |rest: &str| format!("{{ kind = \"grid\", {rest} }}");
    for (file, table, key, value, field, reason) in [
        ("routing-6x6.toml", "workload", "topology", grid("rows = -1, cols = 4"), "workload.topology.rows", "expected u32"),
        ("routing-6x6.toml", "workload", "topology", grid("rows = 4, cols = \"4\""), "workload.topology.cols", "expected u32"),
        (
            "routing-6x6.toml",
            "workload",
            "topology",
            grid("rows = 4, cols = 4, colz = 1"),
            "workload.topology.colz",
            "unknown field `colz`",
        ),
        ("routing-6x6.toml", "workload", "topology", grid("rows = 4"), "workload.topology", "missing field `cols`"),
        ("routing-6x6.toml", "workload", "topology", "{ kind = \"gird\" }".into(), "workload.topology.kind", "`grid`"),
        ("routing-6x6.toml", "workload", "topology", "{ kind = 7 }".into(), "workload.topology.kind", "a string"),
        (
            "routing-6x6.toml",
            "workload",
            "topology",
            "{ kind = \"random-geometric\", nodes = 10, radius = \"x\" }".into(),
            "workload.topology.radius",
            "expected f64",
        ),
        (
            "routing-6x6.toml",
            "workload",
            "interface",
            "{ kind = \"region\", regions = 1.5 }".into(),
            "workload.interface.regions",
            "expected u32",
        ),
        (
            "routing-6x6.toml",
            "workload",
            "interface",
            "{ kind = \"destination\", regions = 2 }".into(),
            "workload.interface.regions",
            "unknown field `regions`",
        ),
        (
            "routing-adapt.toml",
            "workload",
            "changes",
            "[{ kind = \"link-down\", at = 1.0, link = [0, 1] }, { kind = \"link-down\", at = 1.0, link = [0, \"x\"] }]"
                .into(),
            "workload.changes[1].link[1]",
            "expected u32",
        ),
        (
            "routing-adapt.toml",
            "workload",
            "changes",
            "[{ kind = \"traffic\", at = 1.0, sources = [0], destinations = [1], share = true }]".into(),
            "workload.changes[0].share",
            "expected f64",
        ),
        (
            "synthetic.toml",
            "learner",
            "behaviour",
            "{ kind = \"epsilon-greedy\", epsilon = \"x\" }".into(),
            "learner.behaviour.epsilon",
            "expected f64",
        ),
        (
            "synthetic.toml",
            "learner",
            "behaviour",
            "{ kind = \"uniform\", kappa = 0.5 }".into(),
            "learner.behaviour.kappa",
            "unknown field `kappa`",
        ),
        (
            "bound-width.toml",
            "learner.network",
            "features",
            "{ kind = \"random\", dim = -3 }".into(),
            "learner.network.features.dim",
            "invalid value: integer `-3`",
        ),
    ] {
        let e = rejected(&shipped_with(file, table, key, &value));
        assert_names(&e, &["bad.toml", &format!("{field}: "), reason]);
    }
}

#[test]
fn an_endless_or_oversized_input_file_is_refused_quickly() {
    let started = Instant::now();
    let e = baton_experiment::load_experiment(Path::new("/dev/zero")).unwrap_err().to_string();
    assert_names(&e, &["/dev/zero", "larger than"]);
    let text = shipped_with("routing-6x6.toml", "workload", "topology", "{ kind = \"file\", path = \"/dev/zero\" }");
    let e = rejected(&text);
    assert_names(&e, &["/dev/zero", "larger than", "workload.topology.path"]);
    let text = shipped_with("cpu.toml", "workload", "tasks", "\"/dev/zero\"");
    assert_names(&rejected(&text), &["/dev/zero", "larger than", "workload.tasks"]);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (baton_experiment::data::MAX_CONFIG_BYTES + 1) as usize]).unwrap();
    let e = baton_experiment::load_experiment(&big).unwrap_err().to_string();
    assert_names(&e, &["big.toml", "larger than"]);
}

/// Every dotted key path of `t` (tables and leaves; arrays of tables as `key[i]`).
fn paths(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in t {
        let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        out.push(p.clone());
        match v {
            toml::Value::Table(inner) => paths(&p, inner, out),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(inner) = item {
                        paths(&format!("{p}[{i}]"), inner, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The leaf or table at `path` (a list of keys) and its parent table.
fn table_at<'a>(doc: &'a mut toml::Table, path: &[String]) -> Option<&'a mut toml::Table> {
    let mut t = doc;
    for k in path {
        t = t.get_mut(k)?.as_table_mut()?;
    }
    Some(t)
}

/// Dotted key paths of the tables of `doc`, as key lists, the top first.
fn tables(prefix: &[String], t: &toml::Table, out: &mut Vec<Vec<String>>) {
    out.push(prefix.to_vec());
    for (k, v) in t {
        if let toml::Value::Table(inner) = v {
            let mut p = prefix.to_vec();
            p.push(k.clone());
            tables(&p, inner, out);
        }
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Set the `key`-th leaf (in the order of all leaves) to a value.
    Set { leaf: usize, value: toml::Value },
    /// Delete the `leaf`-th key.
    Delete { leaf: usize },
    /// Add an unknown key to the `table`-th table.
    Add { table: usize },
}

fn odd_value() -> impl Strategy<Value = toml::Value> {
    use toml::Value as V;
    prop_oneof![
        Just(V::Integer(-1)),
        Just(V::Integer(0)),
        Just(V::Integer(i64::MAX)),
        Just(V::Integer(i64::MIN)),
        Just(V::Integer(4_294_967_296)),
        Just(V::Float(1e308)),
        Just(V::Float(-1e308)),
        Just(V::Float(f64::NAN)),
        Just(V::Float(f64::INFINITY)),
        Just(V::Float(f64::NEG_INFINITY)),
        Just(V::Float(5e-324)),
        Just(V::Float(0.5)),
        Just(V::String("x".into())),
        Just(V::String(String::new())),
        Just(V::Boolean(true)),
        Just(V::Array(Vec::new())),
        Just(V::Array(vec![V::Float(1e308)])),
        Just(V::Table(toml::Table::new())),
        any::<i64>().prop_map(V::Integer),
        any::<f64>().prop_map(V::Float),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), odd_value()).prop_map(|(leaf, value)| Mutation::Set { leaf, value }),
        2 => any::<usize>().prop_map(|leaf| Mutation::Delete { leaf }),
        1 => any::<usize>().prop_map(|table| Mutation::Add { table }),
    ]
}

/// Applies `m` to `doc`; returns the mutated key's dotted path.
fn apply(doc: &mut toml::Table, m: &Mutation) -> String {
    let mut leaves = Vec::new();
    paths("", doc, &mut leaves);
    // Only keys reachable through tables (not inside arrays of tables), so that they can be edited in place.
    let leaves: Vec<String> = leaves.into_iter().filter(|p| !p.contains('[')).collect();
    let split = |p: &str| -> (Vec<String>, String) {
        let mut parts: Vec<String> = p.split('.').map(str::to_string).collect();
        let last = parts.pop().unwrap_or_default();
        (parts, last)
    };
    match m {
        Mutation::Set { leaf, value } => {
            let (parent, key) = split(&leaves[leaf % leaves.len()]);
            table_at(doc, &parent).unwrap().insert(key.clone(), value.clone());
            parent.into_iter().chain([key]).collect::<Vec<_>>().join(".")
        }
        Mutation::Delete { leaf } => {
            let (parent, key) = split(&leaves[leaf % leaves.len()]);
            table_at(doc, &parent).unwrap().remove(&key);
            parent.into_iter().chain([key]).collect::<Vec<_>>().join(".")
        }
        Mutation::Add { table } => {
            let mut all = Vec::new();
            tables(&[], doc, &mut all);
            let parent = all[table % all.len()].clone();
            table_at(doc, &parent).unwrap().insert("zz_unknown".into(), toml::Value::Integer(1));
            parent.into_iter().chain(["zz_unknown".to_string()]).collect::<Vec<_>>().join(".")
        }
    }
}

/// The dotted field an error names, if any (`None` for errors about a whole model or a data file).
fn named_field(e: &ExperimentError) -> Option<String> {
    match e {
        ExperimentError::InvalidConfig { field, .. } => Some(field.clone()),
        // `path: reason (line n)`, or TOML's own message (no path) for a syntax error.
        ExperimentError::Parse { message, .. } => {
            let (path, _) = message.split_once(": ")?;
            (!path.contains(' ')).then(|| path.to_string())
        }
        _ => None,
    }
}

/// Drop array indices: `workload.loads[1]` -> `workload.loads`, `workload.changes[0].at` -> `workload.changes.at`.
fn without_indices(p: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in p.chars() {
        match c {
            '[' => skip = true,
            ']' => skip = false,
            _ if !skip => out.push(c),
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// No panic, no hang, and an error that names a field of the file, of the config's schema (a defaulted
    /// one) or the mutated key.
    #[test]
    fn mutated_shipped_configs_get_a_clear_error_or_validate(file in any::<usize>(), m in mutation()) {
        let configs = shipped();
        let (name, original) = &configs[file % configs.len()];
        let mut doc = original.clone();
        let key = apply(&mut doc, &m);
        let text = toml::to_string(&doc).unwrap();
        let started = Instant::now();
        let result = ExperimentConfig::from_toml(&text, name).and_then(ExperimentConfig::validate);
        prop_assert!(started.elapsed() < Duration::from_secs(30), "{name}: validation took {:?}", started.elapsed());
        if let Err(e) = result {
            if std::env::var_os("SHOW_ERRORS").is_some() { eprintln!("{name} {key}: {e}"); }
            prop_assert!(!matches!(e, ExperimentError::Internal(_)), "{name} with {key} mutated: {e}");
            if let Some(field) = named_field(&e) {
                let mut known = Vec::new();
                paths("", &doc, &mut known);
                paths("", original, &mut known);
                let resolved = ExperimentConfig::from_toml(&toml::to_string(original).unwrap(), name).unwrap();
                let resolved: toml::Table = toml::from_str(&resolved.to_toml().unwrap()).unwrap();
                paths("", &resolved, &mut known);
                known.push(key.clone());
                let known: Vec<String> = known.iter().map(|k| without_indices(k)).collect();
                let field = without_indices(&field);
                prop_assert!(
                    known.contains(&field),
                    "{name} with {key} mutated ({m:?}): the error names `{field}`, which is not a field: {e}"
                );
            }
        }
    }
}
