//! IC-Q on the default synthetic workload: the whole decentralized loop in one file, CleanRL style.
//!
//! model.md section 2. Every agent `i` keeps its own table `Q_i(o, a)` (init 0) and visit counts `n_i(o, a)`.
//! At every handoff `i -> j`:
//!
//! 1. `i`, holding observation `o`, picks `a` (here uniformly at random among its legal actions);
//! 2. `i` runs the option; it observes its own `R` and `tau`;
//! 3. `j` observes `o'` and sends back ONE scalar `v = max_{a'} Q_j(o', a')` (`v = 0` if the episode ended);
//! 4. `i` updates only its own entry: `n = n_i(o,a) += 1; alpha = 1/(n+1)^omega;
//!    Q_i(o,a) <- (1 - alpha) Q_i(o,a) + alpha (R + gamma^tau v)`.
//!
//! The tables are plain vectors and the loop is written out; `tests/reference.rs` checks that it learns the
//! same tables, bit for bit, as `baton::experiment::train::Decentralized` with the same seed.
//!
//! Run: `cargo run --release --example icq_reference`

use std::error::Error;

use baton::core::rng::{stream, uniform_index, Stream};
use baton::core::{FiniteModel, Rng, TERMINAL};
use baton::envs::SyntheticConfig;
use baton::solve::{evaluate, initial_value, value_iteration, Policy};

/// The run's one seed: the environment and each agent draw from their own stream of it.
const SEED: u64 = 1;
/// Number of handoffs (Q-updates) to train for.
const HANDOFFS: u64 = 200_000;
/// Step-size exponent omega in (1/2, 1]: `alpha = 1/(n+1)^omega`.
const OMEGA: f64 = 0.8;
/// The library reads `1/(n+1)^omega` from a table equal to `powf` for counts below this; stay below it.
const ALPHA_TABLE_LEN: u32 = 1 << 16;
/// The library computes `gamma^tau` as a running product for durations below this; stay below it.
const DISCOUNT_TABLE_LEN: u32 = 32;
/// Sup-norm tolerance of value iteration for `V*`.
const VI_TOL: f64 = 1e-9;

/// The default synthetic workload as an explicit finite model (simulated here, solved exactly in `main`).
pub fn model() -> Result<FiniteModel, Box<dyn Error>> {
    Ok(SyntheticConfig::default().validate()?.build_model()?)
}

/// What a training run learned, and how much crossed between agents.
pub struct Trained {
    /// Each agent's table `Q_i`, indexed `obs * n_actions + action`.
    pub tables: Vec<Vec<f64>>,
    /// Scalars sent from a receiver back to a sender.
    pub scalars: u64,
}

/// Train IC-Q for `handoffs` handoffs from `seed`; returns each agent's table (`obs * n_actions + action`).
pub fn train(seed: u64, handoffs: u64) -> Result<Vec<Vec<f64>>, Box<dyn Error>> {
    Ok(train_and_count(seed, handoffs)?.tables)
}

