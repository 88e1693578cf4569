//! Network topologies for the packet-routing simulator: routers `0..n` joined by undirected links.
//!
//! A [`Topology`] is always connected, has no self loops and no duplicate links, and stores its adjacency in
//! compressed sparse row (CSR) form with every neighbour list sorted increasing, so
//! [`Topology::link_index`] is a binary search and a per-link table can be indexed by
//! `offsets[from] + link_index(from, to)`.
//!
//! Sources:
//! - [`Topology::parse_edges`]: the `.edges` text format (below), e.g. the shipped `irregular-6x6`, `nsfnet`,
//!   `geant2` and `gbn` networks;
//! - [`Topology::from_links`]: a node count and a list of links, validated by the same rules;
//! - generators: [`Topology::grid`], [`Topology::hypercube`], [`Topology::random_geometric`] (O(n) expected
//!   time with a cell grid; 10^5 nodes in well under a second in release builds).
//!
//! ## The `.edges` format
//!
//! ```text
//! # comments start with '#', anywhere on a line; blank lines are ignored
//! nodes 4        # the first non-comment line: the node count N >= 1
//! 0 1            # then one undirected link `a b` per line, 0-based ids below N
//! 1 2
//! 2 3
//! ```
//!
//! Rejected, with the 1-based line number: a missing or malformed header, `N = 0`, a line without exactly two
//! tokens, an id that is not a non-negative integer, an id `>= N`, a self loop `a a`, and a link listed twice
//! in either orientation (the message names the line of the first listing). A graph that is not connected
//! (including one with an isolated node) is rejected as [`TopologyError::Disconnected`].

use std::collections::HashMap;
use std::path::Path;

use baton_core::Rng;
use rand::Rng as _;

/// The most nodes a generator builds, so that every count and CSR offset fits in `u32`.
const MAX_GENERATED_NODES: u64 = 1 << 28;

/// The most links any topology holds: both directions of every link must fit the `u32` CSR offsets.
const MAX_LINKS: usize = (u32::MAX / 2) as usize;

/// How many samples [`Topology::random_geometric`] draws before giving up on connectivity.
const RANDOM_GEOMETRIC_ATTEMPTS: u32 = 20;

/// The default radius of [`Topology::random_geometric`] is this factor times the connectivity scale
/// `sqrt(2 ln n / (pi n))`.
const RANDOM_GEOMETRIC_RADIUS_FACTOR: f64 = 1.2;

/// An undirected, connected graph in CSR form. Neighbour lists sorted increasing.
///
/// The neighbours of node `v` are `neighbours[offsets[v]..offsets[v + 1]]`; every link `a-b` appears twice,
/// once in each endpoint's list. Construct with [`Topology::parse_edges`], [`Topology::from_links`] or one of
/// the generators; all of them guarantee connectivity, no self loops and no duplicate links.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    /// A short human-readable name (`irregular-6x6`, `grid-6x6`, `hypercube-4`, ...).
    name: String,
    /// `n + 1` offsets into `neighbours`; `offsets[0] = 0`, `offsets[n] = 2 * links`.
    offsets: Vec<u32>,
    /// The concatenated neighbour lists, each sorted increasing.
    neighbours: Vec<u32>,
    /// Node coordinates for plotting, when the source has them (grid, random geometric).
    positions: Option<Vec<[f64; 2]>>,
}

/// Why a topology was rejected. Display text must name the source (file path or generator) and, for
/// parse errors, the 1-based line number, and say the reason plainly.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TopologyError {
    /// The text (or link list) breaks the format: bad header, bad token, bad id, self loop, duplicate link,
    /// wrong number of tokens.
    #[error("{source_name}, line {line}: {reason}")]
    Parse {
        /// The file path (or topology name for [`Topology::from_links`], where `line` is the 1-based index of
        /// the link in the list).
        source_name: String,
        /// The 1-based line number of the offending line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The graph is not connected: `node` (the lowest such id) cannot be reached from node 0.
    #[error(
        "{source_name}: the network is disconnected: node {node} cannot be reached from node 0 \
         (node 0's component has {component_size} of {n} nodes)"
    )]
    Disconnected {
        /// The file path, topology name or generator call.
        source_name: String,
        /// The lowest node id not reachable from node 0.
        node: u32,
        /// How many nodes node 0 reaches (itself included).
        component_size: usize,
        /// The total number of nodes.
        n: usize,
    },
    /// A generator or method argument is out of range.
    #[error("invalid topology parameter `{field}`: {reason}")]
    InvalidGenerator {
        /// The generator (or method) and argument, dotted: `grid.rows`, `hypercube.dim`,
        /// `random_geometric.radius`, `regions.k`, `without_link.link`, `from_links.n`.
        field: String,
        /// Why the value is rejected.
        reason: String,
    },
}

impl TopologyError {
    fn parse(source_name: &str, line: usize, reason: String) -> Self {
        TopologyError::Parse { source_name: source_name.to_string(), line, reason }
    }

    fn invalid(field: &str, reason: String) -> Self {
        TopologyError::InvalidGenerator { field: field.to_string(), reason }
    }
}

/// The topologies built into baton, by name: the `.edges` files of the repository's `data/routing/` folder,
/// compiled in so that a binary installed anywhere runs them without a data directory.
pub const BUILTIN: [(&str, &str); 4] = [
    ("irregular-6x6", include_str!("../../../../data/routing/irregular-6x6.edges")),
    ("nsfnet", include_str!("../../../../data/routing/nsfnet.edges")),
    ("geant2", include_str!("../../../../data/routing/geant2.edges")),
    ("gbn", include_str!("../../../../data/routing/gbn.edges")),
];

