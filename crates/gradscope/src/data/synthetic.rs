//! Seeded 2-D toy classification problems.
//!
//! Every generator takes the total number of samples `n`, a `noise` level (the standard
//! deviation of Gaussian noise added to each coordinate after the clean point is placed, in
//! the data's own units: the clean sets live in roughly [−1, 1]², moons in [−1, 2] × [−0.5, 1])
//! and the [`Rng`] to draw from, so the same seed gives the same set. Samples are split as
//! evenly as possible among the classes (the first `n mod k` classes get one extra) and stored
//! grouped by class, class 0 first; [`Dataset::split`] and [`super::BatchIter`] shuffle.

use std::f64::consts::PI;

use super::Dataset;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// `k` interleaved spiral arms, one class each (the CS231n spiral): arm `j`'s point at
/// parameter t ∈ (0, 1) sits at radius t and angle 2πj/k + 4t radians.
pub fn spiral(n: usize, arms: usize, noise: f64, rng: &mut Rng) -> Result<Dataset> {
    check(noise, arms)?;
    let mut b = Builder::new(n)?;
    for (j, m) in per_class(n, arms).into_iter().enumerate() {
        for i in 0..m {
            let t = (i as f64 + 0.5) / m as f64;
            let theta = 2.0 * PI * j as f64 / arms as f64 + 4.0 * t;
            b.push(t * theta.cos(), t * theta.sin(), j, noise, rng);
        }
    }
    b.finish("spiral", arms)
}

/// Two concentric circles: class 0 on the unit circle, class 1 on the circle of radius
/// `factor` ∈ (0, 1); angles uniform at random.
pub fn circles(n: usize, factor: f64, noise: f64, rng: &mut Rng) -> Result<Dataset> {
    check(noise, 2)?;
    if !(factor > 0.0 && factor < 1.0) {
        return Err(Error::Invalid(format!(
            "circles: factor {factor} must lie in (0, 1)"
        )));
    }
    let mut b = Builder::new(n)?;
    for (j, m) in per_class(n, 2).into_iter().enumerate() {
        let r = if j == 0 { 1.0 } else { factor };
        for _ in 0..m {
            let theta = rng.uniform(0.0, 2.0 * PI);
            b.push(r * theta.cos(), r * theta.sin(), j, noise, rng);
        }
    }
    b.finish("circles", 2)
}

/// XOR: points uniform in [−1, 1]², class 1 where the two coordinates have opposite signs
/// (quadrants II and IV), class 0 in quadrants I and III. The quadrant is drawn first so the
/// classes are balanced.
pub fn xor(n: usize, noise: f64, rng: &mut Rng) -> Result<Dataset> {
    check(noise, 2)?;
    let mut b = Builder::new(n)?;
    for (j, m) in per_class(n, 2).into_iter().enumerate() {
        for _ in 0..m {
            let sx = if rng.below(2) == 0 { 1.0 } else { -1.0 };
            let sy = if j == 0 { sx } else { -sx };
            let x = sx * rng.uniform01();
            let y = sy * rng.uniform01();
            b.push(x, y, j, noise, rng);
        }
    }
    b.finish("xor", 2)
}

/// `k` Gaussian blobs of standard deviation `noise`, centred on the unit circle at angles
/// 2πj/k (a single blob sits at the origin).
pub fn gaussians(n: usize, k: usize, noise: f64, rng: &mut Rng) -> Result<Dataset> {
    check(noise, k)?;
    let mut b = Builder::new(n)?;
    for (j, m) in per_class(n, k).into_iter().enumerate() {
        let (cx, cy) = gaussian_centre(j, k);
        for _ in 0..m {
            b.push(cx, cy, j, noise, rng);
        }
    }
    b.finish("gaussians", k)
}

/// The centre of blob `j` of `k` in [`gaussians`].
pub fn gaussian_centre(j: usize, k: usize) -> (f64, f64) {
    if k <= 1 {
        return (0.0, 0.0);
    }
    let a = 2.0 * PI * j as f64 / k as f64;
    (a.cos(), a.sin())
}

/// Two interleaving half-moons (as scikit-learn's `make_moons`): class 0 on
/// (cos t, sin t), class 1 on (1 − cos t, 0.5 − sin t), t uniform in [0, π].
pub fn moons(n: usize, noise: f64, rng: &mut Rng) -> Result<Dataset> {
    check(noise, 2)?;
    let mut b = Builder::new(n)?;
    for (j, m) in per_class(n, 2).into_iter().enumerate() {
        for _ in 0..m {
            let t = rng.uniform(0.0, PI);
            let (x, y) = if j == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            b.push(x, y, j, noise, rng);
        }
    }
    b.finish("moons", 2)
}

fn check(noise: f64, k: usize) -> Result<()> {
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(Error::Invalid(format!(
            "noise {noise} must be finite and non-negative"
        )));
    }
    if k == 0 {
        return Err(Error::Invalid("need at least one class".into()));
    }
    Ok(())
}

fn per_class(n: usize, k: usize) -> Vec<usize> {
    (0..k).map(|j| n / k + usize::from(j < n % k)).collect()
}

struct Builder {
    x: Vec<f64>,
    labels: Vec<usize>,
}

impl Builder {
    fn new(n: usize) -> Result<Self> {
        let what = || format!("a synthetic set of n = {n} points");
        Ok(Builder {
            x: crate::data::try_vec(&[n, 2], what)?,
            labels: crate::data::try_vec(&[n], what)?,
        })
    }

    fn push(&mut self, x: f64, y: f64, label: usize, noise: f64, rng: &mut Rng) {
        let (nx, ny) = if noise > 0.0 {
            (noise * rng.normal(), noise * rng.normal())
        } else {
            (0.0, 0.0)
        };
        self.x.push(x + nx);
        self.x.push(y + ny);
        self.labels.push(label);
    }

    fn finish(self, name: &str, k: usize) -> Result<Dataset> {
        Dataset::classification(name, self.x, 2, self.labels, k)?
            .with_feature_names(vec!["x".into(), "y".into()])
    }
}
