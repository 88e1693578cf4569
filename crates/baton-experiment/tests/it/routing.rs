//! Routing (model.md 6.2): Q-routing's update by hand, learning against the baselines, determinism, bad configs.

use baton_envs::routing::Topology;
use baton_experiment::routing::{RoutingResults, RoutingRow};
use baton_experiment::{Experiment, ExperimentConfig, ExperimentError, Method, NoProgress};
use baton_learn::{Behaviour, IcqAgent, QFunction, Scalar, StepSize, Transition};

/// B&L's grid in the data directory (`BATON_DATA_DIR`, default the repository's `data/` folder).
fn six_by_six_path() -> String {
    let path = baton_experiment::data::data_dir().join("routing/irregular-6x6.edges");
    assert!(path.exists(), "{} is missing ({})", path.display(), baton_experiment::data::data_dir_help());
    path.display().to_string()
}

fn config(methods: &str, seeds: u32, workload: &str) -> Result<Experiment, ExperimentError> {
    let text = format!(
        "name = \"routing-test\"\nseeds = {seeds}\nmethods = {methods}\n[workload]\nkind = \"routing\"\n\
         {workload}\n[learner]\nconstant_step_size = 0.5\nbehaviour = {{ kind = \"greedy\" }}\n"
    );
    ExperimentConfig::from_toml(&text, "routing-test.toml")?.validate()
}

fn six_by_six(loads: &str, duration: f64) -> String {
    format!(
        "topology = {{ kind = \"file\", path = \"{}\" }}\nloads = {loads}\nduration = {duration}\n\
         warmup = {}\n",
        six_by_six_path(),
        duration / 2.0
    )
}

fn run(exp: &Experiment) -> RoutingResults {
    match exp.run(&NoProgress).unwrap().downcast::<RoutingResults>() {
        Some(r) => r,
        _ => panic!("a routing config gave other results"),
    }
}

fn row(r: &RoutingResults, method: Method, load: f64) -> RoutingRow {
    r.summary.rows.iter().find(|x| x.method == method && x.load == load).unwrap().clone()
}

#[test]
fn q_routing_update_matches_a_hand_worked_example() {
    // Router x, destination d (observation 0), two neighbours. Q-routing (costs, minimised):
    //   Q_x(d, y) += eta (q + s + t - Q_x(d, y)),  eta = 0.5, Q init 0.
    // 1. q = 0, s = 1, y = d so t = 0:     Q = 0 + 0.5 (0 + 1 + 0 - 0)     = 0.5
    // 2. q = 2, s = 1, y's estimate t = 3: Q = 0.5 + 0.5 (2 + 1 + 3 - 0.5) = 3.25
    // IC-Q carries rewards -(q + s) and the receiver's scalar max_z (-Q_y) = -t, with discount 1.
    let spec = baton_core::AgentSpec {
        name: "x".into(),
        n_obs: 1,
        n_actions: 2,
        legal: baton_core::Legal::all(2),
        action_names: vec!["to-y".into(), "to-z".into()],
    };
    let mut x = IcqAgent::tabular(&spec, 1.0, StepSize::Constant(0.5));
    let a = baton_core::ActionId(0);
    let o = baton_core::ObsId(0);
    x.learn(&Transition { obs: o, action: a, reward: -1.0, duration: 1 }, Scalar::TERMINAL);
    assert_eq!(-x.q().value(o, a), 0.5);
    x.learn(&Transition { obs: o, action: a, reward: -3.0, duration: 3 }, Scalar::from_wire(-3.0));
    assert_eq!(-x.q().value(o, a), 3.25);
    // The untried neighbour keeps Q = 0 (cost 0), so greedy routing tries it next: Q-routing's exploration.
    let mut rng = baton_core::rng::stream(0, baton_core::rng::Stream::Agent(0));
    for _ in 0..10 {
        assert_eq!(Behaviour::Greedy.act(x.q(), o, None, &mut rng), baton_core::ActionId(1));
    }
}

