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
//! hop-count potential (A*), stopped as soon as every neighbour of `x` is settled, over stamped scratch
//! arrays that are never cleared between hops. The potential is `h(z) = max(0, hops(x, z) - 1)`, a lower
//! bound on the cost from `z` on to the nearest neighbour of `x`, since every step costs at least one unit.
//! It changes by at most one across a link, and each step costs at least one, so it is consistent: every
//! settled distance is exact, as in plain Dijkstra. The distances it returns for `x`'s neighbours are
//! therefore the same numbers as [`dense_distances`]' (the simple O(n^2) Dijkstra the oracle used before),
//! and the oracle's decisions and random draws are unchanged. All the costs are whole numbers for packet
//! delivery, so no rounding can differ either. Skill routing (many sources, a `work` that need not be whole)
//! runs without the potential, ordered by the distance alone.
//!
//! The hop table (`n^2` entries of 2 bytes) is built on the first search of a network of at most
//! [`HOP_TABLE_MAX`] routers. Larger networks search without the potential (still exact, still with the
//! early stop).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
    /// [`OracleSearch::distance`]. `x` must be a router of `view.topology`.
    pub fn search<W: Fn(u32) -> u32>(&mut self, view: &View<'_, W>, x: u32, sources: Sources<'_>) {
        let topology = view.topology;
        let n = topology.n_nodes() as usize;
        if !self.hops_built {
            self.build_hops(topology);
        }
        self.begin(n);
        let generation = self.generation;
        // The potential: only for packet delivery (whole-number costs), when the table exists. The table is
        // moved out for the search (no copy) and put back at the end.
        let hops = std::mem::take(&mut self.hops);
        let row: &[u16] = match sources {
            Sources::Destination(_) if !hops.is_empty() => &hops[x as usize * n..(x as usize + 1) * n],
            _ => &[],
        };
        let potential = |z: u32| -> f64 { row.get(z as usize).map_or(0.0, |&h| f64::from(h.saturating_sub(1))) };
        let mut unsettled = 0usize;
        for &y in topology.neighbours(x) {
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
        while let Some(Reverse((_, u))) = self.heap.pop() {
            let ui = u as usize;
            if self.settled[ui] == generation {
                continue;
            }
            self.settled[ui] = generation;
            if self.target[ui] == generation {
                unsettled -= 1;
                if unsettled == 0 {
                    break;
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

    /// After [`OracleSearch::search`] for `x`: the distance of `x`'s neighbour `y` (infinite when no link
    /// that is up leads from `y` to a source).
    #[inline]
    pub fn distance(&self, y: u32) -> f64 {
        if self.seen[y as usize] == self.generation && self.settled[y as usize] == self.generation {
            self.dist[y as usize]
        } else {
            f64::INFINITY
        }
    }
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

    /// A random connected network with random waits and random dead links, and the fast search against the
    /// dense reference for every router's neighbours: the same distances, bit for bit.
    fn check(nodes: u32, seed: u64, max_wait: u32, down_share: f64, skills: bool) {
        use rand::Rng as _;
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
        let holders: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.2).collect();
        let view = View { topology: &topology, down: &down, wait: |z: u32| waits[z as usize] };
        let mut search = OracleSearch::new();
        for x in 0..n {
            let dest = rng.random_range(0..n);
            let holds = |z: u32| holders[z as usize];
            let sources = if skills { Sources::Holders { holds: &holds, work: 1.5 } } else { Sources::Destination(dest) };
            search.search(&view, x, sources);
            let dense = dense_distances(&view, x, sources);
            for &y in topology.neighbours(x) {
                assert_eq!(
                    search.distance(y).to_bits(),
                    dense[y as usize].to_bits(),
                    "router {x}, neighbour {y}, {sources:?}: fast {} dense {}",
                    search.distance(y),
                    dense[y as usize]
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn the_fast_search_gives_the_dense_distances(
            nodes in 2u32..80, seed in any::<u64>(), max_wait in 0u32..12, down_share in 0.0f64..0.3, skills: bool,
        ) {
            check(nodes, seed, max_wait, down_share, skills);
        }
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
            search.search(&view, x, Sources::Destination(dest));
            let dense = dense_distances(&view, x, Sources::Destination(dest));
            for &y in topology.neighbours(x) {
                assert_eq!(search.distance(y), dense[y as usize]);
            }
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
        search.search(&view, 1, Sources::Destination(2));
        assert_eq!(search.distance(0), f64::INFINITY);
        assert_eq!(search.distance(2), 0.0);
    }
}