impl Topology {
    /// A built-in topology by name (see [`BUILTIN`]); `None` for an unknown name.
    pub fn builtin(name: &str) -> Option<Result<Topology, TopologyError>> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Some(Topology::parse_edges(text, &format!("builtin/{name}.edges")))
    }

    /// Parses the `.edges` format (see the module docs). `source_name` (usually the file path) is used in
    /// error messages; the topology's name is its file stem (`/data/nsfnet.edges` -> `nsfnet`).
    pub fn parse_edges(text: &str, source_name: &str) -> Result<Topology, TopologyError> {
        let mut header: Option<(usize, LinkSet<'_>)> = None;
        let mut last_line = 0;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            last_line = line;
            let content = raw.find('#').map_or(raw, |at| &raw[..at]);
            let mut tokens = content.split_whitespace();
            let Some(first) = tokens.next() else { continue };
            let second = tokens.next();
            let extra = tokens.count();
            let shown = content.trim();
            match &mut header {
                None => {
                    if first != "nodes" {
                        return Err(TopologyError::parse(
                            source_name,
                            line,
                            format!("expected the header `nodes N` as the first non-comment line, found `{shown}`"),
                        ));
                    }
                    let (Some(count), 0) = (second, extra) else {
                        return Err(TopologyError::parse(
                            source_name,
                            line,
                            format!("the header must be exactly `nodes N` (two tokens), found `{shown}`"),
                        ));
                    };
                    let n: u32 = count.parse().map_err(|_| {
                        TopologyError::parse(
                            source_name,
                            line,
                            format!("node count `{count}` is not a whole number in 1..={}", u32::MAX),
                        )
                    })?;
                    if n == 0 {
                        return Err(TopologyError::parse(
                            source_name,
                            line,
                            "node count must be at least 1, found 0".to_string(),
                        ));
                    }
                    header = Some((line, LinkSet::new(source_name, n)));
                }
                Some((header_line, links)) => {
                    if first == "nodes" {
                        return Err(TopologyError::parse(
                            source_name,
                            line,
                            format!(
                                "second header `{shown}`: the header `nodes N` was already given on line {header_line}"
                            ),
                        ));
                    }
                    let (Some(second), 0) = (second, extra) else {
                        let found = 1 + usize::from(second.is_some()) + extra;
                        return Err(TopologyError::parse(
                            source_name,
                            line,
                            format!("expected a link `a b` (two node ids), found {found} token(s): `{shown}`"),
                        ));
                    };
                    let a = parse_id(first, source_name, line)?;
                    let b = parse_id(second, source_name, line)?;
                    links.add(line, a, b)?;
                }
            }
        }
        let Some((_, links)) = header else {
            return Err(TopologyError::parse(
                source_name,
                last_line.max(1),
                "missing the header `nodes N`: the text has no non-comment line".to_string(),
            ));
        };
        let name = Path::new(source_name).file_stem().and_then(|stem| stem.to_str()).unwrap_or(source_name);
        links.finish(name)
    }

    /// Builds a topology named `name` with nodes `0..n` and the given undirected links, validated by the same
    /// rules as [`Topology::parse_edges`]: errors use `name` as the source and the 1-based index of the link
    /// in `links` as the line. `n = 0` is an [`TopologyError::InvalidGenerator`] (`from_links.n`).
    pub fn from_links(name: &str, n: u32, links: &[(u32, u32)]) -> Result<Topology, TopologyError> {
        if n == 0 {
            return Err(TopologyError::invalid("from_links.n", format!("{name}: a topology needs at least one node")));
        }
        let mut set = LinkSet::new(name, n);
        for (index, &(a, b)) in links.iter().enumerate() {
            set.add(index + 1, a, b)?;
        }
        set.finish(name)
    }

    /// The `rows x cols` grid with 4-neighbour links, named `grid-{rows}x{cols}`: node `r * cols + c` sits at
    /// row `r`, column `c`, position `[c, r]`. Both sides must be at least 1, and `rows * cols <= 2^28`.
    pub fn grid(rows: u32, cols: u32) -> Result<Topology, TopologyError> {
        for (field, value) in [("grid.rows", rows), ("grid.cols", cols)] {
            if value == 0 {
                return Err(TopologyError::invalid(field, "must be at least 1, got 0".to_string()));
            }
        }
        let total = u64::from(rows) * u64::from(cols);
        if total > MAX_GENERATED_NODES {
            return Err(TopologyError::invalid(
                "grid.rows",
                format!("a {rows}x{cols} grid has {total} nodes, more than the limit of {MAX_GENERATED_NODES}"),
            ));
        }
        let n = total as usize;
        let mut offsets = Vec::with_capacity(n + 1);
        let mut neighbours = Vec::with_capacity(4 * n);
        let mut positions = Vec::with_capacity(n);
        offsets.push(0);
        for r in 0..rows {
            for c in 0..cols {
                let v = r * cols + c;
                // Pushed in increasing id order: up, left, right, down.
                if r > 0 {
                    neighbours.push(v - cols);
                }
                if c > 0 {
                    neighbours.push(v - 1);
                }
                if c + 1 < cols {
                    neighbours.push(v + 1);
                }
                if r + 1 < rows {
                    neighbours.push(v + cols);
                }
                offsets.push(neighbours.len() as u32);
                positions.push([f64::from(c), f64::from(r)]);
            }
        }
        Ok(Topology { name: format!("grid-{rows}x{cols}"), offsets, neighbours, positions: Some(positions) })
    }

    /// The `dim`-dimensional hypercube, named `hypercube-{dim}`: `2^dim` nodes, node `v` linked to
    /// `v ^ (1 << bit)` for every `bit < dim`, so every node has degree `dim`. `dim` must be in `1..=20`.
    pub fn hypercube(dim: u32) -> Result<Topology, TopologyError> {
        if !(1..=20).contains(&dim) {
            return Err(TopologyError::invalid("hypercube.dim", format!("must be in 1..=20, got {dim}")));
        }
        let n = 1u32 << dim;
        let mut offsets = Vec::with_capacity(n as usize + 1);
        let mut neighbours = Vec::with_capacity(n as usize * dim as usize);
        offsets.push(0);
        for v in 0..n {
            let start = neighbours.len();
            neighbours.extend((0..dim).map(|bit| v ^ (1 << bit)));
            neighbours[start..].sort_unstable();
            offsets.push(neighbours.len() as u32);
        }
        Ok(Topology { name: format!("hypercube-{dim}"), offsets, neighbours, positions: None })
    }

    /// Random geometric graph in the unit square: n points uniform, link when distance <= radius.
    ///
    /// Each point draws `x` then `y` with `rng.random::<f64>()`, in node order. The default radius (`None`) is
    /// `min(1.2 * sqrt(2 ln n / (pi n)), sqrt 2)`: 1.2 times a scale at which isolated nodes are already rare,
    /// for a mean degree of about `2.9 ln n` in the interior (a little less near the border; about 26 at
    /// `n = 10^4`). Links are found through a grid of cells at least `radius` wide, so the expected time is
    /// O(n + links). Named `random-geometric-n{n}-r{radius:.4}`; positions are the sampled points.
    ///
    /// If the sample is disconnected, resample (up to 20 attempts) from the same rng, then return
    /// Disconnected (for the last sample). Errors: `n < 2` or `n > 2^28` (`random_geometric.n`); a radius that
    /// is not finite and positive, or so large that the graph would have more than 2^30 links expected
    /// (`random_geometric.radius`).
    pub fn random_geometric(n: u32, radius: Option<f64>, rng: &mut Rng) -> Result<Topology, TopologyError> {
        if n < 2 || u64::from(n) > MAX_GENERATED_NODES {
            return Err(TopologyError::invalid(
                "random_geometric.n",
                format!("must be in 2..={MAX_GENERATED_NODES}, got {n}"),
            ));
        }
        let nf = f64::from(n);
        let radius = match radius {
            Some(r) if r.is_finite() && r > 0.0 => r,
            Some(r) => {
                return Err(TopologyError::invalid(
                    "random_geometric.radius",
                    format!("must be finite and greater than 0, got {r}"),
                ));
            }
            None => (RANDOM_GEOMETRIC_RADIUS_FACTOR * (2.0 * nf.ln() / (std::f64::consts::PI * nf)).sqrt())
                .min(std::f64::consts::SQRT_2),
        };
        let expected_links = nf * (nf - 1.0) / 2.0 * (std::f64::consts::PI * radius * radius).min(1.0);
        if expected_links > (1u64 << 30) as f64 {
            return Err(TopologyError::invalid(
                "random_geometric.radius",
                format!("radius {radius} with {n} nodes gives about {expected_links:.0} links, more than 2^30"),
            ));
        }
        let name = format!("random-geometric-n{n}-r{radius:.4}");
        let mut attempt = 1;
        loop {
            let topology = Self::sample_geometric(&name, n as usize, radius, rng)?;
            match topology.check_connected(&name) {
                Ok(()) => return Ok(topology),
                Err(TopologyError::Disconnected { node, component_size, n, .. })
                    if attempt >= RANDOM_GEOMETRIC_ATTEMPTS =>
                {
                    return Err(TopologyError::Disconnected {
                        source_name: format!(
                            "random_geometric(n = {n}, radius = {radius}) after {RANDOM_GEOMETRIC_ATTEMPTS} samples"
                        ),
                        node,
                        component_size,
                        n,
                    });
                }
                Err(_) => attempt += 1,
            }
        }
    }

    /// One random geometric sample (not checked for connectivity).
    fn sample_geometric(name: &str, n: usize, radius: f64, rng: &mut Rng) -> Result<Topology, TopologyError> {
        let positions: Vec<[f64; 2]> = (0..n)
            .map(|_| {
                let x = rng.random::<f64>();
                let y = rng.random::<f64>();
                [x, y]
            })
            .collect();
        // Cells at least `radius` wide, at most about `n` of them.
        let side = ((1.0 / radius).floor() as usize).clamp(1, (n as f64).sqrt().ceil() as usize);
        let cell_of = |p: [f64; 2]| -> (usize, usize) {
            let cx = ((p[0] * side as f64) as usize).min(side - 1);
            let cy = ((p[1] * side as f64) as usize).min(side - 1);
            (cx, cy)
        };
        // Counting sort of the points by cell; ids stay increasing within a cell.
        let mut cell_start = vec![0u32; side * side + 1];
        for &p in &positions {
            let (cx, cy) = cell_of(p);
            cell_start[cy * side + cx + 1] += 1;
        }
        for i in 1..cell_start.len() {
            cell_start[i] += cell_start[i - 1];
        }
        let mut fill = cell_start.clone();
        // Ids and coordinates grouped by cell, so each cell's scan reads contiguous memory.
        let mut cell_points = vec![0u32; n];
        let mut cell_positions = vec![[0.0; 2]; n];
        for (v, &p) in positions.iter().enumerate() {
            let (cx, cy) = cell_of(p);
            let slot = &mut fill[cy * side + cx];
            cell_points[*slot as usize] = v as u32;
            cell_positions[*slot as usize] = p;
            *slot += 1;
        }
        let r2 = radius * radius;
        let mut offsets = Vec::with_capacity(n + 1);
        let mut neighbours: Vec<u32> = Vec::new();
        offsets.push(0u32);
        for (v, &p) in positions.iter().enumerate() {
            let (cx, cy) = cell_of(p);
            let start = neighbours.len();
            for ny in cy.saturating_sub(1)..=(cy + 1).min(side - 1) {
                for nx in cx.saturating_sub(1)..=(cx + 1).min(side - 1) {
                    let cell = ny * side + nx;
                    let range = cell_start[cell] as usize..cell_start[cell + 1] as usize;
                    for (&w, q) in cell_points[range.clone()].iter().zip(&cell_positions[range]) {
                        let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
                        // The same expression from both ends, so the adjacency is symmetric.
                        if w as usize != v && dx * dx + dy * dy <= r2 {
                            neighbours.push(w);
                        }
                    }
                }
            }
            neighbours[start..].sort_unstable();
            let end = u32::try_from(neighbours.len()).map_err(|_| {
                TopologyError::invalid(
                    "random_geometric.radius",
                    format!("{name}: the sample has more than {MAX_LINKS} links"),
                )
            })?;
            offsets.push(end);
        }
        Ok(Topology { name: name.to_string(), offsets, neighbours, positions: Some(positions) })
    }

    /// The topology's name (file stem, `grid-6x6`, `hypercube-4`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of nodes; ids are `0..n_nodes()`.
    pub fn n_nodes(&self) -> u32 {
        (self.offsets.len() - 1) as u32
    }

    /// The number of undirected links.
    pub fn n_links(&self) -> usize {
        self.neighbours.len() / 2
    }

    /// The neighbours of `node`, sorted increasing. Panics if `node >= n_nodes()`.
    #[inline]
    pub fn neighbours(&self, node: u32) -> &[u32] {
        let v = node as usize;
        &self.neighbours[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }

    /// Where `node`'s list starts in the concatenated neighbour lists: `neighbour_offset(v) + k` (with
    /// `k < degree(v)`, e.g. from [`Topology::link_index`]) indexes a per-directed-link table of
    /// [`Topology::neighbours_len`] entries. Panics if `node >= n_nodes()`.
    #[inline]
    pub fn neighbour_offset(&self, node: u32) -> usize {
        self.offsets[node as usize] as usize
    }

    /// The total length of all neighbour lists: `2 * n_links()`, one slot per directed link.
    #[inline]
    pub fn neighbours_len(&self) -> usize {
        self.neighbours.len()
    }

    /// The number of links at `node`. Panics if `node >= n_nodes()`.
    #[inline]
    pub fn degree(&self, node: u32) -> usize {
        let v = node as usize;
        (self.offsets[v + 1] - self.offsets[v]) as usize
    }

    /// The largest degree of any node.
    pub fn max_degree(&self) -> usize {
        self.offsets.windows(2).map(|w| (w[1] - w[0]) as usize).max().unwrap_or(0)
    }

    /// Node coordinates, when the source defines them (grid: `[column, row]`; random geometric: the point in
    /// the unit square); `None` for parsed files, hypercubes and [`Topology::from_links`].
    pub fn positions(&self) -> Option<&[[f64; 2]]> {
        self.positions.as_deref()
    }

    /// Every undirected link once, as `(a, b)` with `a < b`, in increasing `(a, b)` order.
    pub fn links(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.n_nodes()).flat_map(move |a| {
            let list = self.neighbours(a);
            let first_larger = list.partition_point(|&b| b < a);
            list[first_larger..].iter().map(move |&b| (a, b))
        })
    }

    /// Index of `to` in `neighbours(from)` (binary search), None if not linked.
    ///
    /// Panics if `from >= n_nodes()`.
    #[inline]
    pub fn link_index(&self, from: u32, to: u32) -> Option<usize> {
        self.neighbours(from).binary_search(&to).ok()
    }

    /// BFS hop distances from `source` to every node (u32::MAX unreachable).
    ///
    /// A [`Topology`] is connected, so every entry is finite; `u32::MAX` cannot occur. Panics if
    /// `source >= n_nodes()`.
    pub fn hop_distances(&self, source: u32) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.n_nodes() as usize];
        bfs(&self.offsets, &self.neighbours, source, &mut dist);
        dist
    }

    /// The offered load at which random shortest-path routing saturates its busiest router: `1 / max_v share(v)`,
    /// where `share(v)` is the expected number of times a packet with a uniform source and destination
    /// (distinct) is relayed by `v`, each packet taking a random shortest path (at every hop a uniform choice
    /// among the neighbours one hop closer, as [`super::ShortestPaths`] routes). A packet takes no service slot
    /// at its source or its destination (model.md 6.2), so only relays count. B&L's 6x6 grid: 2.34 (router 21
    /// relays 538 of the 1260 routes). Routing experiments scale their loads by it (docs/routing-presets.md).
    /// One breadth-first search per destination: `O(n (n + links))`.
    pub fn saturation_load(&self) -> f64 {
        let n = self.n_nodes() as usize;
        let mut relayed = vec![0.0f64; n];
        let mut flow = vec![0.0f64; n];
        let mut dist = vec![u32::MAX; n];
        let mut order: Vec<u32> = (0..n as u32).collect();
        for d in 0..n as u32 {
            dist.fill(u32::MAX);
            bfs(&self.offsets, &self.neighbours, d, &mut dist);
            // Every other router sends one packet to `d`; push the flows from the farthest routers inwards.
            order.sort_unstable_by_key(|&v| std::cmp::Reverse(dist[v as usize]));
            flow.fill(1.0);
            flow[d as usize] = 0.0;
            for &v in &order {
                if v == d {
                    continue;
                }
                let f = flow[v as usize];
                // Its own packet takes no slot at its source; every other packet it holds is relayed.
                relayed[v as usize] += f - 1.0;
                let closer = self.neighbours(v).iter().filter(|&&w| dist[w as usize] + 1 == dist[v as usize]);
                let k = closer.clone().count() as f64;
                for &w in closer {
                    flow[w as usize] += f / k;
                }
            }
        }
        let pairs = (n * (n - 1)) as f64;
        let busiest = relayed.iter().copied().fold(0.0, f64::max) / pairs;
        if busiest > 0.0 {
            1.0 / busiest
        } else {
            f64::INFINITY
        }
    }

    /// A copy without the link a-b (for link-failure scenarios), named `{name}-without-{lo}-{hi}`.
    ///
    /// Errors: [`TopologyError::InvalidGenerator`] (`without_link.link`) if `a-b` is not a link (including an
    /// id out of range); [`TopologyError::Disconnected`] if `a-b` is a bridge, so removing it disconnects the
    /// graph.
    pub fn without_link(&self, a: u32, b: u32) -> Result<Topology, TopologyError> {
        let n = self.n_nodes();
        if a >= n || b >= n || self.link_index(a, b).is_none() {
            return Err(TopologyError::invalid(
                "without_link.link",
                format!("{} (nodes 0..{n}) has no link {a}-{b}", self.name),
            ));
        }
        let mut offsets = Vec::with_capacity(self.offsets.len());
        let mut neighbours = Vec::with_capacity(self.neighbours.len() - 2);
        offsets.push(0);
        for v in 0..n {
            let skip = if v == a {
                Some(b)
            } else if v == b {
                Some(a)
            } else {
                None
            };
            neighbours.extend(self.neighbours(v).iter().copied().filter(|&w| Some(w) != skip));
            offsets.push(neighbours.len() as u32);
        }
        let (lo, hi) = (a.min(b), a.max(b));
        let topology = Topology {
            name: format!("{}-without-{lo}-{hi}", self.name),
            offsets,
            neighbours,
            positions: self.positions.clone(),
        };
        topology.check_connected(&format!("{} without link {lo}-{hi}", self.name))?;
        Ok(topology)
    }

    /// Partition into `k` connected regions (1 <= k <= n): centres by farthest-point sampling in hop distance
    /// starting from node 0 (ties: lowest id), then every node joins its nearest centre by one multi-source BFS
    /// (ties: lowest centre index, which keeps regions connected). Returns region id per node, ids 0..k.
    /// Deterministic, no rng.
    ///
    /// Region `i` contains its centre (the `i`-th sampled; centre 0 is node 0), and every node of region `i`
    /// has a neighbour one hop closer to centre `i` in the same region, hence connectivity. Time
    /// O(k * n + n + links) (each new centre updates the distances by a BFS pruned to the nodes it brings
    /// closer). Errors: `k` outside `1..=n` (`regions.k`).
    pub fn regions(&self, k: u32) -> Result<Vec<u32>, TopologyError> {
        let n = self.n_nodes();
        if k == 0 || k > n {
            return Err(TopologyError::invalid("regions.k", format!("{}: must be in 1..={n}, got {k}", self.name)));
        }
        // Farthest-point sampling: `nearest[v]` is the hop distance from v to the closest centre so far.
        let mut nearest = self.hop_distances(0);
        let mut centres = Vec::with_capacity(k as usize);
        centres.push(0u32);
        let mut queue: Vec<u32> = Vec::new();
        while centres.len() < k as usize {
            let mut best = 0usize;
            for (v, &d) in nearest.iter().enumerate() {
                if d > nearest[best] {
                    best = v;
                }
            }
            centres.push(best as u32);
            // Pruned BFS: only nodes the new centre brings strictly closer are updated and expanded. Exact,
            // because `nearest` changes by at most 1 across a link, so every node on a shortest path to an
            // improved node is itself improved.
            nearest[best] = 0;
            queue.clear();
            queue.push(best as u32);
            let mut head = 0;
            while let Some(&u) = queue.get(head) {
                head += 1;
                let next = nearest[u as usize] + 1;
                for &w in self.neighbours(u) {
                    if next < nearest[w as usize] {
                        nearest[w as usize] = next;
                        queue.push(w);
                    }
                }
            }
        }
        // Multi-source BFS, level by level: a node at distance d + 1 takes the lowest region among its
        // neighbours at distance d, which is the lowest-index nearest centre.
        let mut dist = vec![u32::MAX; n as usize];
        let mut region = vec![u32::MAX; n as usize];
        queue.clear();
        for (index, &c) in centres.iter().enumerate() {
            dist[c as usize] = 0;
            region[c as usize] = index as u32;
            queue.push(c);
        }
        let mut head = 0;
        while let Some(&u) = queue.get(head) {
            head += 1;
            let (next, own) = (dist[u as usize] + 1, region[u as usize]);
            for &w in self.neighbours(u) {
                let w = w as usize;
                if dist[w] == u32::MAX {
                    dist[w] = next;
                    region[w] = own;
                    queue.push(w as u32);
                } else if dist[w] == next && own < region[w] {
                    region[w] = own;
                }
            }
        }
        Ok(region)
    }

    /// `Ok` if every node is reachable from node 0, else [`TopologyError::Disconnected`] naming the lowest
    /// unreachable node.
    fn check_connected(&self, source_name: &str) -> Result<(), TopologyError> {
        let dist = self.hop_distances(0);
        match dist.iter().position(|&d| d == u32::MAX) {
            None => Ok(()),
            Some(node) => Err(TopologyError::Disconnected {
                source_name: source_name.to_string(),
                node: node as u32,
                component_size: dist.iter().filter(|&&d| d != u32::MAX).count(),
                n: dist.len(),
            }),
        }
    }
}

