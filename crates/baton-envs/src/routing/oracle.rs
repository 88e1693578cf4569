//! The centralized oracle's search: a full-information heuristic that sees every queue.
//!
//! At every hop the oracle needs, for each neighbour `y` of the deciding router `x`, the estimated time
//! from `y`'s arrival to delivery when every router `z` on the way makes the packet wait `wait(z)` (its
//! queue plus the packets in transit to it) and each hop takes one time unit:
//!
//! `d(dest) = 0`, `d(z) = min over links z-u that are up of wait(z) + 1 + d(u)`.
//!
//! (Skill routing: `d(h) = wait(h) + work` at every router `h` holding the skill.) That is a shortest-path
//! problem on the current global state, solved afresh at every hop.
//!
//! [`OracleSearch`] solves it with a binary-heap Dijkstra from the destination, guided towards `x` by a
//! hop-count potential (A*), over stamped scratch arrays that are never cleared between hops. The potential
//! is `h(z) = max(0, hops(x, z) - 1)`, a lower bound on the cost from `z` on to the nearest neighbour of `x`,
//! since every step costs at least one unit. It changes by at most one across a link, and each step costs at
//! least one, so it is consistent: every settled distance is exact, as in plain Dijkstra, and every router
//! settled later has a key at least the current one. `x`'s neighbours have `h = 0`, so an unsettled
//! neighbour's distance is at least the smallest key in the heap (the frontier).
//!
//! **When to stop.** [`choose`] scans the neighbours in order, keeps a running best and draws a random
//! number at every tie with it; so the decision *and the random draws* depend on every comparison it makes,
//! not only on the minimum. For packet delivery with every link up, the search stops as soon as those
//! comparisons are decided: a settled neighbour below the frontier is certainly below every unsettled one,
//! and an unsettled neighbour is certainly above a running best that is below the frontier. Usually that is
//! once the nearest neighbours are settled, long before the farthest one. The unsettled neighbours then
//! read as [`f64::MAX`], which [`choose`] compares exactly as their true (larger) distances. So the oracle's
//! decisions and random draws are those of the plain search ([`dense_distances`], its former method): the
//! property test `the_fast_choice_is_the_dense_choice` checks it, draws included. All the costs are whole
//! numbers for packet delivery, so no rounding can differ either.
//!
//! Skill routing (many sources, a `work` that need not be whole) and a network with a link down search the
//! old way: without the potential for skills, ordered by distance alone, until every neighbour is settled
//! (or nothing more is reachable).
//!
//! The hop table (`n^2` entries of 2 bytes) is built on the first search of a network of at most
//! [`HOP_TABLE_MAX`] routers. Larger networks search without the potential (still exact, still with the
//! early stop).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use baton_core::rng::replace_on_tie;
use baton_core::{ActionId, Rng};

use super::topology::Topology;

/// Largest network (routers) for which the oracle builds its hop table (`n^2` u16: 32 MB at this size).
pub const HOP_TABLE_MAX: u32 = 4096;

/// Where the distances start.
#[derive(Clone, Copy)]
pub enum Sources<'a> {
    /// Packet delivery: the destination, at distance 0.
    Destination(u32),
    /// Skill routing: every router with `holds[z]` set, at distance `wait(z) + work`.
    Holders {
        /// Per router, whether it holds the skill.
        holds: &'a dyn Fn(u32) -> bool,
        /// Service time of the request at a holder.
        work: f64,
    },
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sources::Destination(d) => f.debug_tuple("Destination").field(d).finish(),
            Sources::Holders { work, .. } => f.debug_struct("Holders").field("work", work).finish_non_exhaustive(),
        }
    }
}

/// The network state the search reads: the topology, which directed links are down (indexed by
/// [`Topology::neighbour_offset`]` + k`) and each router's wait.
#[derive(Clone, Copy)]
pub struct View<'a, W: Fn(u32) -> u32> {
    /// The network.
    pub topology: &'a Topology,
    /// Per directed link: whether it is down.
    pub down: &'a [bool],
    /// Time units a packet arriving at a router now is estimated to wait there (queue plus incoming).
    pub wait: W,
}