#[test]
fn ic_q_routes_around_the_bottleneck_where_shortest_paths_saturate() {
    // L = 2.5 is past shortest-path saturation (node 21 relays 538 of 1260 routes: L* = 2.34).
    let exp =
        config("[\"ic-q\", \"shortest-path\", \"oracle\", \"no-scalar\"]", 2, &six_by_six("[1.0, 2.5]", 20_000.0))
            .unwrap();
    let r = run(&exp);
    let icq = row(&r, Method::IcQ, 2.5);
    let sp = row(&r, Method::ShortestPath, 2.5);
    let oracle = row(&r, Method::Oracle, 2.5);
    assert!(sp.mean_delivery_time > 50.0, "shortest paths saturate at L = 2.5: {sp:?}");
    assert!(sp.dropped > 0.0, "a saturated network drops injections: {sp:?}");
    assert!(icq.mean_delivery_time < 12.0, "IC-Q keeps delivering at L = 2.5: {icq:?}");
    assert!(oracle.mean_delivery_time <= icq.mean_delivery_time, "oracle {oracle:?} vs IC-Q {icq:?}");
    // At low load shortest paths are near optimal; no-scalar (no receiver estimate) is worse than IC-Q.
    let sp1 = row(&r, Method::ShortestPath, 1.0);
    assert!(sp1.mean_delivery_time < 5.5 && sp1.mean_hops < 4.95, "{sp1:?}");
    let ns1 = row(&r, Method::NoScalar, 1.0);
    let icq1 = row(&r, Method::IcQ, 1.0);
    assert!(ns1.mean_delivery_time > icq1.mean_delivery_time, "no-scalar {ns1:?} vs IC-Q {icq1:?}");
    // B&L's truncated mean drops each delivery's fraction: below the true mean by less than one unit, and
    // strictly below it wherever packets queued.
    for r in &r.summary.rows {
        let (t, tr) = (r.mean_delivery_time, r.mean_delivery_time_truncated);
        assert!(tr <= t && tr > t - 1.0, "{r:?}");
    }
    assert!(sp1.mean_delivery_time_truncated < sp1.mean_delivery_time - 0.05, "{sp1:?}");
    // Exactly one scalar per transfer of a packet for IC-Q, none for anyone else.
    assert_eq!(icq.scalars_per_transfer, 1.0);
    for m in [Method::ShortestPath, Method::Oracle, Method::NoScalar] {
        assert_eq!(row(&r, m, 2.5).scalars_per_transfer, 0.0, "{m}");
    }
}

#[test]
fn routing_results_depend_on_the_seed_only() {
    let exp = config("[\"ic-q\", \"oracle\"]", 2, &six_by_six("[2.0]", 4_000.0)).unwrap();
    let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    let one = pool(1).install(|| run(&exp));
    let two = pool(2).install(|| run(&exp));
    assert_eq!(one.summary, two.summary);
    let bins = |r: &RoutingResults| r.jobs.iter().map(|j| j.net.clone()).collect::<Vec<_>>();
    assert_eq!(bins(&one), bins(&two));
    let other = config("[\"ic-q\", \"oracle\"]", 2, &six_by_six("[2.0]", 4_000.0))
        .map(|mut e| {
            e.config.base_seed = 100;
            e
        })
        .unwrap();
    assert_ne!(run(&other).summary, one.summary);
}

#[test]
fn bad_routing_configs_name_the_field_and_reason() {
    let err = |methods: &str, workload: &str| config(methods, 1, workload).unwrap_err().to_string();
    let ok = six_by_six("[1.0]", 1000.0);
    let e = err("[\"ic-q\"]", &ok.replace("loads = [1.0]", "loads = [-1.0]"));
    assert!(e.contains("workload.loads") && e.contains("positive"), "{e}");
    let e = err("[\"ic-q\"]", &ok.replace("loads = [1.0]", "loads = []"));
    assert!(e.contains("workload.loads"), "{e}");
    let e = err("[\"ic-q\"]", &format!("{ok}max_in_flight = 0\n"));
    assert!(e.contains("workload.max_in_flight"), "{e}");
    let e = err("[\"optimal\"]", &ok);
    assert!(e.contains("methods") && e.contains("not a routing method"), "{e}");
    let e = err("[\"ic-q\"]", &format!("{ok}[[workload.changes]]\nkind = \"link-down\"\nat = 10.0\nlink = [0, 35]\n"));
    assert!(e.contains("workload.changes[0].link") && e.contains("not linked"), "{e}");
    let e = err("[\"ic-q\"]", &format!("{ok}interface = {{ kind = \"region\", regions = 99 }}\n"));
    assert!(e.contains("workload.interface.regions"), "{e}");
    let e = err("[\"ic-q\"]", &ok.replace(&six_by_six_path(), "/no/such/file.edges"));
    assert!(e.contains("/no/such/file.edges") && e.contains("cannot read"), "{e}");
    let e = err("[\"ic-q\"]", &format!("{ok}warmup_typo = 3\n"));
    assert!(e.contains("warmup_typo"), "{e}");
    // A malformed topology file: the error names the file, the line and the reason.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.edges");
    std::fs::write(&bad, "# a comment\nnodes 3\n0 1\n1 1\n").unwrap();
    let e = err("[\"ic-q\"]", &ok.replace(&six_by_six_path(), &bad.display().to_string()));
    assert!(e.contains("bad.edges") && e.contains("line 4") && e.contains("self"), "{e}");
    // Synthetic experiments reject the routing-only baseline.
    let text = "name = \"s\"\nmethods = [\"shortest-path\"]\n[workload]\nkind = \"synthetic\"\n";
    let e = ExperimentConfig::from_toml(text, "s.toml").unwrap().validate().unwrap_err().to_string();
    assert!(e.contains("routing method"), "{e}");
}