/// Parses one node id of an `.edges` link line.
fn parse_id(token: &str, source_name: &str, line: usize) -> Result<u32, TopologyError> {
    token.parse().map_err(|_| {
        TopologyError::parse(source_name, line, format!("node id `{token}` is not a non-negative whole number"))
    })
}

/// Links collected under the validation rules shared by [`Topology::parse_edges`] and
/// [`Topology::from_links`].
struct LinkSet<'a> {
    source_name: &'a str,
    n: u32,
    links: Vec<(u32, u32)>,
    /// The line of the first listing of each link, keyed `(min, max)`.
    first_line: HashMap<(u32, u32), usize>,
}

impl<'a> LinkSet<'a> {
    fn new(source_name: &'a str, n: u32) -> Self {
        LinkSet { source_name, n, links: Vec::new(), first_line: HashMap::new() }
    }

    /// Adds link `a-b` listed on `line`, or says why it is rejected.
    fn add(&mut self, line: usize, a: u32, b: u32) -> Result<(), TopologyError> {
        let n = self.n;
        for id in [a, b] {
            if id >= n {
                return Err(TopologyError::parse(
                    self.source_name,
                    line,
                    format!("node id {id} is out of range: with {n} nodes the ids are 0..={}", n - 1),
                ));
            }
        }
        if a == b {
            return Err(TopologyError::parse(
                self.source_name,
                line,
                format!("self loop {a}-{b}: a link must join two different nodes"),
            ));
        }
        if self.links.len() >= MAX_LINKS {
            return Err(TopologyError::parse(self.source_name, line, format!("more than {MAX_LINKS} links")));
        }
        let key = (a.min(b), a.max(b));
        if let Some(first) = self.first_line.insert(key, line) {
            return Err(TopologyError::parse(
                self.source_name,
                line,
                format!("duplicate link {a}-{b}: already listed on line {first}"),
            ));
        }
        self.links.push(key);
        Ok(())
    }

