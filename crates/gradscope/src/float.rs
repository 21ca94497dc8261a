//! The one float trait the engine is generic over: `f32` for speed, `f64` for checking.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// IEEE-754 single precision.
    F32,
    /// IEEE-754 double precision.
    F64,
}

impl DType {
    /// Lower-case name (`"f32"`, `"f64"`), as used in configs and safetensors headers.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }
}

impl std::str::FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" | "float32" => Ok(DType::F32),
            "f64" | "float64" => Ok(DType::F64),
            other => Err(format!("unknown dtype `{other}` (valid: f32, f64)")),
        }
    }
}

/// A real floating-point scalar: `f32` or `f64`.
///
/// Transcendental functions go through this trait so that kernels are written once and
/// monomorphized for both precisions.
pub trait Float:
    Copy
    + Send
    + Sync
    + 'static
    + Debug
    + Display
    + Default
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The runtime tag of this type.
    const DTYPE: DType;
    /// Machine epsilon.
    const EPSILON: Self;
    /// Largest finite value.
    const MAX: Self;

    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// eˣ
    fn exp(self) -> Self;
    /// eˣ − 1, accurate near 0.
    fn exp_m1(self) -> Self;
    /// ln x
    fn ln(self) -> Self;
    /// ln(1 + x), accurate near 0.
    fn ln_1p(self) -> Self;
    /// tanh x
    fn tanh(self) -> Self;
    /// √x
    fn sqrt(self) -> Self;
    /// |x|
    fn abs(self) -> Self;
    /// Error function erf x = 2/√π ∫₀ˣ e^(−t²) dt.
    fn erf(self) -> Self;
    /// Complementary error function erfc x = 1 − erf x, accurate for large x.
    fn erfc(self) -> Self;
    /// xⁿ for integer n.
    fn powi(self, n: i32) -> Self;
    /// max(x, y), ignoring NaN like `f64::max`.
    fn max(self, other: Self) -> Self;
    /// min(x, y), ignoring NaN like `f64::min`.
    fn min(self, other: Self) -> Self;
    /// True when neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// True when NaN.
    fn is_nan(self) -> bool;

    /// yᵢ = tanh xᵢ over a slice (SIMD for f32, see [`crate::kernels::vmath`]; `std` for f64).
    fn tanh_slice(x: &[Self], y: &mut [Self]);
    /// yᵢ = σ(xᵢ) over a slice (SIMD for f32).
    fn sigmoid_slice(x: &[Self], y: &mut [Self]);
    /// yᵢ = e^(xᵢ) over a slice (SIMD for f32).
    fn exp_slice(x: &[Self], y: &mut [Self]);
    /// xᵢ ← e^(xᵢ) in place (SIMD for f32).
    fn exp_inplace(x: &mut [Self]);

    /// C ← α·A·B + β·C on strided matrices (see [`crate::kernels::gemm`]): A is m×k with
    /// element (i, l) at `a + i·rsa + l·csa`, B is k×n (`b`, `rsb`, `csb`), C is m×n (`c`,
    /// `rsc`, `csc`); β = 0 ignores C's old contents.
    ///
    /// # Safety
    /// Every element address of A, B and C so described must lie in one live allocation
    /// of initialized values of the type (for m, k or n = 0 nothing is read); the elements
    /// of C must be distinct (no two index pairs on one address), must not overlap A or B,
    /// and no other reference may access them during the call.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

/// `fn name(self, args) -> R { target(self, args) }` for each line `name(args) -> R = target;`:
/// the methods of [`Float`] that are the primitive type's own.
macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $target:expr;)*) => {
        $(
            #[inline(always)]
            fn $name(self $(, $arg: $ty)*) -> $ret {
                ($target)(self $(, $arg)*)
            }
        )*
    };
}

macro_rules! impl_float {
    ($t:ty, $dtype:expr, $gemm:path, $erf:path, $erfc:path, $tanh_s:path, $sig_s:path, $exp_s:path, $exp_i:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const DTYPE: DType = $dtype;
            const EPSILON: Self = <$t>::EPSILON;
            const MAX: Self = <$t>::MAX;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            delegate! {
                exp() -> Self = <$t>::exp;
                exp_m1() -> Self = <$t>::exp_m1;
                ln() -> Self = <$t>::ln;
                ln_1p() -> Self = <$t>::ln_1p;
                tanh() -> Self = <$t>::tanh;
                sqrt() -> Self = <$t>::sqrt;
                abs() -> Self = <$t>::abs;
                erf() -> Self = $erf;
                erfc() -> Self = $erfc;
                powi(n: i32) -> Self = <$t>::powi;
                max(other: Self) -> Self = <$t>::max;
                min(other: Self) -> Self = <$t>::min;
                is_finite() -> bool = <$t>::is_finite;
                is_nan() -> bool = <$t>::is_nan;
            }
            #[inline]
            fn tanh_slice(x: &[Self], y: &mut [Self]) {
                $tanh_s(x, y)
            }
            #[inline]
            fn sigmoid_slice(x: &[Self], y: &mut [Self]) {
                $sig_s(x, y)
            }
            #[inline]
            fn exp_slice(x: &[Self], y: &mut [Self]) {
                $exp_s(x, y)
            }
            #[inline]
            fn exp_inplace(x: &mut [Self]) {
                $exp_i(x)
            }
            /// # Safety
            /// As [`Float::gemm_raw`]: the pointers, shapes and strides describe valid memory,
            /// C distinct from A and B and not otherwise accessed during the call.
            #[inline(always)]
            unsafe fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                beta: Self,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: `matrixmultiply`'s sgemm/dgemm require exactly the contract of this
                // function (valid strided views of the given shapes, C not aliasing A or B),
                // which the caller guarantees.
                unsafe { $gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}

impl_float!(
    f32,
    DType::F32,
    matrixmultiply::sgemm,
    libm::erff,
    libm::erfcf,
    crate::kernels::vmath::tanh_slice,
    crate::kernels::vmath::sigmoid_slice,
    crate::kernels::vmath::exp_slice,
    crate::kernels::vmath::exp_inplace
);
impl_float!(
    f64,
    DType::F64,
    matrixmultiply::dgemm,
    libm::erf,
    libm::erfc,
    map_f64::tanh,
    map_f64::sigmoid,
    map_f64::exp,
    map_f64::exp_inplace
);

/// The f64 slice kernels: exact `std` functions, element by element.
mod map_f64 {
    pub fn tanh(x: &[f64], y: &mut [f64]) {
        y.iter_mut().zip(x).for_each(|(o, i)| *o = i.tanh());
    }
    pub fn sigmoid(x: &[f64], y: &mut [f64]) {
        y.iter_mut()
            .zip(x)
            .for_each(|(o, i)| *o = crate::activation::sigmoid::sigmoid(*i));
    }
    pub fn exp(x: &[f64], y: &mut [f64]) {
        y.iter_mut().zip(x).for_each(|(o, i)| *o = i.exp());
    }
    pub fn exp_inplace(x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = v.exp());
    }
}