#[test]
fn the_built_in_benchmark_grid_is_the_shared_irregular_6x6() {
    let built_in = Topology::parse_edges(baton_experiment::bench::IRREGULAR_6X6, "built in").unwrap();
    let path = six_by_six_path();
    let shared = Topology::parse_edges(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    assert_eq!(built_in.links().collect::<Vec<_>>(), shared.links().collect::<Vec<_>>());
}

#[test]
fn skill_routing_learns_where_the_skills_are() {
    let skills = "[workload.skills]\nskills = 8\nholders = 4\nseed = 1\nwork = 2.0\n";
    let exp =
        config("[\"ic-q\", \"shortest-path\", \"random\"]", 1, &format!("{}{skills}", six_by_six("[2.0]", 20_000.0)))
            .unwrap();
    let r = run(&exp);
    let accuracy = |m| row(&r, m, 2.0).routing_accuracy.unwrap();
    // Nearest-holder routing never fails; random serves at random routers (8 skills x 4 holders of 36).
    assert_eq!(accuracy(Method::ShortestPath), 1.0);
    assert!(accuracy(Method::Random) < 0.3, "random {}", accuracy(Method::Random));
    assert!(accuracy(Method::IcQ) > 0.99, "IC-Q {}", accuracy(Method::IcQ));
    let icq = row(&r, Method::IcQ, 2.0);
    let sp = row(&r, Method::ShortestPath, 2.0);
    assert!(icq.mean_delivery_time < 1.1 * sp.mean_delivery_time, "IC-Q {icq:?} vs nearest holder {sp:?}");
    // Packet-routing rows carry no accuracy.
    let plain = run(&config("[\"ic-q\"]", 1, &six_by_six("[1.0]", 2_000.0)).unwrap());
    assert!(plain.summary.rows[0].routing_accuracy.is_none());
}

#[test]
fn bad_skill_configs_name_the_field() {
    let base = six_by_six("[1.0]", 1000.0);
    for (bad, field) in [
        ("skills = 0\nholders = 1\n", "workload.skills.skills"),
        ("skills = 65\nholders = 1\n", "workload.skills.skills"),
        ("skills = 2\nholders = 37\n", "workload.skills.holders"),
        ("skills = 2\nholders = 2\nwork = 0.0\n", "workload.skills.work"),
        ("skills = 2\nholders = 2\nmax_hops = 0\n", "workload.skills.max_hops"),
        ("skills = 2\nholders = 2\nqueue_buckets = 0\n", "workload.skills.queue_buckets"),
    ] {
        let e = config("[\"ic-q\"]", 1, &format!("{base}[workload.skills]\n{bad}")).unwrap_err().to_string();
        assert!(e.contains(field), "{bad:?}: {e}");
    }
}

/// Run IC-Q on `routing` at `load` through the reference path (the generic runner over the `Env`) and the
/// fused loop, chunked the same way, and assert identical statistics, counters and tables.
fn assert_fused_matches_reference(routing: &baton_envs::routing::Routing, load: f64, step: StepSize, seed: u64) {
    use baton_core::Env;
    use baton_envs::routing::config::QInit;
    use baton_envs::routing::HopTable;
    use baton_experiment::qrouting::FusedQRouting;
    use baton_experiment::train::Decentralized;
    use baton_learn::TabularQ;
    let net = routing.network(load);
    let hops =
        (routing.config.q_init() == QInit::HopCount).then(|| HopTable::new(&routing.topology, &routing.interface));
    let spec = net.spec().clone();
    let agents: Vec<IcqAgent<TabularQ>> = spec
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let q = match &hops {
                None => TabularQ::new(a, step.clone()),
                Some(h) => TabularQ::with_values(a, step.clone(), net.hop_prior(h, i as u32)).unwrap(),
            };
            IcqAgent::new(q, spec.discount)
        })
        .collect();
    let prior = |v: u32| hops.as_ref().map(|h| net.hop_prior(h, v));
    let mut fused = FusedQRouting::new(
        std::sync::Arc::clone(&routing.topology),
        routing.params(load),
        step.clone(),
        Behaviour::Greedy,
        seed,
        prior,
    )
    .unwrap();
    let mut reference = Decentralized::new(routing.network(load), agents, Behaviour::Greedy, seed);
    let duration = routing.config.duration;
    for k in 1..=7 {
        let until = duration * f64::from(k) / 7.0;
        reference.run_until(|env, _| env.now() >= until);
        fused.run_until(until);
        assert_eq!(fused.now().to_bits(), reference.env().now().to_bits(), "chunk {k}");
    }
    assert_eq!(fused.stats(), reference.env().stats(), "load {load}");
    assert_eq!(fused.train_stats(), reference.stats(), "load {load}");
    assert!(reference.stats().handoffs > 1000, "the run did something: {:?}", reference.stats());
    for (v, agent) in reference.agents().iter().enumerate() {
        let a: Vec<u64> = agent.q().as_slice().iter().map(|x| x.to_bits()).collect();
        let b: Vec<u64> = fused.table(v as u32).iter().map(|x| x.to_bits()).collect();
        assert_eq!(a, b, "router {v}'s table at load {load}");
    }
}