    /// The validated topology, or [`TopologyError::Disconnected`].
    fn finish(self, name: &str) -> Result<Topology, TopologyError> {
        let n = self.n;
        if u64::from(n) > self.links.len() as u64 + 1 {
            // Too few links to connect n nodes; find the culprit without allocating O(n).
            return Err(sparse_disconnected(self.source_name, n, &self.links));
        }
        let (offsets, neighbours) = build_csr(n as usize, &self.links);
        let topology = Topology { name: name.to_string(), offsets, neighbours, positions: None };
        topology.check_connected(self.source_name)?;
        Ok(topology)
    }
}

/// CSR adjacency of `n` nodes from valid links (no self loops, no duplicates, ids below `n`, at most
/// [`MAX_LINKS`]), each list sorted increasing.
fn build_csr(n: usize, links: &[(u32, u32)]) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; n + 1];
    for &(a, b) in links {
        offsets[a as usize + 1] += 1;
        offsets[b as usize + 1] += 1;
    }
    for v in 1..=n {
        offsets[v] += offsets[v - 1];
    }
    let mut fill = offsets.clone();
    let mut neighbours = vec![0u32; 2 * links.len()];
    for &(a, b) in links {
        for (from, to) in [(a, b), (b, a)] {
            let slot = &mut fill[from as usize];
            neighbours[*slot as usize] = to;
            *slot += 1;
        }
    }
    for v in 0..n {
        neighbours[offsets[v] as usize..offsets[v + 1] as usize].sort_unstable();
    }
    (offsets, neighbours)
}

