//! The math workflow on the real data: the fixed strategies reproduce the recording's anchors, one scalar
//! per transfer, determinism, IC-Q at lambda = 0 against the strong model, bad configs.

use std::path::PathBuf;
use std::sync::Arc;

use baton_envs::math::{Order, Strategy};
use baton_experiment::math::{self, front_at, run_job, MathWorkload};
use baton_experiment::train::Decentralized;
use baton_experiment::{ExperimentConfig, ExperimentError, Method, NoProgress};
use baton_learn::{Behaviour, IcqAgent, StepSize, TabularQ};

fn data_dir() -> PathBuf {
    baton_experiment::data::data_dir()
}

fn config(backend: &str, extra: &str, methods: &str) -> String {
    format!(
        "name = \"m\"\nseeds = 2\nmethods = {methods}\n[workload]\nkind = \"math\"\nbackend = \"{backend}\"\n\
         data_dir = {:?}\n{extra}\n",
        data_dir().display().to_string()
    )
}

fn workload(backend: &str, extra: &str) -> (baton_experiment::Experiment, Arc<MathWorkload>) {
    let exp = ExperimentConfig::from_toml(&config(backend, extra, "[\"ic-q\"]"), "t.toml").unwrap().validate().unwrap();
    let m = exp.workload_as::<MathWorkload>().expect("a math workload");
    let m = Arc::new(m.clone());
    (exp, m)
}

#[test]
fn fixed_strategies_reproduce_the_recording_anchors_on_the_full_set() {
    let (_, m) = workload("replay", "lambdas = [0.0]\nepisodes = 10");
    let all: Arc<[u32]> = (0..m.table.len() as u32).collect();
    assert_eq!(all.len(), 1319);
    let acc = |s: Strategy| {
        let t = m.evaluate_strategy(s, &all, 0);
        assert_eq!(t.episodes, 1319);
        (t.correct_routellm as f64 / 1319.0, t.correct as f64 / 1319.0, t.cost_usd / 1319.0)
    };
    let (strong_rl, strong, strong_cost) = acc(Strategy::StrongOnly);
    let (cheap_rl, _, cheap_cost) = acc(Strategy::CheapOnly);
    println!("strong {strong_rl:.4} (decimal {strong:.4}, ${strong_cost:.5}), cheap {cheap_rl:.4} (${cheap_cost:.5})");
    assert_eq!(format!("{strong_rl:.3}"), "0.857");
    assert_eq!(format!("{cheap_rl:.3}"), "0.638");
    assert!(strong > 0.885 && strong < 0.895, "decimal-aware GPT-4 about 0.889, got {strong}");
    assert_eq!(format!("{strong_cost:.4}"), "0.0157");
    assert_eq!(format!("{:.5}", cheap_cost), "0.00039");
    // Both with the tie rule is the strong model's accuracy at both models' cost.
    let (both_rl, _, both_cost) = acc(Strategy::BothTie);
    assert_eq!(both_rl, strong_rl);
    assert!((both_cost - strong_cost - cheap_cost).abs() < 1e-12);
}

#[test]
fn one_scalar_per_transfer_and_deterministic_jobs() {
    let (exp, m) = workload("replay", "lambdas = [10.0]\nepisodes = 3000");
    let spec = &m.spec;
    let agents = spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, StepSize::polynomial(0.8))).collect();
    let mut t: Decentralized<_, TabularQ> =
        Decentralized::new(m.env(&m.train, Order::Sample, 10.0), agents, Behaviour::Uniform, 4);
    t.run_until(|_, s| s.episodes >= 2000);
    let s = t.stats();
    assert!(s.transfers > 2000);
    assert_eq!(s.scalars, s.transfers, "one scalar per transfer of control");
    assert_eq!(s.handoffs, s.transfers + s.episodes, "every episode ends with one submission");
    for method in [Method::IcQ, Method::Oracle, Method::NoScalar, Method::Random] {
        let lambda = method.learns().then_some(10.0);
        let a = run_job(&m, &exp.learner, method, lambda, 3, &NoProgress).unwrap();
        let b = run_job(&m, &exp.learner, method, lambda, 3, &NoProgress).unwrap();
        assert_eq!(a, b, "{method} is deterministic by seed");
        assert_eq!(a.eval.episodes, m.test.len() as u64);
        let scalars = if method == Method::IcQ { a.train.transfers } else { 0 };
        assert_eq!(a.train.scalars, scalars, "{method}");
    }
}