#[test]
fn the_fused_q_routing_loop_gives_the_reference_results_bit_for_bit() {
    let validate = |workload: &str| {
        let exp = config("[\"ic-q\"]", 1, workload).unwrap();
        exp.workload_as::<baton_envs::routing::Routing>().expect("a routing workload").clone()
    };
    // B&L's grid from zero, below and past shortest-path saturation, with both first-hop conventions;
    // L = 6 fills the 1000-packet cap (drops).
    for (load, cost) in [(1.0, "full"), (3.0, "full"), (2.5, "target-only"), (6.0, "full")] {
        let r = validate(&format!("{}source_cost = \"{cost}\"\n", six_by_six("[1.0]", 3_000.0)));
        assert_fused_matches_reference(&r, load, StepSize::Constant(0.5), 3);
    }
    // The large-network settings on a small grid: regions, hop-count start, decaying step.
    let r = validate(
        "topology = { kind = \"grid\", rows = 8, cols = 8 }\nloads = [4.0]\nduration = 2000.0\nwarmup = 1000.0\n\
         interface = { kind = \"region\", regions = 4 }\nq_init = \"hop-count\"\n",
    );
    assert_fused_matches_reference(&r, 4.0, StepSize::polynomial(0.8), 5);
}

/// `ic-q-neural` (model.md 3's network per router) plugs into routing: one scalar per transfer, it learns to route
/// around the bottleneck that saturates shortest paths, and `[learner.network]` and the method need each other.
#[test]
fn neural_ic_q_routes_with_one_scalar_per_hop() {
    let net = "[learner.network]\nwidth = 64\neta = 1.0\nfeatures = { kind = \"one-hot\" }\n";
    let text = |methods: &str, network: &str| {
        format!(
            "name = \"n\"\nseeds = 2\nmethods = {methods}\n[workload]\nkind = \"routing\"\n{}\n\
             [learner]\nconstant_step_size = 0.5\nbehaviour = {{ kind = \"greedy\" }}\n{network}",
            six_by_six("[2.5]", 20_000.0)
        )
    };
    let parse = |t: &str| ExperimentConfig::from_toml(t, "n.toml").unwrap().validate();
    let exp = parse(&text("[\"ic-q-neural\", \"shortest-path\"]", net)).unwrap();
    let r = run(&exp);
    let neural = row(&r, Method::IcQNeural, 2.5);
    let sp = row(&r, Method::ShortestPath, 2.5);
    assert!(neural.mean_delivery_time < 12.0, "neural IC-Q keeps delivering at L = 2.5: {neural:?}");
    assert!(sp.mean_delivery_time > 2.0 * neural.mean_delivery_time, "{sp:?} vs {neural:?}");
    assert_eq!(neural.scalars_per_transfer, 1.0, "one scalar per transfer of control");
    // The method without its network, and a network no listed method uses, are both refused.
    let e = parse(&text("[\"ic-q-neural\"]", "")).unwrap_err().to_string();
    assert!(e.contains("learner.network") && e.contains("missing"), "{e}");
    let e = parse(&text("[\"ic-q\"]", net)).unwrap_err().to_string();
    assert!(e.contains("learner.network") && e.contains("ic-q-neural"), "{e}");
    let synthetic = format!("name = \"s\"\nmethods = [\"ic-q-neural\"]\n[workload]\nkind = \"synthetic\"\n{net}");
    let e = parse(&synthetic).unwrap_err().to_string();
    assert!(e.contains("methods") && e.contains("ic-q-neural"), "{e}");
}

