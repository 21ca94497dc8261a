//! The numeric kernels everything else is built on: matrix products ([`gemm`], and [`packed`] for a right operand reused by many products), vectorized
//! f32 transcendentals ([`vmath`]), two-core fork-join and chunked maps ([`parallel`]), the
//! element-wise loops of the recurrent cells ([`elementwise`]), and `simd_kernel!`, the one
//! place where a kernel is compiled for AVX-512, for AVX2+FMA and for the baseline and one
//! version is picked at run time.
//!
//! Internal: the public API of the library (tensors, layers, models) wraps these; they are
//! exposed for the integration tests and benchmarks only.

pub mod elementwise;
pub mod gemm;
pub mod packed;
pub mod parallel;
pub mod vmath;

/// Defines a function whose body is compiled three times — for AVX-512F, for AVX2+FMA and
/// for the baseline target — and which picks one at run time, so that element-wise loops
/// run on 16 (or 8) f32 lanes instead of SSE2's 4 without building for a specific CPU.
///
/// Forms: `fn name<T: Float>(args) { body }` (generic over the float type, the recurrent
/// kernels), the same with `-> R` (a reduction, e.g. the probe's sums), and `fn name(args)
/// { body }` (plain, e.g. the f32 transcendentals of [`vmath`]). The compiler never fuses a multiply and an add on its own (no `-ffast-math`
/// in Rust), so all three versions give the same bits: only the vector width differs.
macro_rules! simd_kernel {
    ($(#[$attr:meta])* $vis:vis fn $name:ident<T: Float>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $crate::kernels::simd_kernel!(@emit [$(#[$attr])*] $vis $name [<T: Float>] ($($arg: $ty),*) [$ret] $body);
    };
    ($(#[$attr:meta])* $vis:vis fn $name:ident<T: Float>($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $crate::kernels::simd_kernel!(@emit [$(#[$attr])*] $vis $name [<T: Float>] ($($arg: $ty),*) [()] $body);
    };
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $crate::kernels::simd_kernel!(@emit [$(#[$attr])*] $vis $name [] ($($arg: $ty),*) [()] $body);
    };
    (@emit [$($attr:tt)*] $vis:vis $name:ident [$($gen:tt)*] ($($arg:ident: $ty:ty),*) [$ret:ty] $body:block) => {
        $($attr)*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name $($gen)* ($($arg: $ty),*) -> $ret {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body $($gen)* ($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                /// The body compiled with AVX-512F enabled.
                ///
                /// # Safety
                /// The CPU running it must support AVX-512F (checked by the caller with
                /// `is_x86_feature_detected!`); otherwise it may execute illegal instructions.
                #[target_feature(enable = "avx512f")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512 $($gen)* ($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                /// The body compiled with AVX2 and FMA enabled.
                ///
                /// # Safety
                /// The CPU running it must support AVX2 and FMA (checked by the caller with
                /// `is_x86_feature_detected!`); otherwise it may execute illegal instructions.
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2 $($gen)* ($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F (just detected), the only requirement of
                    // `avx512`; the body itself is safe code.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA (just detected), the only requirement
                    // of `avx2`; the body itself is safe code.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_kernel;