#[test]
fn ic_q_at_lambda_zero_reaches_the_strong_model_on_held_out_questions() {
    let (exp, m) = workload("replay", "lambdas = [0.0]\nepisodes = 60000");
    let strong = m.evaluate_strategy(Strategy::StrongOnly, &m.test, 0);
    let strong = strong.correct as f64 / strong.episodes as f64;
    for seed in [0, 1] {
        let j = run_job(&m, &exp.learner, Method::IcQ, Some(0.0), seed, &NoProgress).unwrap();
        let acc = j.eval.correct as f64 / j.eval.episodes as f64;
        println!("seed {seed}: ic-q {acc:.4} vs strong-only {strong:.4} on {} held-out", m.test.len());
        assert!(acc >= strong - 0.01, "seed {seed}: ic-q {acc} < strong-only {strong} - 0.01");
    }
}

#[test]
fn simulated_mathqa_workload_builds_and_runs() {
    let (exp, m) = workload("simulated", "lambdas = [0.0]\nepisodes = 2000");
    assert_eq!(m.table.len(), 1000);
    assert_eq!((m.train.len(), m.test.len()), (500, 500));
    assert!(!m.has_routellm());
    let j = run_job(&m, &exp.learner, Method::Cascade, None, 0, &NoProgress).unwrap();
    assert_eq!(j.eval.episodes, 500);
}

#[test]
fn the_front_interpolates_between_lambda_points() {
    let pts = [(1.0, 0.6), (3.0, 0.8), (10.0, 0.9)];
    assert_eq!(front_at(&pts, 2.0), Some(0.7));
    assert_eq!(front_at(&pts, 20.0), Some(0.9));
    assert_eq!(front_at(&pts, 0.5), None);
    assert_eq!(front_at(&pts, 1.0), Some(0.6));
}

fn invalid(text: &str) -> (String, String) {
    match ExperimentConfig::from_toml(text, "bad.toml").and_then(ExperimentConfig::validate) {
        Err(ExperimentError::InvalidConfig { field, reason }) => (field, reason),
        Err(ExperimentError::Parse { message, .. }) => ("<parse>".into(), message),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("accepted a bad config:\n{text}"),
    }
}

#[test]
fn bad_math_configs_are_rejected_naming_the_field() {
    let (f, _) = invalid(&config("replay", "lambdas = [-1.0]", "[\"ic-q\"]"));
    assert_eq!(f, "workload.lambdas");
    let (f, _) = invalid(&config("replay", "lambdas = [1.0]\nepisodes = 0", "[\"ic-q\"]"));
    assert_eq!(f, "workload.episodes");
    let (f, _) = invalid(&config("replay", "lambdas = [1.0]\ntrain_fraction = 1.0", "[\"ic-q\"]"));
    assert_eq!(f, "workload.train_fraction");
    let (f, _) = invalid(&config("replay", "lambdas = [1.0]\n[workload.critic]\ntrue_positive = 1.5", "[\"ic-q\"]"));
    assert_eq!(f, "workload.critic.true_positive");
    let (f, r) = invalid(&config("replay", "lambdas = [1.0]\n[workload.critic]\nkind = \"backend\"", "[\"ic-q\"]"));
    assert_eq!(f, "workload.critic.kind");
    assert!(r.contains("no critic outputs"), "{r}");
    let (f, _) =
        invalid(&config("simulated", "lambdas = [1.0]\n[workload.critic]\nkind = \"label-simulated\"", "[\"ic-q\"]"));
    assert_eq!(f, "workload.critic.kind");
    let (f, r) = invalid(&config("replay", "lambdas = [1.0]", "[\"shortest-path\"]"));
    assert_eq!(f, "methods");
    assert!(r.contains("not a math method"), "{r}");
    let (f, m) = invalid(&config("replay", "lambdas = [1.0]\ncolour = 3", "[\"ic-q\"]"));
    assert_eq!(f, "<parse>");
    assert!(m.contains("colour"), "{m}");
    // Math-only methods are refused by the other workloads.
    let synthetic = "name = \"s\"\nmethods = [\"cascade\"]\n[workload]\nkind = \"synthetic\"\n";
    let (f, r) = invalid(synthetic);
    assert_eq!(f, "methods");
    assert!(r.contains("math-workflow method"), "{r}");
}