/// A routing experiment without `[learner]` (a preset replaces it).
fn preset_config(methods: &str, seeds: u32, workload: &str) -> Result<Experiment, ExperimentError> {
    let text = format!(
        "name = \"routing-preset-test\"\nseeds = {seeds}\nmethods = {methods}\n[workload]\nkind = \"routing\"\n\
         {workload}"
    );
    ExperimentConfig::from_toml(&text, "routing-preset-test.toml")?.validate()
}

#[test]
fn presets_parse_and_bad_preset_configs_name_the_field() {
    use baton_envs::routing::config::Preset;
    let base = six_by_six("[1.0]", 1000.0);
    let presets = |e: &Experiment| {
        e.workload_as::<baton_envs::routing::Routing>().expect("a routing workload").config.preset.0.clone()
    };
    let one = preset_config("[\"ic-q\"]", 1, &format!("{base}preset = \"baton\"\n")).unwrap();
    assert_eq!(presets(&one), vec![Preset::Baton]);
    let two = preset_config("[\"ic-q\", \"oracle\"]", 1, &format!("{base}preset = [\"boyan-littman\", \"baton\"]\n"))
        .unwrap();
    assert_eq!(presets(&two), vec![Preset::BoyanLittman, Preset::Baton]);
    let err = |methods: &str, workload: &str| preset_config(methods, 1, workload).unwrap_err().to_string();
    let e = err("[\"ic-q\"]", &format!("{base}preset = \"fast\"\n"));
    assert!(e.contains("workload.preset") && e.contains("unknown preset") && e.contains("boyan-littman"), "{e}");
    let e = err("[\"ic-q\"]", &format!("{base}preset = [\"baton\", \"baton\"]\n"));
    assert!(e.contains("workload.preset") && e.contains("twice"), "{e}");
    let e = err("[\"ic-q\"]", &format!("{base}preset = []\n"));
    assert!(e.contains("workload.preset"), "{e}");
    for field in ["q_init = \"zero\"", "source_cost = \"full\"", "reply = \"wait\"", "header = \"none\""] {
        let e = err("[\"ic-q\"]", &format!("{base}preset = \"baton\"\n{field}\n"));
        let name = field.split(' ').next().unwrap();
        assert!(e.contains(&format!("workload.{name}")) && e.contains("set by `preset`"), "{e}");
    }
    let e = err("[\"ic-q\", \"no-scalar\"]", &format!("{base}preset = \"baton\"\n"));
    assert!(e.contains("methods") && e.contains("no-scalar"), "{e}");
    let e = err("[\"oracle\"]", &format!("{base}preset = \"baton\"\n"));
    assert!(e.contains("workload.preset") && e.contains("ic-q"), "{e}");
    let e = err(
        "[\"ic-q\"]",
        &format!("{base}preset = \"baton\"\n[[workload.changes]]\nkind = \"link-down\"\nat = 10.0\nlink = [0, 1]\n"),
    );
    assert!(e.contains("workload.changes") && e.contains("baton"), "{e}");
    // A preset sets the IC-Q arm's step and behaviour: `[learner]` is refused.
    let e = config("[\"ic-q\"]", 1, &format!("{base}preset = \"baton\"\n")).unwrap_err().to_string();
    assert!(e.contains("learner") && e.contains("preset"), "{e}");
    // The extensions without a preset need the fused loop's greedy behaviour.
    let text = format!(
        "name = \"r\"\nmethods = [\"ic-q\"]\n[workload]\nkind = \"routing\"\n{base}reply = \"wait\"\n\
         [learner]\nbehaviour = {{ kind = \"uniform\" }}\n"
    );
    let e = ExperimentConfig::from_toml(&text, "r.toml").unwrap().validate().unwrap_err().to_string();
    assert!(e.contains("learner.behaviour") && e.contains("greedy"), "{e}");
}

