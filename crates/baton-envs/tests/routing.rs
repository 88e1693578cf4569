//! The routing simulator's invariants (model.md 6.2), driven through the `Env` contract by fixed policies.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use baton_core::rng::{stream, uniform_index, Stream};
use baton_core::{ActionId, ArtifactId, Env, Event, Next, Rng};
use baton_envs::routing::network::{Change, Interface, SourceCost, Task};
use baton_envs::routing::{Network, NetworkParams, ShortestPaths, Topology};

/// B&L's grid, built in (the repository's `data/routing/irregular-6x6.edges`).
fn six_by_six() -> Topology {
    Topology::builtin("irregular-6x6").expect("built in").unwrap()
}

fn params(load: f64, cap: u32) -> NetworkParams {
    NetworkParams {
        load,
        max_in_flight: cap,
        interface: Arc::new(Interface::Destination),
        source_cost: SourceCost::Full,
        warmup: 0.0,
        horizon: f64::INFINITY,
        bin: 100.0,
        changes: Vec::new(),
        task: Task::Deliver,
    }
}

/// Everything observed of one packet's life.
#[derive(Default, Clone, Debug)]
struct Life {
    cost: f64,
    hops: u32,
}

/// Drive `net` with `policy` for `events` events, checking the per-event invariants; returns per-packet
/// costs of delivered packets (sum of `-reward`), and the number of deliveries.
fn drive(
    net: &mut Network,
    events: usize,
    mut policy: impl FnMut(&mut Network, ArtifactId, &mut Rng) -> ActionId,
) -> Vec<(Life, f64, u32)> {
    let mut env_rng = stream(7, Stream::Env);
    let mut policy_rng = stream(7, Stream::Central);
    net.reset(&mut env_rng);
    let n = net.topology().n_nodes() as usize;
    // Per router: the packets waiting there, in arrival order (FIFO check).
    let mut waiting: Vec<VecDeque<u32>> = vec![VecDeque::new(); n];
    // Per router: when it last sent a packet from its queue (service-rate check).
    let mut last_send = vec![f64::NEG_INFINITY; n];
    let mut lives: HashMap<u32, (Life, f64)> = HashMap::new();
    let mut delivered = Vec::new();
    let mut last_time = 0.0;
    for _ in 0..events {
        match net.next_event(&mut env_rng) {
            Event::Decide(d) => {
                let now = net.now();
                assert!(now >= last_time, "time runs forward");
                last_time = now;
                let x = d.agent.index();
                let a = d.artifact.0;
                match waiting[x].iter().position(|&p| p == a) {
                    Some(0) => {
                        waiting[x].pop_front();
                        assert!(now - last_send[x] >= 1.0 - 1e-9, "router {x} sent twice within one time unit");
                        last_send[x] = now;
                    }
                    Some(k) => panic!("router {x} served packet {a} ahead of {k} earlier arrivals (not FIFO)"),
                    None => {
                        // A fresh injection: routed at once, no service slot.
                        assert!(!lives.contains_key(&a), "packet {a} injected while still alive");
                        lives.insert(a, (Life::default(), now));
                    }
                }
                let act = policy(net, d.artifact, &mut policy_rng);
                net.act(d.artifact, act, &mut env_rng);
            }
            Event::Handoff(h) => {
                let a = h.artifact.0;
                let (life, _) = lives.get_mut(&a).unwrap();
                life.cost -= h.reward;
                life.hops += 1;
                assert!(h.duration >= 1);
                match h.next {
                    Next::To { agent, .. } => waiting[agent.index()].push_back(a),
                    Next::Terminated => {
                        let (life, born) = lives.remove(&a).unwrap();
                        delivered.push((life.clone(), net.now() - born, life.hops));
                    }
                    Next::Truncated => panic!("routing never truncates"),
                }
            }
            Event::EpisodeEnd => panic!("routing has no episodes"),
        }
        // Conservation: every injected packet is delivered or still in the network.
        let s = net.stats();
        assert_eq!(s.injected, s.total.delivered + net.in_flight() as u64);
        assert_eq!(net.in_flight(), lives.len());
    }
    delivered
}

fn shortest(topology: &Topology) -> ShortestPaths {
    ShortestPaths::new(topology)
}