/// A saved policy reads back bit for bit, and `ask` (which fills one question's row lazily, calling the
/// backend only for the work the policy asks for) plays exactly the episode the run's evaluation plays on
/// the full table: same submission, cost, handoffs and grade, question by question.
#[test]
fn ask_replays_the_runs_own_episodes_from_the_saved_tables() {
    use baton_envs::math::CriticSource;
    use baton_experiment::ask::{ask, policy_files, AgentTable, Policy, PolicyManifest};
    use baton_experiment::train::Scripted;

    let lambda = 20.0;
    let (exp, m) =
        workload("replay", "lambdas = [20.0]\nepisodes = 20000\n[workload.critic]\nkind = \"label-simulated\"");
    let job = run_job(&m, &exp.learner, Method::IcQ, Some(lambda), 0, &NoProgress).unwrap();
    let files = policy_files(std::slice::from_ref(&job), &m.table, &m.spec, &m.dataset, 0).unwrap();
    assert_eq!(files.len(), 1 + m.spec.agents.len());
    let manifest: PolicyManifest = serde_json::from_str(&files[0].1).unwrap();
    assert_eq!(manifest.thresholds, m.table.thresholds);
    let tables = job.policy.as_ref().unwrap();
    let agents: Vec<IcqAgent<TabularQ>> = files[1..]
        .iter()
        .zip(&m.spec.agents)
        .zip(tables)
        .map(|(((_, text), a), saved)| {
            let t: AgentTable = serde_json::from_str(text).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&t.q), bits(saved), "agent {} reads back bit for bit", t.agent);
            IcqAgent::new(TabularQ::with_values(a, StepSize::polynomial(0.8), t.q).unwrap(), m.spec.discount)
        })
        .collect();
    let policy = Policy { math: m.math.clone(), manifest, lambda, spec: m.spec.clone(), agents };
    let c = &m.math.config;
    let critic = CriticSource::FromLabel {
        true_positive: c.critic.true_positive,
        false_positive: c.critic.false_positive,
        seed: c.split_seed,
    };
    let backend = baton_llm::ReplayBackend::load(&data_dir(), m.math.prices.clone()).unwrap();
    let mut submitted = [0; 2];
    for &q in m.test.iter().take(60) {
        let t = ask(&policy, &backend, &backend.dataset().problems[q as usize], q as usize, critic, true).unwrap();
        let one: Arc<[u32]> = vec![q].into();
        let mut s = Scripted::new(m.env(&one, Order::Sequential, lambda), 0);
        s.run_until(|_, st| st.episodes >= 1, |_, d, _| policy.agents[d.agent.index()].greedy(d.obs));
        let rec = s.env().last_episode().unwrap();
        assert_eq!(t.submitted, rec.submitted, "question {q}");
        assert_eq!(t.correct, Some(rec.correct), "question {q}");
        assert_eq!(t.steps.len() as u32, rec.handoffs, "question {q}");
        assert!((t.cost_usd - rec.cost_usd).abs() < 1e-15, "question {q}: {} vs {}", t.cost_usd, rec.cost_usd);
        submitted[t.submitted] += 1;
    }
    println!("submitted (cheap, strong): {submitted:?}");
}

#[test]
fn routellms_contaminated_prompts_are_marked_and_leave_their_anchors() {
    let (_, m) = workload("replay", "lambdas = [0.0]\nepisodes = 10");
    let marked: Vec<usize> = (0..m.table.len()).filter(|&q| m.contaminated[q]).collect();
    assert_eq!(marked, vec![0, 1, 2, 18, 67, 147, 233, 269, 285, 364, 530, 932]);
    // On the 1,307 others, the recording's rule gives RouteLLM's decontaminated accuracies.
    let kept: Vec<&baton_envs::math::QuestionRow> =
        m.table.rows.iter().filter(|r| !m.contaminated[r.question]).collect();
    assert_eq!(kept.len(), 1307);
    let acc = |k: usize| kept.iter().filter(|r| r.answers[k].correct_routellm == Some(true)).count();
    assert_eq!((acc(0), acc(1)), (833, 1121), "Mixtral 0.6373, GPT-4 0.8577");
}

