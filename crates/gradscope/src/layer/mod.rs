//! Layers. Each implements [`Module`]: `forward` and `backward` side by side; forward keeps
//! what backward needs, backward accumulates parameter gradients and writes ∂L/∂(input), and
//! both results stay readable afterwards (they are what the diagnostics show).
//!
//! [`Layer`] stores one layer of any kind; the `layers!` list in this module is the one place a
//! layer type is registered (it generates [`Layer`], [`LayerKind`] and the dispatch to
//! [`Module`]), so adding a layer is a new file, one line there, and whatever the compiler
//! then asks for (every `match` on [`LayerKind`] is exhaustive). See docs/architecture.md.

mod activation;
mod batchnorm;
mod dropout;
mod layer_norm;
mod linear;
mod module;
mod recurrent;
mod residual;

pub use activation::ActivationLayer;
pub use batchnorm::BatchNorm1d;
pub use dropout::Dropout;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use module::{Module, Weight};
pub use residual::Residual;

use crate::float::Float;
use crate::recurrent::RecurrentEncoder;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Registers the layer types: generates the [`Layer`] enum (storage: a closed set, cloned
/// and matched cheaply), the typed [`LayerKind`] with its name, `From` conversions, and the
/// single dispatch from [`Layer`] to [`Module`].
macro_rules! layers {
    ($($(#[$doc:meta])* $variant:ident($ty:ident) = $name:literal,)*) => {
        /// One layer of a network; dereferences to its [`Module`].
        #[derive(Clone, Debug)]
        #[allow(clippy::large_enum_variant)] // a handful of layers per model: size does not matter
        pub enum Layer<T> {
            $($(#[$doc])* $variant($ty<T>),)*
        }

        /// What kind of layer a [`Layer`] is (typed; serialized as its name).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum LayerKind {
            $($(#[$doc])* $variant,)*
        }

        impl LayerKind {
            /// Every kind, in registration order.
            pub const ALL: &'static [LayerKind] = &[$(LayerKind::$variant,)*];

            /// The kind's name (`linear`, `activation`, `batchnorm1d`, …).
            pub fn name(self) -> &'static str {
                match self {
                    $(LayerKind::$variant => $name,)*
                }
            }
        }

        impl<T: Float> Layer<T> {
            /// The layer's kind.
            pub fn kind(&self) -> LayerKind {
                match self {
                    $(Layer::$variant(_) => LayerKind::$variant,)*
                }
            }

            /// The layer as a [`Module`]: the one place a layer's type is dispatched on.
            pub fn module(&self) -> &(dyn Module<T> + 'static) {
                match self {
                    $(Layer::$variant(l) => l,)*
                }
            }

            /// The layer as a mutable [`Module`].
            pub fn module_mut(&mut self) -> &mut (dyn Module<T> + 'static) {
                match self {
                    $(Layer::$variant(l) => l,)*
                }
            }
        }

        $(impl<T> From<$ty<T>> for Layer<T> {
            fn from(layer: $ty<T>) -> Self {
                Layer::$variant(layer)
            }
        })*
    };
}

layers! {
    /// y = x·Wᵀ + b.
    Linear(Linear) = "linear",
    /// a = f(z).
    Activation(ActivationLayer) = "activation",
    /// Batch normalization over the batch dimension.
    BatchNorm1d(BatchNorm1d) = "batchnorm1d",
    /// Layer normalization over each row.
    LayerNorm(LayerNorm) = "layernorm",
    /// Inverted dropout.
    Dropout(Dropout) = "dropout",
    /// y = x + F(x).
    Residual(Residual) = "residual",
    /// A stack of recurrent layers over rows that are sequences (RNN, LSTM, GRU).
    Recurrent(RecurrentEncoder) = "recurrent",
}

impl std::fmt::Display for LayerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for LayerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LayerKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown layer kind `{s}`"))
    }
}

impl serde::Serialize for LayerKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for LayerKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl<T: Float> std::ops::Deref for Layer<T> {
    type Target = dyn Module<T>;
    fn deref(&self) -> &Self::Target {
        self.module()
    }
}

impl<T: Float> std::ops::DerefMut for Layer<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.module_mut()
    }
}

/// Runs `layers` forward in order on x; returns the last output (x itself for no layers).
pub fn forward_chain<'a, T: Float>(
    layers: &'a mut [Layer<T>],
    x: &'a Tensor<T>,
    rng: &mut Rng,
) -> &'a Tensor<T> {
    for i in 0..layers.len() {
        let (before, rest) = layers.split_at_mut(i);
        let input = before.last().map_or(x, |l| l.output());
        rest[0].forward(input, rng);
    }
    layers.last().map_or(x, |l| l.output())
}

/// Runs `layers` backward from ∂L/∂(last output) = `grad`; x is the chain's input. The first
/// layer's ∂L/∂x is computed only if `need_input_grad`.
pub fn backward_chain<T: Float>(
    layers: &mut [Layer<T>],
    x: &Tensor<T>,
    grad: &Tensor<T>,
    need_input_grad: bool,
) {
    for i in (0..layers.len()).rev() {
        let (before, rest) = layers.split_at_mut(i);
        let (cur, after) = rest.split_first_mut().expect("i < len");
        let input = before.last().map_or(x, |l| l.output());
        let grad_out = after.first().map_or(grad, |l| l.grad_input());
        cur.backward(input, grad_out, i > 0 || need_input_grad);
    }
}