/// [`train`], also counting the scalars sent from a receiver back to a sender.
pub fn train_and_count(seed: u64, handoffs: u64) -> Result<Trained, Box<dyn Error>> {
    let model = model()?;
    let agents = &model.spec().agents;
    let gamma = model.discount();
    assert!(model.max_duration() < DISCOUNT_TABLE_LEN, "durations too long to match the library bit for bit");

    // Each agent's own table Q_i(o, a) and visit counts n_i(o, a), indexed `obs * n_actions + action`.
    let n_actions: Vec<usize> = agents.iter().map(|a| usize::from(a.n_actions)).collect();
    let mut q: Vec<Vec<f64>> = agents.iter().map(|a| vec![0.0; a.n_obs as usize * usize::from(a.n_actions)]).collect();
    let mut visits: Vec<Vec<u32>> = q.iter().map(|table| vec![0; table.len()]).collect();

    // Independent random streams: one for the environment, one per agent for its own exploration.
    let mut env_rng = stream(seed, Stream::Env);
    let mut agent_rng: Vec<Rng> = (0..agents.len()).map(|i| stream(seed, Stream::Agent(i as u16))).collect();

    let mut state = TERMINAL; // the joint state x, which no agent sees; TERMINAL between episodes
    let mut scalars = 0u64;
    for _ in 0..handoffs {
        if state == TERMINAL {
            // A new episode: draw the start state from nu_0.
            state = model.sample_initial(&mut env_rng);
        }
        let i = model.holder(state).index(); // the sender
        let o = model.obs(state); // all it sees of x

        // (1) The holder picks a uniformly random legal action, with its own random stream.
        let legal = agents[i].legal.of(o);
        let a = legal[uniform_index(&mut agent_rng[i], legal.len())];

        // (2) The option runs: the environment samples (x', tau, R) from the kernel with its own stream.
        let pair = model.pair_of(state, a).ok_or("the behaviour picked an illegal action")?;
        let outcome = *model.sample_outcome(pair, &mut env_rng);
        state = outcome.next;

        // (3) The receiver j looks at its own observation o' and sends back ONE scalar
        //     v = max_{a' legal at o'} Q_j(o', a'); nobody replies when the episode ended (v = 0).
        let v = if state == TERMINAL {
            0.0
        } else {
            let j = model.holder(state).index();
            let o_next = model.obs(state);
            let row = &q[j][o_next.index() * n_actions[j]..][..n_actions[j]];
            scalars += 1;
            agents[j].legal.of(o_next).iter().map(|b| row[b.index()]).fold(f64::NEG_INFINITY, f64::max)
        };

        // (4) The sender updates only its own entry: n += 1, alpha = 1/(n+1)^omega, move Q towards the target.
        let k = o.index() * n_actions[i] + a.index();
        visits[i][k] += 1;
        let n = visits[i][k];
        assert!(n < ALPHA_TABLE_LEN, "entry visited {n} times: alpha would no longer match the library");
        let alpha = (f64::from(n) + 1.0).powf(-OMEGA);
        let discount_tau = (0..outcome.duration).fold(1.0, |g, _| g * gamma); // gamma^tau, a running product
        let td_target = outcome.reward + discount_tau * v;
        q[i][k] += alpha * (td_target - q[i][k]);
    }
    Ok(Trained { tables: q, scalars })
}

fn main() -> Result<(), Box<dyn Error>> {
    let started = std::time::Instant::now();
    let Trained { tables, scalars } = train_and_count(SEED, HANDOFFS)?;
    let seconds = started.elapsed().as_secs_f64();

    // Lift the agents' tables to the model's (state, action) pairs: Q(x, a) = Q_{h(x)}(sigma(x), a).
    let model = model()?;
    let agents = &model.spec().agents;
    let pair_states = model.pair_states();
    let lifted: Vec<f64> = (0..model.n_pairs())
        .map(|p| {
            let s = pair_states[p];
            let i = model.holder(s).index();
            tables[i][model.obs(s).index() * usize::from(agents[i].n_actions) + model.pair_action(p).index()]
        })
        .collect();

    // The exact value of the learned greedy policy against the centralized optimum V*.
    let optimum = value_iteration(&model, VI_TOL)?;
    let v_star = initial_value(&model, &optimum.v)?;
    let greedy = Policy::greedy(&model, &lifted)?;
    let v_greedy = initial_value(&model, &evaluate(&model, &greedy)?)?;
    let v_random = initial_value(&model, &evaluate(&model, &Policy::uniform(&model))?)?;

    println!(
        "IC-Q reference: default synthetic workload ({} agents, {} states, {} pairs), seed {SEED}, omega {OMEGA}",
        agents.len(),
        model.n_states(),
        model.n_pairs()
    );
    println!("handoffs          {HANDOFFS} in {seconds:.3} s");
    println!("scalars sent      {scalars} (one per transfer of control, none at the end of an episode)");
    println!("V(greedy IC-Q)    {v_greedy:.6}");
    println!("V*                {v_star:.6}");
    println!("V(uniform)        {v_random:.6}");
    println!("greedy / V*       {:.4}", v_greedy / v_star);
    Ok(())
}