#[test]
fn the_default_uses_no_critic_and_the_simulated_one_is_labelled() {
    use baton_experiment::math::run_with;
    let methods = [Method::IcQ, Method::PromptOnly, Method::CheapOnly, Method::StrongOnly, Method::Cascade];
    for (extra, label) in [("", "none"), ("[workload.critic]\nkind = \"label-simulated\"", "label-simulated")] {
        let (exp, m) = workload("replay", &format!("lambdas = [0.0, 20.0, 400.0]\nepisodes = 3000\n{extra}"));
        let r = run_with("t", &m, &methods, &[0, 1], &exp.learner, Vec::new(), &NoProgress).unwrap();
        let s = &r.summary;
        assert_eq!(s.critic.name(), label);
        for row in &s.rows {
            let expected = if matches!(row.method, Method::IcQ) { label } else { "none" };
            assert_eq!(row.critic, expected, "{} at {:?}", row.method, row.lambda);
            if label == "none" || row.method != Method::IcQ {
                assert_eq!(row.critic_share, 0.0, "{}: no critic call", row.method);
            }
            // Shares are of questions; PGR is 0 for cheap-only and 1 for strong-only.
            assert!((0.0..=1.0).contains(&row.strong_share) && (0.0..=1.0).contains(&row.cheap_share));
            match row.method {
                Method::CheapOnly => assert_eq!((row.pgr, row.strong_share, row.cheap_share), (0.0, 0.0, 1.0)),
                Method::StrongOnly => assert_eq!((row.pgr, row.strong_share, row.cheap_share), (1.0, 1.0, 0.0)),
                Method::PromptOnly => assert!((row.strong_share + row.cheap_share - 1.0).abs() < 1e-12),
                _ => {}
            }
        }
        // A single-model strategy is a point of the random router's line: APGR 0.5, CPT(x%) = x% exactly,
        // on both question sets.
        let sec = &s.routellm;
        assert_eq!(sec.references.len(), 2);
        assert_eq!(sec.references[1].excluded + sec.references[1].questions, m.test.len());
        assert_eq!(sec.published.len(), 3);
        for f in sec.fronts.iter().filter(|f| matches!(f.method, Method::CheapOnly | Method::StrongOnly)) {
            assert!((f.calls.apgr - 0.5).abs() < 1e-12, "{} {:?}", f.method, f.calls);
            assert!((f.calls.cpt50 - 0.5).abs() < 1e-12 && (f.calls.cpt80 - 0.8).abs() < 1e-12);
            assert!((f.cost.apgr - 0.5).abs() < 1e-12, "{} {:?}", f.method, f.cost);
        }
        // IC-Q's front: lambda 400 is cheap-only, lambda 0 at least as accurate as strong-only, so its APGR is
        // well above a random router's.
        let icq = sec.fronts.iter().find(|f| f.method == Method::IcQ).unwrap();
        assert_eq!(icq.points, 5);
        println!("{label}: ic-q {:?}", icq.calls);
        assert!(icq.calls.apgr > 0.55, "{:?}", icq.calls);
    }
}

#[test]
fn jobs_made_outside_the_runner_are_summarised_as_its_own() {
    let text = config("replay", "lambdas = [0.0, 20.0]\nepisodes = 200", "[\"ic-q\", \"cheap-only\", \"strong-only\"]");
    let exp = ExperimentConfig::from_toml(&text, "t.toml").unwrap().validate().unwrap();
    let m = exp.workload_as::<MathWorkload>().expect("a math workload");
    let methods = &exp.config.methods;
    let seeds = exp.seed_list();
    let own = math::run_with("m", m, methods, &seeds, &exp.learner, Vec::new(), &NoProgress).unwrap();
    let icq: Vec<_> = own.jobs.iter().filter(|j| j.method == Method::IcQ).cloned().collect();
    assert_eq!(icq.len(), 4);
    let with = math::run_with("m", m, methods, &seeds, &exp.learner, icq.clone(), &NoProgress).unwrap();
    assert_eq!(with.summary, own.summary);
    // A job that is not one of the run's, or one given twice, is refused before anything runs.
    let mut stranger = icq[0].clone();
    stranger.seed = 99;
    let twice = vec![icq[0].clone(), icq[0].clone()];
    for (outside, reason) in [(vec![stranger], "not one of the run's"), (twice, "given twice")] {
        match math::run_with("m", m, methods, &seeds, &exp.learner, outside, &NoProgress) {
            Err(ExperimentError::InvalidConfig { field, reason: r }) => {
                assert_eq!(field, "jobs");
                assert!(r.contains(reason), "{r}");
            }
            other => panic!("expected a refusal, got {:?}", other.map(|r| r.summary)),
        }
    }
}