/// Reusable scratch of the oracle's search (see the module documentation). Nothing is allocated per search
/// once the arrays have grown to the network's size.
#[derive(Clone, Debug, Default)]
pub struct OracleSearch {
    /// Tentative or settled distance of every router, valid where `seen == generation`.
    dist: Vec<f64>,
    seen: Vec<u32>,
    settled: Vec<u32>,
    /// The deciding router's neighbours, marked with the current generation.
    target: Vec<u32>,
    generation: u32,
    /// `(key bits, router)`: for a non-negative finite `f64`, the order of its bits is the order of its value.
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    /// `hops[x * n + z]`: hop distance between `x` and `z` (saturated), built on first use.
    hops: Vec<u16>,
    hops_built: bool,
    /// Whether the last search ran out of reachable routers (then an unsettled router is unreachable).
    exhausted: bool,
}

impl OracleSearch {
    /// An empty search (arrays grow on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// Start a new search over `n` routers: a fresh generation (the arrays are cleared only when the counter
    /// wraps).
    fn begin(&mut self, n: usize) {
        if self.dist.len() != n {
            self.dist = vec![f64::INFINITY; n];
            self.seen = vec![0; n];
            self.settled = vec![0; n];
            self.target = vec![0; n];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.seen.fill(0);
            self.settled.fill(0);
            self.target.fill(0);
            self.generation = 1;
        }
        self.heap.clear();
    }

    fn build_hops(&mut self, topology: &Topology) {
        self.hops_built = true;
        let n = topology.n_nodes();
        if n > HOP_TABLE_MAX {
            return;
        }
        let mut hops = Vec::with_capacity(n as usize * n as usize);
        for x in 0..n {
            hops.extend(topology.hop_distances(x).into_iter().map(|d| d.min(u32::from(u16::MAX)) as u16));
        }
        self.hops = hops;
    }

    /// Solve for the neighbours of `x` (see the module documentation); read the results with
    /// [`OracleSearch::distance`]. `x` must be a router of `view.topology`. `any_down`: whether any link of
    /// `view.down` is down (the early stop is used only when none is).
    pub fn search<W: Fn(u32) -> u32>(&mut self, view: &View<'_, W>, x: u32, sources: Sources<'_>, any_down: bool) {
        let topology = view.topology;
        let n = topology.n_nodes() as usize;
        if !self.hops_built {
            self.build_hops(topology);
        }
        self.begin(n);
        self.exhausted = false;
        let generation = self.generation;
        let lazy = matches!(sources, Sources::Destination(_)) && !any_down;
        // The potential: only for packet delivery (whole-number costs), when the table exists. The table is
        // moved out for the search (no copy) and put back at the end.
        let hops = std::mem::take(&mut self.hops);
        let row: &[u16] = match sources {
            Sources::Destination(_) if !hops.is_empty() => &hops[x as usize * n..(x as usize + 1) * n],
            _ => &[],
        };
        let potential = |z: u32| -> f64 { row.get(z as usize).map_or(0.0, |&h| f64::from(h.saturating_sub(1))) };
        let neighbours = topology.neighbours(x);
        let mut unsettled = 0usize;
        for &y in neighbours {
            if self.target[y as usize] != generation {
                self.target[y as usize] = generation;
                unsettled += 1;
            }
        }
        let seed = |z: u32, d: f64, this: &mut Self| {
            this.dist[z as usize] = d;
            this.seen[z as usize] = generation;
            this.heap.push(Reverse(((d + potential(z)).to_bits(), z)));
        };
        match sources {
            Sources::Destination(dest) => seed(dest, 0.0, self),
            Sources::Holders { holds, work } => {
                for z in 0..n as u32 {
                    if holds(z) {
                        seed(z, f64::from((view.wait)(z)) + work, self);
                    }
                }
            }
        }
        // Lazy mode: whether to re-check the comparisons (a neighbour was settled, or the frontier moved).
        let mut recheck = true;
        let mut checked_at = f64::NAN;
        loop {
            let Some(&Reverse((key, _))) = self.heap.peek() else {
                self.exhausted = true;
                break;
            };
            if lazy {
                let frontier = f64::from_bits(key);
                if (recheck || frontier != checked_at) && self.decided(neighbours, frontier) {
                    break;
                }
                recheck = false;
                checked_at = frontier;
            }
            let Some(Reverse((_, u))) = self.heap.pop() else { break };
            let ui = u as usize;
            if self.settled[ui] == generation {
                continue;
            }
            self.settled[ui] = generation;
            if self.target[ui] == generation {
                if lazy {
                    recheck = true;
                } else {
                    unsettled -= 1;
                    if unsettled == 0 {
                        break;
                    }
                }
            }
            let du = self.dist[ui];
            let off = topology.neighbour_offset(u);
            for (k, &z) in topology.neighbours(u).iter().enumerate() {
                let zi = z as usize;
                // The link z -> u is the same link as u -> z; the oracle knows which links are down.
                if self.settled[zi] == generation || view.down[off + k] {
                    continue;
                }
                // A packet at z (z != the destination) forwarded to u: it waits at z, then one unit of transit.
                let d = du + 1.0 + f64::from((view.wait)(z));
                if self.seen[zi] != generation || d < self.dist[zi] {
                    self.seen[zi] = generation;
                    self.dist[zi] = d;
                    self.heap.push(Reverse(((d + potential(z)).to_bits(), z)));
                }
            }
        }
        self.hops = hops;
    }

