//! The routing workload's hot loops for `baton bench`.

use std::time::Duration;

use baton_core::Env;
use baton_learn::{Behaviour, IcqAgent, StepSize, TabularQ};

use crate::bench::{time_loop, Figure, CHUNK};
use crate::train::Decentralized;
use crate::ExperimentError;

/// Q-routing (fused and generic) on the irregular 6x6 grid, and on the 10,000-router network when asked.
pub(crate) fn benches(budget: Duration, filter: &str, figures: &mut Vec<Figure>) -> Result<(), ExperimentError> {
    let wanted = |name: &str| name.contains(filter);
    // Routing (model.md 6.2): Q-routing as IC-Q on Boyan & Littman's irregular 6x6 grid at L = 3.0, counted in
    // hops (each hop is one Q-update), steady state (the first chunk, timed out, covers the learning burst).
    // `ic-q` is the fused loop `baton run` uses; `ic-q-generic` the reference (the generic runner over the
    // `Env`), which gives the same results.
    if wanted("routing-6x6/ic-q/hops_per_sec") {
        let mut l = crate::routing::qrouting::FusedQRouting::new(
            six_by_six()?,
            routing_bench_params(3.0),
            StepSize::Constant(0.5),
            Behaviour::Greedy,
            1,
            |_| None,
        )
        .map_err(ExperimentError::Internal)?;
        figures.push(time_loop("routing-6x6/ic-q/hops_per_sec", budget, || {
            let before = l.stats().hops;
            let until = l.now() + 20_000.0;
            l.run_until(until);
            l.stats().hops - before
        }));
    }
    // The same loop on a 10,000-router random geometric network (`experiments/routing-rgg-10k.toml`: 100
    // regions, hop-count start, decaying step, L = 50). Its tables take about 600 MB and building them a few
    // seconds, so it runs only when the filter names it (`--filter rgg`).
    if !filter.is_empty() && wanted("routing-rgg-10k/ic-q/hops_per_sec") {
        let mut l = rgg_10k()?;
        figures.push(time_loop("routing-rgg-10k/ic-q/hops_per_sec", budget, || {
            let before = l.stats().hops;
            let until = l.now() + 200.0;
            l.run_until(until);
            l.stats().hops - before
        }));
    }
    if wanted("routing-6x6/ic-q-generic/hops_per_sec") {
        let routing = baton_envs::routing::Network::new(six_by_six()?, routing_bench_params(3.0));
        let spec = routing.spec().clone();
        let agents: Vec<IcqAgent<TabularQ>> =
            spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, StepSize::Constant(0.5))).collect();
        let mut l = Decentralized::new(routing, agents, Behaviour::Greedy, 1);
        figures.push(time_loop("routing-6x6/ic-q-generic/hops_per_sec", budget, || {
            l.run(CHUNK);
            CHUNK
        }));
    }
    Ok(())
}

/// Boyan & Littman's irregular 6x6 grid, built in so the benchmark needs no data directory. The same
/// links as `routing/irregular-6x6.edges` of the shared data (a test checks they agree).
pub const IRREGULAR_6X6: &str = "nodes 36
0 1
0 6
1 2
1 7
2 8
3 4
3 9
4 5
4 10
5 11
6 7
6 12
7 8
7 13
8 14
9 10
9 15
10 11
10 16
11 17
12 13
12 18
13 14
13 19
14 20
15 16
15 21
16 17
16 22
17 23
18 19
18 24
19 20
19 25
20 21
20 26
21 22
21 27
22 23
22 28
23 29
24 30
25 26
27 28
29 35
30 31
31 32
32 33
33 34
34 35
";

fn six_by_six() -> Result<std::sync::Arc<baton_envs::routing::Topology>, ExperimentError> {
    baton_envs::routing::Topology::parse_edges(IRREGULAR_6X6, "irregular-6x6 (built in)")
        .map(std::sync::Arc::new)
        .map_err(ExperimentError::from)
}

fn routing_bench_params(load: f64) -> baton_envs::routing::NetworkParams {
    use baton_envs::routing::network::{Interface, SourceCost, Task};
    baton_envs::routing::NetworkParams {
        load,
        max_in_flight: 1000,
        interface: std::sync::Arc::new(Interface::Destination),
        source_cost: SourceCost::Full,
        warmup: 0.0,
        horizon: f64::INFINITY,
        bin: 1e9,
        changes: Vec::new(),
        task: Task::Deliver,
    }
}

/// The network of `experiments/routing-rgg-10k.toml`, through the same configuration code.
fn rgg_10k() -> Result<crate::routing::qrouting::FusedQRouting, ExperimentError> {
    use baton_envs::routing::config::{InterfaceConfig, QInit, RoutingConfig, TopologyConfig};
    use baton_envs::routing::network::SourceCost;
    let config = RoutingConfig {
        topology: TopologyConfig::RandomGeometric { nodes: 10_000, radius: None, seed: 1 },
        loads: vec![50.0],
        duration: 1e9,
        warmup: 0.0,
        max_in_flight: 100_000,
        interface: InterfaceConfig::Region { regions: 100 },
        source_cost: Some(SourceCost::Full),
        q_init: Some(QInit::HopCount),
        reply: None,
        header: None,
        preset: Default::default(),
        bin: 1e6,
        changes: Vec::new(),
        skills: None,
        published: None,
    };
    let routing = config.validate(None)?;
    let hops = baton_envs::routing::HopTable::new(&routing.topology, &routing.interface);
    let network = routing.network(50.0);
    crate::routing::qrouting::FusedQRouting::new(
        std::sync::Arc::clone(&routing.topology),
        routing.params(50.0),
        StepSize::polynomial(0.8),
        Behaviour::Greedy,
        1,
        |v| Some(network.hop_prior(&hops, v)),
    )
    .map_err(ExperimentError::Internal)
}