/// Breadth-first search over a CSR adjacency: fills `dist` (pre-set to `u32::MAX`) with hop counts from
/// `source`.
fn bfs(offsets: &[u32], neighbours: &[u32], source: u32, dist: &mut [u32]) {
    let mut queue = Vec::with_capacity(dist.len());
    dist[source as usize] = 0;
    queue.push(source);
    let mut head = 0;
    while let Some(&u) = queue.get(head) {
        head += 1;
        let next = dist[u as usize] + 1;
        for &w in &neighbours[offsets[u as usize] as usize..offsets[u as usize + 1] as usize] {
            if dist[w as usize] == u32::MAX {
                dist[w as usize] = next;
                queue.push(w);
            }
        }
    }
}

/// The [`TopologyError::Disconnected`] for `n` nodes joined by fewer than `n - 1` valid links, computed in
/// O(links) memory by working on the node ids that occur (plus node 0) only.
fn sparse_disconnected(source_name: &str, n: u32, links: &[(u32, u32)]) -> TopologyError {
    let mut ids: Vec<u32> = links.iter().flat_map(|&(a, b)| [a, b]).chain([0]).collect();
    ids.sort_unstable();
    ids.dedup();
    let compact = |id: u32| ids.partition_point(|&x| x < id) as u32;
    let compact_links: Vec<(u32, u32)> = links.iter().map(|&(a, b)| (compact(a), compact(b))).collect();
    let (offsets, neighbours) = build_csr(ids.len(), &compact_links);
    let mut dist = vec![u32::MAX; ids.len()];
    bfs(&offsets, &neighbours, compact(0), &mut dist);
    // The reached ids, increasing; the first id missing from them is the lowest unreachable node. There is
    // one below n because the component has at most links + 1 < n nodes.
    let reached: Vec<u32> = ids.iter().zip(&dist).filter(|(_, &d)| d != u32::MAX).map(|(&id, _)| id).collect();
    let node =
        reached.iter().zip(0u32..).find(|&(&id, expected)| id != expected).map_or(reached.len() as u32, |(_, e)| e);
    TopologyError::Disconnected {
        source_name: source_name.to_string(),
        node,
        component_size: reached.len(),
        n: n as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::rng::{stream, Stream};

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/routing/");

    fn shipped(file: &str) -> Topology {
        let path = format!("{DATA}{file}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        Topology::parse_edges(&text, &path).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Structural invariants every topology must satisfy.
    fn assert_well_formed(t: &Topology) {
        let n = t.n_nodes();
        assert_eq!(t.offsets.len(), n as usize + 1);
        assert_eq!(t.offsets[0], 0);
        assert_eq!(*t.offsets.last().unwrap() as usize, t.neighbours.len());
        for v in 0..n {
            let list = t.neighbours(v);
            assert!(list.windows(2).all(|w| w[0] < w[1]), "neighbours of {v} not strictly increasing");
            for (i, &w) in list.iter().enumerate() {
                assert_ne!(w, v, "self loop at {v}");
                assert!(w < n);
                assert!(t.link_index(w, v).is_some(), "link {v}-{w} not symmetric");
                assert_eq!(t.link_index(v, w), Some(i));
            }
        }
        assert_eq!(t.links().count(), t.n_links());
        assert!(t.links().all(|(a, b)| a < b));
        assert!(t.hop_distances(0).iter().all(|&d| d != u32::MAX), "{} not connected", t.name());
        if let Some(p) = t.positions() {
            assert_eq!(p.len(), n as usize);
        }
    }

    fn path_graph(n: u32) -> Topology {
        let links: Vec<(u32, u32)> = (1..n).map(|v| (v - 1, v)).collect();
        Topology::from_links("path", n, &links).unwrap()
    }

    fn parse_err(text: &str) -> (usize, String) {
        match Topology::parse_edges(text, "test.edges") {
            Err(TopologyError::Parse { source_name, line, reason }) => {
                assert_eq!(source_name, "test.edges");
                (line, reason)
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn shipped_files_parse_with_documented_counts() {
        for (file, name, nodes, links) in [
            ("irregular-6x6.edges", "irregular-6x6", 36, 50),
            ("nsfnet.edges", "nsfnet", 14, 21),
            ("geant2.edges", "geant2", 24, 37),
            ("gbn.edges", "gbn", 17, 26),
        ] {
            let t = shipped(file);
            assert_well_formed(&t);
            assert_eq!(t.name(), name);
            assert_eq!(t.n_nodes(), nodes, "{file}");
            assert_eq!(t.n_links(), links, "{file}");
            assert!(t.positions().is_none());
            let built_in = Topology::builtin(name).expect("built in").unwrap();
            assert_eq!(built_in, t, "built-in {name} differs from data/routing/{file}");
        }
        assert_eq!(BUILTIN.len(), 4);
        assert!(Topology::builtin("nsfnet.edges").is_none());
    }

    #[test]
    fn irregular_halves_joined_by_two_links() {
        let t = shipped("irregular-6x6.edges");
        assert!(t.link_index(20, 21).is_some() && t.link_index(32, 33).is_some());
        let one = t.without_link(20, 21).unwrap();
        assert_well_formed(&one);
        assert_eq!(one.n_links(), 49);
        assert!(one.link_index(20, 21).is_none() && one.link_index(21, 20).is_none());
        assert_eq!(one.name(), "irregular-6x6-without-20-21");
        let other = t.without_link(33, 32).unwrap();
        assert_eq!(other.n_links(), 49);
        // Removing both cuts the network in two.
        match one.without_link(32, 33) {
            Err(TopologyError::Disconnected { component_size, n: 36, .. }) => assert!(component_size < 36),
            other => panic!("expected Disconnected, got {other:?}"),
        }
    }

    #[test]
    fn without_link_keeps_everything_else() {
        let g = Topology::grid(3, 3).unwrap();
        let cut = g.without_link(4, 5).unwrap();
        let before: Vec<_> = g.links().filter(|&l| l != (4, 5)).collect();
        assert_eq!(cut.links().collect::<Vec<_>>(), before);
        assert_eq!(cut.positions(), g.positions());
    }

    #[test]
    fn without_link_refuses_bridge_and_missing_link() {
        let p = path_graph(4);
        let err = p.without_link(1, 2).unwrap_err();
        assert_eq!(
            err,
            TopologyError::Disconnected {
                source_name: "path without link 1-2".to_string(),
                node: 2,
                component_size: 2,
                n: 4
            }
        );
        assert!(err.to_string().contains("node 2 cannot be reached from node 0"), "{err}");
        for (a, b) in [(0, 2), (0, 0), (0, 9)] {
            let err = p.without_link(a, b).unwrap_err();
            assert!(matches!(&err, TopologyError::InvalidGenerator { field, .. } if field == "without_link.link"));
            assert!(err.to_string().contains(&format!("no link {a}-{b}")), "{err}");
        }
    }

    #[test]
    fn grid_counts_and_layout() {
        let g = Topology::grid(6, 6).unwrap();
        assert_well_formed(&g);
        assert_eq!((g.n_nodes(), g.n_links(), g.max_degree()), (36, 60, 4));
        assert_eq!(g.name(), "grid-6x6");
        assert_eq!(g.neighbours(7), &[1, 6, 8, 13]);
        assert_eq!(g.degree(0), 2);
        assert_eq!(g.positions().unwrap()[8], [2.0, 1.0]);
        let r = Topology::grid(2, 5).unwrap();
        assert_well_formed(&r);
        assert_eq!(r.n_links(), 2 * 4 + 5);
        let single = Topology::grid(1, 1).unwrap();
        assert_well_formed(&single);
        assert_eq!((single.n_nodes(), single.n_links(), single.max_degree()), (1, 0, 0));
    }

    #[test]
    fn hypercube_counts() {
        let h = Topology::hypercube(4).unwrap();
        assert_well_formed(&h);
        assert_eq!((h.n_nodes(), h.n_links()), (16, 32));
        assert!((0..16).all(|v| h.degree(v) == 4));
        assert_eq!(h.neighbours(5), &[1, 4, 7, 13]);
        assert_eq!(h.hop_distances(0)[15], 4);
        assert_eq!(Topology::hypercube(1).unwrap().n_links(), 1);
    }

    #[test]
    fn hop_distances_on_path() {
        let p = path_graph(5);
        assert_eq!(p.hop_distances(0), vec![0, 1, 2, 3, 4]);
        assert_eq!(p.hop_distances(2), vec![2, 1, 0, 1, 2]);
        assert_eq!(p.links().collect::<Vec<_>>(), vec![(0, 1), (1, 2), (2, 3), (3, 4)]);
    }

    #[test]
    fn random_geometric_connected_deterministic_sensible_degree() {
        let t = Topology::random_geometric(10_000, None, &mut stream(7, Stream::Other(0))).unwrap();
        assert_well_formed(&t);
        assert_eq!(t.n_nodes(), 10_000);
        let mean = 2.0 * t.n_links() as f64 / 10_000.0;
        // Interior mean degree 1.2^2 * 2 ln n = 26.5, a few percent less from the border.
        assert!((22.0..28.0).contains(&mean), "mean degree {mean}");
        let again = Topology::random_geometric(10_000, None, &mut stream(7, Stream::Other(0))).unwrap();
        assert_eq!(t, again);
        let other = Topology::random_geometric(10_000, None, &mut stream(8, Stream::Other(0))).unwrap();
        assert_ne!(t, other);
        // Links are exactly the pairs within the radius (checked by brute force on a small sample).
        let radius = 0.3;
        let s = Topology::random_geometric(60, Some(radius), &mut stream(1, Stream::Other(0))).unwrap();
        assert_well_formed(&s);
        let p = s.positions().unwrap();
        for a in 0..60u32 {
            for b in 0..60u32 {
                let (dx, dy) = (p[a as usize][0] - p[b as usize][0], p[a as usize][1] - p[b as usize][1]);
                let close = a != b && dx * dx + dy * dy <= radius * radius;
                assert_eq!(s.link_index(a, b).is_some(), close, "{a}-{b}");
            }
        }
    }

    #[test]
    fn random_geometric_gives_up_when_never_connected() {
        let err = Topology::random_geometric(50, Some(0.001), &mut stream(3, Stream::Other(0))).unwrap_err();
        match &err {
            TopologyError::Disconnected { node, component_size, n, .. } => {
                assert_eq!((*node, *component_size, *n), (1, 1, 50));
            }
            other => panic!("expected Disconnected, got {other:?}"),
        }
        assert!(err.to_string().contains("random_geometric(n = 50"), "{err}");
        assert!(err.to_string().contains("after 20 samples"), "{err}");
    }

    #[test]
    fn generator_errors_name_field_and_reason() {
        let mut rng = stream(0, Stream::Other(0));
        let cases = [
            (Topology::grid(0, 3).unwrap_err(), "grid.rows", "at least 1"),
            (Topology::grid(3, 0).unwrap_err(), "grid.cols", "at least 1"),
            (Topology::grid(1 << 15, 1 << 15).unwrap_err(), "grid.rows", "more than the limit"),
            (Topology::hypercube(0).unwrap_err(), "hypercube.dim", "1..=20, got 0"),
            (Topology::hypercube(21).unwrap_err(), "hypercube.dim", "1..=20, got 21"),
            (Topology::random_geometric(1, None, &mut rng).unwrap_err(), "random_geometric.n", "got 1"),
            (
                Topology::random_geometric(10, Some(0.0), &mut rng).unwrap_err(),
                "random_geometric.radius",
                "greater than 0",
            ),
            (Topology::random_geometric(10, Some(-1.0), &mut rng).unwrap_err(), "random_geometric.radius", "got -1"),
            (
                Topology::random_geometric(10, Some(f64::NAN), &mut rng).unwrap_err(),
                "random_geometric.radius",
                "finite",
            ),
            (Topology::random_geometric(1 << 20, Some(1.0), &mut rng).unwrap_err(), "random_geometric.radius", "2^30"),
            (path_graph(3).regions(0).unwrap_err(), "regions.k", "1..=3, got 0"),
            (path_graph(3).regions(4).unwrap_err(), "regions.k", "1..=3, got 4"),
            (Topology::from_links("empty", 0, &[]).unwrap_err(), "from_links.n", "at least one node"),
        ];
        for (err, field, reason) in cases {
            match &err {
                TopologyError::InvalidGenerator { field: f, reason: r } => {
                    assert_eq!(f, field);
                    assert!(r.contains(reason), "{r:?} should contain {reason:?}");
                }
                other => panic!("expected InvalidGenerator, got {other:?}"),
            }
            let text = err.to_string();
            assert!(text.contains(field) && text.contains(reason), "{text}");
        }
    }

    #[test]
    fn parse_accepts_comments_blank_lines_and_trailing_comments() {
        let text = "# a triangle\n\n   # indented comment\nnodes 3 # three routers\n0 1\n\t1   2  # tabs\n2 0\n";
        let t = Topology::parse_edges(text, "dir/tri.edges").unwrap();
        assert_well_formed(&t);
        assert_eq!(t.name(), "tri");
        assert_eq!(t.links().collect::<Vec<_>>(), vec![(0, 1), (0, 2), (1, 2)]);
        let single = Topology::parse_edges("nodes 1\n", "one").unwrap();
        assert_eq!((single.n_nodes(), single.n_links()), (1, 0));
    }

    #[test]
    fn parse_errors_name_line_and_reason() {
        let cases: [(&str, usize, &str); 14] = [
            ("", 1, "missing the header"),
            ("# only\n\n", 2, "missing the header"),
            ("0 1\n", 1, "expected the header `nodes N`"),
            ("# c\nnodes\n", 2, "exactly `nodes N`"),
            ("nodes 3 4\n", 1, "exactly `nodes N`"),
            ("nodes x\n", 1, "node count `x`"),
            ("nodes 0\n", 1, "at least 1, found 0"),
            ("nodes 3\n0 1\n1\n", 3, "found 1 token(s)"),
            ("nodes 3\n0 1 2\n", 2, "found 3 token(s)"),
            ("nodes 3\n0 -1\n", 2, "node id `-1`"),
            ("nodes 3\n0 1\n1 3\n", 3, "node id 3 is out of range"),
            ("nodes 3\n0 1\n2 2\n", 3, "self loop 2-2"),
            ("nodes 3\n0 1\n# c\n1 2\n1 0\n", 5, "duplicate link 1-0: already listed on line 2"),
            ("nodes 3\n0 1\nnodes 3\n", 3, "already given on line 1"),
        ];
        for (text, line, reason) in cases {
            let (got_line, got_reason) = parse_err(text);
            assert_eq!(got_line, line, "{text:?}: {got_reason}");
            assert!(got_reason.contains(reason), "{text:?}: {got_reason:?} should contain {reason:?}");
            let shown = Topology::parse_edges(text, "test.edges").unwrap_err().to_string();
            assert!(shown.starts_with(&format!("test.edges, line {line}: ")), "{shown}");
        }
    }

    #[test]
    fn disconnected_and_isolated_nodes_are_rejected() {
        // Two components, enough links to take the dense path.
        let err = Topology::parse_edges("nodes 5\n0 1\n1 2\n2 0\n3 4\n", "two.edges").unwrap_err();
        assert_eq!(
            err,
            TopologyError::Disconnected { source_name: "two.edges".to_string(), node: 3, component_size: 3, n: 5 }
        );
        assert_eq!(
            err.to_string(),
            "two.edges: the network is disconnected: node 3 cannot be reached from node 0 \
             (node 0's component has 3 of 5 nodes)"
        );
        // Isolated node (too few links: the sparse path).
        let err = Topology::parse_edges("nodes 4\n0 2\n2 3\n", "iso.edges").unwrap_err();
        assert_eq!(
            err,
            TopologyError::Disconnected { source_name: "iso.edges".to_string(), node: 1, component_size: 3, n: 4 }
        );
        let err = Topology::parse_edges("nodes 2\n", "none.edges").unwrap_err();
        assert!(matches!(err, TopologyError::Disconnected { node: 1, component_size: 1, n: 2, .. }));
        // A huge declared node count is refused without allocating per node.
        let err = Topology::from_links("huge", u32::MAX, &[(0, 1), (1, 2), (5, 6)]).unwrap_err();
        assert_eq!(
            err,
            TopologyError::Disconnected {
                source_name: "huge".to_string(),
                node: 3,
                component_size: 3,
                n: u32::MAX as usize
            }
        );
        let err = Topology::from_links("gap0", 10, &[(1, 2)]).unwrap_err();
        assert!(matches!(err, TopologyError::Disconnected { node: 1, component_size: 1, .. }));
    }

    #[test]
    fn from_links_validates_like_parse() {
        let t = Topology::from_links("sq", 4, &[(0, 1), (2, 1), (3, 2), (0, 3)]).unwrap();
        assert_well_formed(&t);
        assert_eq!(t.name(), "sq");
        assert_eq!(t.neighbours(1), &[0, 2]);
        let err = Topology::from_links("sq", 4, &[(0, 1), (1, 2), (1, 0)]).unwrap_err();
        assert_eq!(
            err,
            TopologyError::Parse {
                source_name: "sq".to_string(),
                line: 3,
                reason: "duplicate link 1-0: already listed on line 1".to_string()
            }
        );
        let err = Topology::from_links("sq", 4, &[(0, 4)]).unwrap_err();
        assert!(matches!(&err, TopologyError::Parse { line: 1, reason, .. } if reason.contains("out of range")));
        let err = Topology::from_links("sq", 4, &[(0, 1), (3, 3)]).unwrap_err();
        assert!(matches!(&err, TopologyError::Parse { line: 2, reason, .. } if reason.contains("self loop")));
    }

    /// Checks a region assignment: ids `0..k`, every id used, every region connected.
    fn assert_regions(t: &Topology, k: u32) -> Vec<u32> {
        let region = t.regions(k).unwrap();
        assert_eq!(region.len(), t.n_nodes() as usize);
        let mut sizes = vec![0usize; k as usize];
        for &r in &region {
            sizes[r as usize] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 0), "empty region in {sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), t.n_nodes() as usize);
        for r in 0..k {
            let members: Vec<u32> = (0..t.n_nodes()).filter(|&v| region[v as usize] == r).collect();
            let mut seen = vec![false; t.n_nodes() as usize];
            let mut stack = vec![members[0]];
            seen[members[0] as usize] = true;
            let mut count = 0;
            while let Some(u) = stack.pop() {
                count += 1;
                for &w in t.neighbours(u) {
                    if region[w as usize] == r && !seen[w as usize] {
                        seen[w as usize] = true;
                        stack.push(w);
                    }
                }
            }
            assert_eq!(count, members.len(), "region {r} of {} not connected", t.name());
        }
        region
    }

    #[test]
    fn regions_are_connected_and_cover() {
        let irregular = shipped("irregular-6x6.edges");
        let geometric = Topology::random_geometric(2_000, None, &mut stream(5, Stream::Other(0))).unwrap();
        for t in [&irregular, &shipped("geant2.edges"), &Topology::grid(7, 9).unwrap(), &geometric] {
            for k in [1, 2, 3, 5, 8] {
                assert_regions(t, k);
            }
            let n = t.n_nodes();
            assert!(assert_regions(t, 1).iter().all(|&r| r == 0));
            let all = assert_regions(t, n);
            let mut sorted = all.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        }
        assert_eq!(irregular.regions(4).unwrap(), irregular.regions(4).unwrap());
    }

    #[test]
    fn regions_on_path_follow_farthest_points() {
        // Centres 0, then 6 (farthest), then 3 (distance 3 from both; lowest id among ties is 3).
        let p = path_graph(7);
        assert_eq!(p.regions(2).unwrap(), vec![0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(p.regions(3).unwrap(), vec![0, 0, 2, 2, 2, 1, 1]);
    }
}
