//! The shortest-path baseline: static hop-count routing, a random shortest path per packet.

use baton_core::rng::replace_on_tie;
use baton_core::{ActionId, Rng};

use std::sync::Arc;

use super::network::{Skills, Task};
use super::topology::Topology;

/// Hop distances between every pair of routers, and the shortest-path next hops they imply.
///
/// Tie rule (model.md 6.2: "a random shortest path per packet matches the paper"): at every hop the packet goes
/// to a neighbour one hop closer to its destination, chosen uniformly among those, so each packet follows a
/// random shortest path. A deterministic tie rule would pile more traffic on a few links.
#[derive(Clone, Debug)]
pub struct ShortestPaths {
    n: usize,
    /// `dist[d * n + v]`: hops from `v` to `d` (skill routing: to the nearest router holding skill `d`).
    dist: Vec<u32>,
    /// Skill routing: who holds what (a router holding the skill serves the request itself).
    skills: Option<Arc<Skills>>,
}

impl ShortestPaths {
    /// One breadth-first search per destination: `O(n (n + links))` time, `n^2` distances.
    pub fn new(topology: &Topology) -> Self {
        let n = topology.n_nodes() as usize;
        let mut dist = Vec::with_capacity(n * n);
        for d in 0..n as u32 {
            dist.extend(topology.hop_distances(d));
        }
        ShortestPaths { n, dist, skills: None }
    }

    /// For `task`: [`ShortestPaths::new`] for packet routing; for skill routing, hop distances to the
    /// nearest router holding each skill (one multi-source breadth-first search per skill), and a router
    /// holding the skill serves the request itself.
    pub fn for_task(topology: &Topology, task: &Task) -> Self {
        let Task::Skills(k) = task else { return Self::new(topology) };
        let n = topology.n_nodes() as usize;
        let mut dist = vec![u32::MAX; k.n_skills as usize * n];
        let mut queue = std::collections::VecDeque::new();
        for skill in 0..k.n_skills {
            let row = &mut dist[skill as usize * n..(skill as usize + 1) * n];
            for v in 0..n as u32 {
                if k.holds(v, skill) {
                    row[v as usize] = 0;
                    queue.push_back(v);
                }
            }
            while let Some(u) = queue.pop_front() {
                for &w in topology.neighbours(u) {
                    if row[w as usize] == u32::MAX {
                        row[w as usize] = row[u as usize] + 1;
                        queue.push_back(w);
                    }
                }
            }
        }
        ShortestPaths { n, dist, skills: Some(Arc::clone(k)) }
    }

    /// Hops from `from` to `to`.
    pub fn distance(&self, from: u32, to: u32) -> u32 {
        self.dist[to as usize * self.n + from as usize]
    }

    /// The action (neighbour index) of router `at` for a packet to `dest`: uniform among the neighbours one
    /// hop closer to `dest`.
    pub fn action(&self, topology: &Topology, at: u32, dest: u32, rng: &mut Rng) -> ActionId {
        if let Some(k) = &self.skills {
            if k.holds(at, dest) {
                return ActionId(topology.degree(at) as u16);
            }
        }
        let row = &self.dist[dest as usize * self.n..(dest as usize + 1) * self.n];
        let want = row[at as usize].saturating_sub(1);
        let mut choice = None;
        let mut ties = 1usize;
        for (k, &y) in topology.neighbours(at).iter().enumerate() {
            if row[y as usize] == want && (choice.is_none() || replace_on_tie(rng, &mut ties)) {
                choice = Some(k);
            }
        }
        let choice = choice.unwrap_or(0);
        ActionId(choice as u16)
    }
}