#[test]
fn every_preset_is_documented_in_the_config_doc_comments() {
    use baton_envs::routing::config::{Header, Preset, QInit, Reply};
    use baton_envs::routing::network::SourceCost;
    let source = include_str!("../../../baton-envs/src/routing/config.rs");
    let field = source.find("pub preset: Presets").expect("the preset field");
    let mut lines: Vec<&str> = source[..field]
        .lines()
        .rev()
        .skip_while(|l| !l.trim_start().starts_with("///"))
        .take_while(|l| l.trim_start().starts_with("///"))
        .map(|l| l.trim_start().trim_start_matches("///").trim())
        .collect();
    lines.reverse();
    let doc = lines.join(" ");
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/routing-presets.md")).unwrap();
    for p in Preset::ALL {
        let (q_init, cost, reply, header) = p.fields();
        let q_init = match q_init {
            QInit::Zero => "q_init = \"zero\"",
            QInit::HopCount => "q_init = \"hop-count\"",
        };
        let cost = match cost {
            SourceCost::Full => "source_cost = \"full\"",
            SourceCost::TargetOnly => "source_cost = \"target-only\"",
        };
        let reply = match reply {
            Reply::Estimate => "reply = \"estimate\"",
            Reply::Wait => "reply = \"wait\"",
            Reply::Backlog => "reply = \"backlog\"",
        };
        let header = match header {
            Header::None => "header = \"none\"",
            Header::Backward => "header = \"backward\"",
        };
        let (step, behaviour) = baton_experiment::routing::preset_learner(p);
        assert_eq!(behaviour, Behaviour::Greedy);
        let StepSize::Constant(eta) = step else { panic!("{p}: a constant step") };
        // The doc names the preset and what it sets, in that order, before the next preset's entry.
        let at = doc.find(&format!("`{}`", p.name())).unwrap_or_else(|| panic!("{p} is not documented: {doc}"));
        let entry = &doc[at..];
        let entry = &entry[..entry.find(") or `").map_or(entry.len(), |i| i + 1)];
        for piece in [q_init, cost, reply, header, &format!("constant step {eta}"), "greedy"] {
            assert!(entry.contains(piece), "{p}: the doc comment does not say {piece:?}: {entry}");
        }
        assert!(guide.contains(&format!("`{}`", p.name())), "docs/routing-presets.md does not describe {p}");
    }
}

#[test]
fn the_baton_preset_beats_boyan_littman_at_low_load_on_the_6x6_grid() {
    // L = 1.0, 3 seeds of 10,000 time units scored after 5,000: B&L's Q-routing learns detours from its zero
    // start (about 6.4 here and at full length), shortest paths take about 5.3.
    let exp = preset_config(
        "[\"ic-q\", \"shortest-path\"]",
        3,
        &format!("{}preset = [\"boyan-littman\", \"baton\"]\n", six_by_six("[1.0]", 10_000.0)),
    )
    .unwrap();
    let r = run(&exp);
    let arm = |p: baton_envs::routing::config::Preset| {
        r.summary.rows.iter().find(|x| x.method == Method::IcQ && x.preset == Some(p)).unwrap().clone()
    };
    let (bl, baton) =
        (arm(baton_envs::routing::config::Preset::BoyanLittman), arm(baton_envs::routing::config::Preset::Baton));
    let sp = row(&r, Method::ShortestPath, 1.0);
    assert!(
        baton.mean_delivery_time < 0.9 * bl.mean_delivery_time,
        "baton {} against boyan-littman {}",
        baton.mean_delivery_time,
        bl.mean_delivery_time
    );
    assert!(
        baton.mean_delivery_time <= 1.02 * sp.mean_delivery_time,
        "baton {} against shortest paths {}",
        baton.mean_delivery_time,
        sp.mean_delivery_time
    );
    // Still one scalar per transfer (the header's number travels with the packet).
    assert_eq!(baton.scalars_per_transfer, 1.0);
    assert_eq!(bl.scalars_per_transfer, 1.0);
    // The backlog reply runs too, and also starts on shortest paths.
    let exp = config(
        "[\"ic-q\"]",
        2,
        &format!(
            "{}q_init = \"hop-count\"\nreply = \"backlog\"\nheader = \"backward\"\n",
            six_by_six("[1.0]", 10_000.0)
        ),
    )
    .unwrap();
    let backlog = row(&run(&exp), Method::IcQ, 1.0);
    assert_eq!(backlog.scalars_per_transfer, 1.0);
    assert!(backlog.mean_delivery_time <= 1.03 * sp.mean_delivery_time, "backlog {}", backlog.mean_delivery_time);
}
