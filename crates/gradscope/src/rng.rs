//! The seeded random-number generator all randomness flows through.

use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// A seeded PCG-64 (`Lcg128Xsl64`) generator: the same seed gives the same stream on every
/// platform.
///
/// ```
/// use gradscope::Rng;
///
/// let (mut a, mut b) = (Rng::seed(42), Rng::seed(42));
/// assert_eq!(a.normal(), b.normal());
/// // fork(): an independent stream, e.g. one for the data and one for the weights.
/// let mut data = a.fork();
/// let x = data.uniform(-1.0, 1.0);
/// assert!((-1.0..1.0).contains(&x));
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rng {
    inner: rand_pcg::Pcg64,
}

impl Rng {
    /// A generator from a 64-bit seed.
    pub fn seed(seed: u64) -> Self {
        Rng {
            inner: rand_pcg::Pcg64::seed_from_u64(seed),
        }
    }

    /// An independent generator derived from this one (for a sub-task such as data shuffling),
    /// so that adding draws in one place does not shift another's stream.
    pub fn fork(&mut self) -> Self {
        let s: u64 = self.inner.random();
        Rng::seed(s)
    }

    /// Uniform in [0, 1).
    pub fn uniform01(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform01()
    }

    /// Standard normal N(0, 1).
    pub fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.inner)
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n)
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.random()
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}