    /// Lazy mode: whether every comparison [`choose`] makes over `neighbours` (all links up) is decided, when
    /// every unsettled neighbour's distance is at least `frontier`.
    fn decided(&self, neighbours: &[u32], frontier: f64) -> bool {
        enum Best {
            None,
            Exact(f64),
            /// An unsettled neighbour: at least the frontier.
            Open,
        }
        let generation = self.generation;
        let mut best = Best::None;
        for &y in neighbours {
            let settled = self.settled[y as usize] == generation;
            let d = self.dist[y as usize];
            best = match (best, settled) {
                (Best::None, true) => Best::Exact(d),
                (Best::None, false) => Best::Open,
                // Both known: decided (a tie draws, as it would).
                (Best::Exact(b), true) => Best::Exact(b.min(d)),
                // y is at least the frontier: certainly above b only if b is below it.
                (Best::Exact(b), false) if b < frontier => Best::Exact(b),
                // A settled y below the frontier is certainly below the unsettled best.
                (Best::Open, true) if d < frontier => Best::Exact(d),
                _ => return false,
            };
        }
        true
    }

    /// After [`OracleSearch::search`] for `x`: the distance of `x`'s neighbour `y`. Infinite when no link that
    /// is up leads from `y` to a source; [`f64::MAX`] when the search stopped early without settling `y`
    /// (then `y` is certainly not needed: see the module documentation).
    #[inline]
    pub fn distance(&self, y: u32) -> f64 {
        if self.settled[y as usize] == self.generation {
            self.dist[y as usize]
        } else if self.exhausted {
            f64::INFINITY
        } else {
            f64::MAX
        }
    }
}

/// The oracle's choice at router `x` given each neighbour's `distance` (from [`OracleSearch::distance`] or
/// [`dense_distances`]): the neighbour minimising `1 + distance` over the links that are up, scanned in
/// order, ties broken uniformly at random (one draw per tie with the running best). `serve`: skill routing's
/// cost of serving here, which starts as the running best (action `degree(x)`).
pub fn choose(
    topology: &Topology,
    down: &[bool],
    x: u32,
    serve: Option<f64>,
    distance: impl Fn(u32) -> f64,
    rng: &mut Rng,
) -> ActionId {
    let off = topology.neighbour_offset(x);
    let mut choice = 0usize;
    let mut best = f64::INFINITY;
    let mut ties = 0usize;
    if let Some(cost) = serve {
        best = cost;
        choice = topology.degree(x);
        ties = 1;
    }
    for (k, &y) in topology.neighbours(x).iter().enumerate() {
        if down[off + k] {
            continue;
        }
        // Sending now: one unit of transit, then y's own estimate (its wait is inside the distance).
        let c = 1.0 + distance(y);
        if c < best {
            best = c;
            choice = k;
            ties = 1;
        } else if c == best && replace_on_tie(rng, &mut ties) {
            choice = k;
        }
    }
    ActionId(choice as u16)
}

