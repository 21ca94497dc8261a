//! The expansion of a sweep: points (one value per axis) and runs (a point with a seed), in a
//! fixed order with stable ids, and shards of the runs.

use super::value::{fnv1a, inline};
use super::Sweep;
use crate::error::{Error, Result};

/// Most runs a sweep may expand to.
pub const MAX_RUNS: usize = 1_000_000;

/// A point of a sweep: one value of every axis.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PointSpec {
    /// 0-based position in expansion order (the first axis outermost).
    pub index: usize,
    /// Stable id: 10 hex digits of a hash of the point's `key = value` assignments (sorted by
    /// key), so it stays when the axes are reordered or extended.
    pub id: String,
    /// The index of the point's value on each axis.
    pub coords: Vec<usize>,
}

/// A run: a point with one seed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunSpec {
    /// 0-based position in expansion order: point by point, the seeds innermost.
    pub index: usize,
    /// Stable id, `<point id>-s<seed>`: the name of the run's directory.
    pub id: String,
    /// Index of its point.
    pub point: usize,
    /// Its point's id.
    pub point_id: String,
    /// The index of the run's value on each axis.
    pub coords: Vec<usize>,
    /// Which repeat (index into [`Sweep::seeds`]).
    pub repeat: usize,
    /// Its seed.
    pub seed: u64,
    /// The `--set` overrides that make its config from the base: the axes' values, then the
    /// seed.
    pub overrides: Vec<String>,
}

/// Shard K of N (0 ≤ K < N): the runs whose index is K modulo N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, 0-based (a Slurm array task id, a Kubernetes completion index).
    pub index: usize,
    /// N.
    pub count: usize,
}

impl Shard {
    /// Parses `K/N`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || {
            Error::config(format!(
                "shard `{text}`: expected K/N with 0 <= K < N, e.g. 0/4 (K is \
                 $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)"
            ))
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard of run `index` among `count` shards.
    pub fn of(index: usize, count: usize) -> usize {
        index % count.max(1)
    }

    /// True when run `index` belongs to this shard.
    pub fn contains(&self, index: usize) -> bool {
        Shard::of(index, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Sweep {
    /// The points, in expansion order: the cartesian product of the axes, the first axis
    /// outermost (one point, with no coordinates, for a sweep without axes).
    pub fn points(&self) -> Vec<PointSpec> {
        let total: usize = self.axes.iter().map(|a| a.len()).product();
        let mut points = Vec::with_capacity(total);
        let mut coords = vec![0usize; self.axes.len()];
        for index in 0..total {
            let mut rest = index;
            for (d, a) in self.axes.iter().enumerate().rev() {
                coords[d] = rest % a.len();
                rest /= a.len();
            }
            points.push(PointSpec {
                index,
                id: self.point_id(&coords),
                coords: coords.clone(),
            });
        }
        points
    }

    /// The id of the point at `coords`.
    pub fn point_id(&self, coords: &[usize]) -> String {
        let mut pairs: Vec<String> = self
            .axes
            .iter()
            .zip(coords)
            .flat_map(|(a, &i)| {
                a.keys
                    .iter()
                    .zip(&a.values[i])
                    .map(|(k, v)| format!("{k}={}", inline(v)))
                    .collect::<Vec<_>>()
            })
            .collect();
        pairs.sort();
        format!("{:010x}", fnv1a(pairs.join("\n").as_bytes()) >> 24)
    }

    /// The `--set` overrides of the point at `coords` (its axes' values).
    pub fn point_overrides(&self, coords: &[usize]) -> Vec<String> {
        self.axes
            .iter()
            .zip(coords)
            .flat_map(|(a, &i)| a.overrides(i))
            .collect()
    }

    /// Every run, in expansion order: each point with each seed.
    pub fn runs(&self) -> Vec<RunSpec> {
        let mut runs = Vec::with_capacity(self.points().len() * self.seeds.len());
        for p in self.points() {
            let base = self.point_overrides(&p.coords);
            for (repeat, &seed) in self.seeds.iter().enumerate() {
                let mut overrides = base.clone();
                overrides.push(format!("{}={seed}", self.seed_key));
                runs.push(RunSpec {
                    index: runs.len(),
                    id: format!("{}-s{seed}", p.id),
                    point: p.index,
                    point_id: p.id.clone(),
                    coords: p.coords.clone(),
                    repeat,
                    seed,
                    overrides,
                });
            }
        }
        runs
    }

    /// The runs of one shard, in expansion order.
    pub fn shard(&self, shard: Shard) -> Vec<RunSpec> {
        self.runs()
            .into_iter()
            .filter(|r| shard.contains(r.index))
            .collect()
    }

    /// Checks that distinct points have distinct ids (a 40-bit hash: a clash is unlikely
    /// but would mix two points' runs in one directory).
    pub fn check_ids(&self) -> Result<()> {
        let points = self.points();
        let mut ids: Vec<(&str, usize)> = points.iter().map(|p| (p.id.as_str(), p.index)).collect();
        ids.sort();
        for w in ids.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(Error::config(format!(
                    "points {} and {} have the same id {}: rename an axis value",
                    w[0].1, w[1].1, w[0].0
                )));
            }
        }
        Ok(())
    }
}
