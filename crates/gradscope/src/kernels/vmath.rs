//! Vectorizable f32 transcendental kernels (exp, tanh, sigmoid) for the hot element-wise loops.
//!
//! `std`'s `f32::exp`/`tanh` are calls into libm that the compiler cannot vectorize. These
//! versions are branch-free (both sides of every case are computed and one is selected), so a
//! loop over a slice becomes SIMD code; the slice functions pick AVX-512 or AVX2+FMA at run
//! time when the CPU has them (`simd_kernel!`). Accuracy: within a few ulp of the correctly
//! rounded result (checked against f64 in the tests); exp underflows to 0 below −87.33 and
//! overflows to ∞ above 88.72 like `f32::exp`. NaN in gives NaN out, and ±∞ the limits, as
//! `std` does.

use super::simd_kernel;

/// Taylor coefficients 1/n! of eʳ on |r| ≤ ln2/2 (degree 7: truncation error < 5e−9 relative).
const EXP_C: [f32; 8] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
];
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a part exactly representable with few bits and the remainder (Cody–Waite).
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5·2²³ rounds an f32 of magnitude < 2²² to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// eˣ: x = k·ln2 + r, eˣ = 2ᵏ·eʳ with eʳ by its Taylor polynomial.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let xc = x.clamp(-87.33, 88.722_84);
    let shifted = xc * LOG2E + ROUND_MAGIC;
    let k = shifted - ROUND_MAGIC;
    // The integer k is in the low mantissa bits of `shifted` (no float→int conversion, which
    // would not vectorize).
    let ki = shifted.to_bits().wrapping_sub(ROUND_MAGIC.to_bits()) as i32;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let mut p = EXP_C[7];
    for c in EXP_C[..7].iter().rev() {
        p = p * r + c;
    }
    // 2ᵏ as two factors so that k = 128 (x near 88.7) and k = −126 stay representable.
    let kh = ki >> 1;
    let s1 = f32::from_bits((kh.wrapping_add(127) as u32) << 23);
    let s2 = f32::from_bits(((ki - kh).wrapping_add(127) as u32) << 23);
    let v = p * s1 * s2;
    let v = if x < -87.33 { 0.0 } else { v };
    if x > 88.722_84 {
        f32::INFINITY
    } else {
        v
    }
}

/// Odd Taylor coefficients of tanh (x, x³, …, x¹⁵), used for |x| < 0.4 where
/// 1 − 2/(e^(2x) + 1) would cancel.
const TANH_C: [f32; 8] = [
    1.0,
    -1.0 / 3.0,
    2.0 / 15.0,
    -17.0 / 315.0,
    62.0 / 2835.0,
    -1382.0 / 155_925.0,
    21844.0 / 6_081_075.0,
    -929_569.0 / 638_512_875.0,
];

/// tanh x = sign(x)·(1 − 2/(e^(2|x|) + 1)), with the Taylor series near 0. NaN at NaN.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    // A compare-and-select, not `f32::min` (which would turn NaN into 9.5 and tanh(NaN) into
    // ±1); it is a single `minps` in the SIMD loop.
    let a = x.abs();
    let a = if a > 9.5 { 9.5 } else { a };
    let big = 1.0 - 2.0 / (exp_f32(a + a) + 1.0);
    let a2 = a * a;
    let mut p = TANH_C[7];
    for c in TANH_C[..7].iter().rev() {
        p = p * a2 + c;
    }
    let small = a * p;
    let t = if a < 0.4 { small } else { big };
    t.copysign(x)
}

/// σ(x) = e/(1 + e) for x < 0 and 1/(1 + e) for x ≥ 0, e = e^(−|x|).
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    let e = exp_f32(-x.abs());
    let d = 1.0 + e;
    if x >= 0.0 {
        1.0 / d
    } else {
        e / d
    }
}

simd_kernel! {
    /// yᵢ = tanh xᵢ over a slice, SIMD.
    pub fn tanh_slice(x: &[f32], y: &mut [f32]) {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi = tanh_f32(*xi);
        }
    }
}

simd_kernel! {
    /// yᵢ = σ(xᵢ) over a slice, SIMD.
    pub fn sigmoid_slice(x: &[f32], y: &mut [f32]) {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi = sigmoid_f32(*xi);
        }
    }
}

simd_kernel! {
    /// yᵢ = e^(xᵢ) over a slice, SIMD.
    pub fn exp_slice(x: &[f32], y: &mut [f32]) {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi = exp_f32(*xi);
        }
    }
}

simd_kernel! {
    /// xᵢ ← e^(xᵢ) in place, SIMD.
    pub fn exp_inplace(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = exp_f32(*v);
        }
    }
}