#[test]
fn with_one_packet_at_a_time_delivery_time_equals_hop_count() {
    let topo = Arc::new(six_by_six());
    let sp = shortest(&topo);
    let mut net = Network::new(Arc::clone(&topo), params(2.0, 1));
    let delivered =
        drive(&mut net, 20_000, |net, art, rng| sp.action(net.topology(), net.holder(art), net.destination(art), rng));
    assert!(delivered.len() > 1000);
    for (life, time, hops) in &delivered {
        // Exact up to the rounding of adding whole time units to a continuous injection time.
        assert!((time - f64::from(*hops)).abs() < 1e-9, "zero load: delivery time {time} = hops {hops}");
        assert!((life.cost - time).abs() < 1e-9, "the option costs add up to the delivery time");
    }
    // Shortest paths: the mean hop count is the mean distance of the pairs drawn (4.83 over all pairs).
    let mean = delivered.iter().map(|d| f64::from(d.2)).sum::<f64>() / delivered.len() as f64;
    assert!((4.6..5.1).contains(&mean), "mean hops {mean}");
    assert!(net.stats().total.dropped > 0, "injections into a full network are dropped and counted");
}

#[test]
fn under_load_queues_are_fifo_and_costs_add_up_to_delivery_time() {
    let topo = Arc::new(six_by_six());
    let sp = shortest(&topo);
    let mut net = Network::new(Arc::clone(&topo), params(2.2, 1000));
    let delivered =
        drive(&mut net, 300_000, |net, art, rng| sp.action(net.topology(), net.holder(art), net.destination(art), rng));
    let queued = delivered.iter().filter(|(_, time, hops)| *time > f64::from(*hops) + 1e-9).count();
    assert!(queued > delivered.len() / 10, "at L = 2.2 many packets queue ({queued} of {})", delivered.len());
    for (life, time, hops) in &delivered {
        assert!(*time >= f64::from(*hops) - 1e-9);
        assert!((life.cost - time).abs() < 1e-6, "costs {} vs delivery time {time}", life.cost);
    }
}

#[test]
fn target_only_source_cost_drops_exactly_the_first_hop_cost() {
    let topo = Arc::new(six_by_six());
    let sp = shortest(&topo);
    let mut p = params(1.0, 1);
    p.source_cost = SourceCost::TargetOnly;
    let mut net = Network::new(Arc::clone(&topo), p);
    let delivered =
        drive(&mut net, 5_000, |net, art, rng| sp.action(net.topology(), net.holder(art), net.destination(art), rng));
    for (life, time, _) in &delivered {
        // One packet at a time: the first hop costs q + s = 1, which target-only leaves out.
        assert!((life.cost - (time - 1.0)).abs() < 1e-9, "cost {} delivery {time}", life.cost);
    }
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_does_not() {
    let topo = Arc::new(six_by_six());
    let run = |seed: u64| {
        let mut net = Network::new(Arc::clone(&topo), params(2.0, 1000));
        let mut env_rng = stream(seed, Stream::Env);
        let mut rng = stream(seed, Stream::Central);
        net.reset(&mut env_rng);
        for _ in 0..50_000 {
            if let Event::Decide(d) = net.next_event(&mut env_rng) {
                let degree = net.topology().degree(net.holder(d.artifact));
                net.act(d.artifact, ActionId(uniform_index(&mut rng, degree) as u16), &mut env_rng);
            }
        }
        (net.now(), net.stats().clone())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).1, run(2).1);
}

#[test]
fn the_oracle_routes_around_a_dead_link_and_shortest_path_does_not() {
    // A ring of 6: 0-1-2-3-4-5-0. Kill 0-1; packets 0 -> 1 must go the long way (5 hops) or time out.
    let links: Vec<(u32, u32)> = (0..6).map(|i| (i, (i + 1) % 6)).collect();
    let topo = Arc::new(Topology::from_links("ring-6", 6, &links).unwrap());
    let mut p = params(0.2, 1);
    p.changes = vec![Change::LinkDown { at: 0.0, a: 0, b: 1, penalty: 10.0 }];
    let sp = shortest(&topo);
    let mut net = Network::new(Arc::clone(&topo), p.clone());
    let sp_runs =
        drive(&mut net, 20_000, |net, art, rng| sp.action(net.topology(), net.holder(art), net.destination(art), rng));
    let mut net = Network::new(Arc::clone(&topo), p);
    let oracle_runs = drive(&mut net, 20_000, |net, art, rng| net.oracle_action(art, rng));
    // Static shortest paths keep sending 0 -> 1 packets over the dead link (a timeout each time), so the
    // first such packet never arrives and, one packet at a time, the network stalls. The oracle sees the
    // dead link and goes the long way round.
    assert!(sp_runs.len() * 5 < oracle_runs.len(), "sp delivered {} oracle {}", sp_runs.len(), oracle_runs.len());
    assert!(oracle_runs.iter().any(|(_, _, hops)| *hops == 5), "some packets take the 5-hop detour");
    assert!(
        oracle_runs.iter().all(|(_, time, hops)| (time - f64::from(*hops)).abs() < 1e-9),
        "the oracle never times out"
    );
}