/// The same distances by the oracle's former method, kept as the reference the fast search is tested and
/// benchmarked against: Dijkstra from the sources with a linear scan for the nearest unsettled router
/// (O(n^2) per hop), stopped once `x`'s neighbours are settled. Returns every router's distance (infinite
/// where unsettled). Allocates; not for the simulator's loop.
pub fn dense_distances<W: Fn(u32) -> u32>(view: &View<'_, W>, x: u32, sources: Sources<'_>) -> Vec<f64> {
    let topology = view.topology;
    let n = topology.n_nodes() as usize;
    let mut dist = vec![f64::INFINITY; n];
    let mut done = vec![false; n];
    match sources {
        Sources::Destination(dest) => dist[dest as usize] = 0.0,
        Sources::Holders { holds, work } => {
            for (z, d) in dist.iter_mut().enumerate() {
                if holds(z as u32) {
                    *d = f64::from((view.wait)(z as u32)) + work;
                }
            }
        }
    }
    let mut unsettled = topology.degree(x);
    for _ in 0..n {
        let mut u = usize::MAX;
        let mut best = f64::INFINITY;
        for z in 0..n {
            if !done[z] && dist[z] < best {
                best = dist[z];
                u = z;
            }
        }
        if u == usize::MAX {
            break;
        }
        done[u] = true;
        if topology.link_index(x, u as u32).is_some() {
            unsettled -= 1;
            if unsettled == 0 {
                break;
            }
        }
        let off = topology.neighbour_offset(u as u32);
        for (k, &z) in topology.neighbours(u as u32).iter().enumerate() {
            let z = z as usize;
            if done[z] || view.down[off + k] {
                continue;
            }
            let d = best + 1.0 + f64::from((view.wait)(z as u32));
            if d < dist[z] {
                dist[z] = d;
            }
        }
    }
    for (d, settled) in dist.iter_mut().zip(&done) {
        if !settled {
            *d = f64::INFINITY;
        }
    }
    dist
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::rng::{stream, Stream};
    use proptest::prelude::*;
    use rand::{Rng as _, RngCore as _};

    /// A random connected network with random waits and (optionally) dead links; at every router, the fast
    /// search and the dense reference must give the same choice and consume the same random draws. Where
    /// the fast search settled a neighbour, its distance must be the dense one, bit for bit.
    fn check(nodes: u32, seed: u64, max_wait: u32, down_share: f64, skills: bool) {
        let mut rng = stream(seed, Stream::Other(7));
        let topology = Topology::random_geometric(nodes, None, &mut rng).expect("a random geometric graph");
        let n = topology.n_nodes();
        let waits: Vec<u32> = (0..n).map(|_| rng.random_range(0..=max_wait)).collect();
        let mut down = vec![false; topology.neighbours_len()];
        for (a, b) in topology.links() {
            if rng.random::<f64>() < down_share {
                for (x, y) in [(a, b), (b, a)] {
                    down[topology.neighbour_offset(x) + topology.link_index(x, y).expect("a link")] = true;
                }
            }
        }
        let any_down = down.iter().any(|&d| d);
        let holders: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.2).collect();
        let view = View { topology: &topology, down: &down, wait: |z: u32| waits[z as usize] };
        let mut search = OracleSearch::new();
        for x in 0..n {
            let mut dest = rng.random_range(0..n - 1);
            if dest >= x {
                dest += 1;
            }
            let holds = |z: u32| holders[z as usize];
            let sources =
                if skills { Sources::Holders { holds: &holds, work: 1.5 } } else { Sources::Destination(dest) };
            let serve = skills.then_some(2.5);
            search.search(&view, x, sources, any_down);
            let dense = dense_distances(&view, x, sources);
            for &y in topology.neighbours(x) {
                let fast = search.distance(y);
                if fast != f64::MAX {
                    assert_eq!(fast.to_bits(), dense[y as usize].to_bits(), "router {x}, neighbour {y}, {sources:?}");
                }
            }
            let mut r1 = stream(seed ^ u64::from(x), Stream::Other(8));
            let mut r2 = r1.clone();
            let a1 = choose(&topology, &down, x, serve, |y| search.distance(y), &mut r1);
            let a2 = choose(&topology, &down, x, serve, |y| dense[y as usize], &mut r2);
            assert_eq!(a1, a2, "router {x}, {sources:?}: the same choice");
            assert_eq!(r1.next_u64(), r2.next_u64(), "router {x}, {sources:?}: the same random draws");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_fast_choice_is_the_dense_choice(
            nodes in 2u32..80, seed in any::<u64>(), max_wait in 0u32..12, down_share in 0.0f64..0.3, skills: bool,
        ) {
            check(nodes, seed, max_wait, down_share, skills);
        }

        /// Every link up: the early stop is in use.
        #[test]
        fn the_early_stop_makes_the_dense_choice(nodes in 2u32..120, seed in any::<u64>(), max_wait in 0u32..4) {
            check(nodes, seed, max_wait, 0.0, false);
        }
    }

    #[test]
    fn ties_draw_as_the_dense_search_does() {
        // A 6-cycle, destination opposite router 0: both neighbours are equally far, so every choice is a tie,
        // and both halves must be chosen over many draws.
        let links: Vec<(u32, u32)> = (0..6).map(|v| (v, (v + 1) % 6)).collect();
        let topology = Topology::from_links("ring", 6, &links).expect("a ring");
        let down = vec![false; topology.neighbours_len()];
        let view = View { topology: &topology, down: &down, wait: |_| 0 };
        let mut search = OracleSearch::new();
        let mut rng = stream(3, Stream::Other(9));
        let mut seen = [0u32; 2];
        for _ in 0..64 {
            search.search(&view, 0, Sources::Destination(3), false);
            let a = choose(&topology, &down, 0, None, |y| search.distance(y), &mut rng);
            seen[a.index()] += 1;
        }
        assert!(seen[0] > 10 && seen[1] > 10, "{seen:?}");
    }

    #[test]
    fn the_search_reuses_its_scratch_across_many_generations() {
        // Every search starts a new generation; stale marks from earlier searches must never leak in.
        let topology = Topology::grid(4, 5).expect("a grid");
        let down = vec![false; topology.neighbours_len()];
        let mut search = OracleSearch::new();
        for round in 0..200u32 {
            let view = View { topology: &topology, down: &down, wait: |z: u32| (z * 7 + round) % 5 };
            let x = round % topology.n_nodes();
            let dest = (round * 3 + 1) % topology.n_nodes();
            if dest == x {
                continue;
            }
            search.search(&view, x, Sources::Destination(dest), false);
            let dense = dense_distances(&view, x, Sources::Destination(dest));
            let mut r1 = stream(u64::from(round), Stream::Other(8));
            let mut r2 = r1.clone();
            assert_eq!(
                choose(&topology, &down, x, None, |y| search.distance(y), &mut r1),
                choose(&topology, &down, x, None, |y| dense[y as usize], &mut r2)
            );
            assert_eq!(r1.next_u64(), r2.next_u64());
        }
    }

    #[test]
    fn a_neighbour_cut_off_by_dead_links_is_infinitely_far() {
        // Path 0-1-2 with 1-2 down: from router 1, neighbour 0 cannot reach destination 2.
        let topology = Topology::from_links("path", 3, &[(0, 1), (1, 2)]).expect("a path");
        let mut down = vec![false; topology.neighbours_len()];
        for (x, y) in [(1, 2), (2, 1)] {
            down[topology.neighbour_offset(x) + topology.link_index(x, y).expect("a link")] = true;
        }
        let view = View { topology: &topology, down: &down, wait: |_| 0 };
        let mut search = OracleSearch::new();
        search.search(&view, 1, Sources::Destination(2), true);
        assert_eq!(search.distance(0), f64::INFINITY);
        assert_eq!(search.distance(2), 0.0);
    }
}