#[test]
fn region_interface_sees_regions_far_away_and_exact_destinations_nearby() {
    let topo = Arc::new(Topology::grid(4, 4).unwrap());
    let region = topo.regions(4).unwrap();
    let mut p = params(1.0, 10);
    p.interface = Arc::new(Interface::regions(region.clone()));
    let net = Network::new(Arc::clone(&topo), p);
    for (v, agent) in net.spec().agents.iter().enumerate() {
        let own = region.iter().filter(|&&r| r == region[v]).count() as u32;
        assert_eq!(agent.n_obs, 4 + own, "router {v}: 4 regions plus its own region's routers");
    }
}

/// Skill routing with requests served far longer than the run: once every slot is held and the horizon is
/// passed, `next_event` used to drop injection after injection without ever returning (the caller's duration
/// check never ran). It must return an event past the horizon promptly (checked from another thread, so that a
/// regression fails instead of hanging).
#[test]
fn a_full_network_past_its_horizon_returns_an_event_instead_of_dropping_forever() {
    use baton_envs::routing::network::Skills;
    // Every router of the 2x2 grid has two links: action 2 is `serve`.
    const SERVE: ActionId = ActionId(2);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let topo = Arc::new(Topology::grid(2, 2).unwrap());
        let skills =
            Skills { n_skills: 1, holds: vec![1, 1, 1, 1], work: 1e12, penalty: 1.0, max_hops: 8, queue_buckets: 2 };
        let horizon = 100.0;
        let mut p = params(5.0, 4);
        p.horizon = horizon;
        p.task = Task::Skills(Arc::new(skills));
        let mut net = Network::new(topo, p);
        let mut rng = stream(7, Stream::Env);
        net.reset(&mut rng);
        // Until the first event past the horizon, and one more (after the skip to a busy server's release).
        for _ in 0..2 {
            loop {
                if let Event::Decide(d) = net.next_event(&mut rng) {
                    net.act(d.artifact, SERVE, &mut rng);
                }
                if net.now() > horizon {
                    break;
                }
            }
        }
        let _ = done.send(net.now());
    });
    let now = finished.recv_timeout(std::time::Duration::from_secs(30)).expect("no event past the horizon in 30 s");
    assert!(now > 100.0, "{now}");
}

#[test]
fn the_truncated_tally_drops_each_delivery_time_fraction_as_b_and_l_do() {
    let mut t = baton_envs::routing::Tally::default();
    t.deliver(4.0, 4);
    t.deliver(5.75, 4);
    t.deliver(6.999, 5);
    // 5 - 1e-12: a whole-number time that binary arithmetic left a hair low still counts as whole.
    t.deliver(5.0 - 1e-12, 5);
    assert_eq!(t.total_time_truncated, 4 + 5 + 6 + 5);
    assert_eq!(t.mean_time_truncated(), 20.0 / 4.0);
    assert!((t.mean_time() - (4.0 + 5.75 + 6.999 + 5.0 - 1e-12) / 4.0).abs() < 1e-12);
}

#[test]
fn saturation_load_counts_relays_on_random_shortest_paths() {
    // A path 0 - 1 - 2: of the 6 ordered pairs only 0 -> 2 and 2 -> 0 are relayed, both by router 1, so it
    // saturates at 1 / (2 / 6) = 3.
    let path = Topology::from_links("path", 3, &[(0, 1), (1, 2)]).unwrap();
    assert!((path.saturation_load() - 3.0).abs() < 1e-12, "{}", path.saturation_load());
    // A 4-cycle: the 4 routes between opposite routers each split over two 2-hop paths, so every router
    // relays 2 x 1/2 = 1 of the 12 routes: 12.
    let cycle = Topology::from_links("cycle", 4, &[(0, 1), (1, 2), (2, 3), (3, 0)]).unwrap();
    assert!((cycle.saturation_load() - 12.0).abs() < 1e-9, "{}", cycle.saturation_load());
    // B&L's grid: 2.348 (an independent count gives router 20 536.72 relays of the 1260 routes).
    let grid = Topology::builtin("irregular-6x6").unwrap().unwrap();
    assert!((grid.saturation_load() - 1260.0 / 536.71875).abs() < 1e-9, "{}", grid.saturation_load());
}
