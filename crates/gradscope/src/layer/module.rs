//! [`Module`]: what every layer is — forward and backward side by side, its kept output and
//! ∂L/∂input, its parameters by PyTorch name — and what the gradient scope asks of it
//! instead of matching on layer types: its weight, its activation, its children, its state
//! through time.

use crate::activation::Activation;
use crate::float::Float;
use crate::param::Param;
use crate::recurrent::RecurrentEncoder;
use crate::rng::Rng;
use crate::tensor::Tensor;

use super::Layer;

/// The weight a module multiplies its input by, as the scope measures it.
#[derive(Clone, Copy, Debug)]
pub struct Weight<'a, T> {
    /// The parameter (value and gradient).
    pub param: &'a Param<T>,
    /// Fan-in of a weight matrix W `[out, in]` (σ_w = std(W)·√fan_in is the mean-field
    /// theory's weight scale); `None` for a per-channel scale such as a norm layer's γ.
    pub fan_in: Option<usize>,
    /// The bias added after the product (its mean square is the theory's σ_b²).
    pub bias: Option<&'a Param<T>>,
}

/// One layer of a network.
///
/// `forward` keeps what `backward` needs; `backward` accumulates parameter gradients and
/// writes ∂L/∂input; both results stay readable afterwards through [`Module::output`] and
/// [`Module::grad_input`], because showing them is the product.
pub trait Module<T: Float> {
    /// One line, e.g. `linear(64 -> 32)`, `activation(tanh)`.
    fn describe(&self) -> String;

    /// y = layer(x); the result is [`Module::output`]. `rng` drives dropout and RReLU.
    fn forward(&mut self, x: &Tensor<T>, rng: &mut Rng);

    /// Given the forward's input `x` and ∂L/∂y, accumulates ∂L/∂θ into the parameters and
    /// writes ∂L/∂x ([`Module::grad_input`]); a layer may skip ∂L/∂x when `need_input_grad`
    /// is false (the first layer of a model).
    fn backward(&mut self, x: &Tensor<T>, grad_out: &Tensor<T>, need_input_grad: bool);

    /// The last forward's output y.
    fn output(&self) -> &Tensor<T>;

    /// The last backward's ∂L/∂x.
    fn grad_input(&self) -> &Tensor<T>;

    /// Training or evaluation mode (BatchNorm statistics, dropout, RReLU). Default: no-op.
    fn set_training(&mut self, _training: bool) {}

    /// Calls `f` on each learnable parameter, in PyTorch's `state_dict` order.
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>));

    /// Calls `f` on each learnable parameter, mutably, in the order of
    /// [`Module::visit_params`].
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>));

    /// Appends every `state_dict` entry (parameters and buffers such as BatchNorm's running
    /// statistics) with its PyTorch name. Default: the parameters.
    fn state_entries(&self, out: &mut Vec<(String, Tensor<T>)>) {
        self.visit_params(&mut |p| out.push((p.name.clone(), p.value.clone())));
    }

    /// Loads every entry listed by [`Module::state_entries`]; `find` returns the tensor of a
    /// name (the caller has checked that all are present with the right shapes).
    fn load_state_entries(&mut self, find: &dyn Fn(&str) -> Option<Tensor<T>>) {
        self.visit_params_mut(&mut |p| {
            if let Some(v) = find(&p.name) {
                p.value = v;
            }
        });
    }

    /// The weight the scope measures (‖W‖, ‖∂L/∂W‖, ‖ΔW‖/‖W‖, σ_w), if the layer has one.
    fn weight(&self) -> Option<Weight<'_, T>> {
        None
    }

    /// The activation f this layer applies, a = f(z), if it is an activation layer.
    fn activation(&self) -> Option<Activation> {
        None
    }

    /// The layers inside this one (a residual block's F), in forward order.
    fn children(&self) -> &[Layer<T>] {
        &[]
    }

    /// The recurrent encoder behind this layer: its per-step state and gradient through time.
    fn as_recurrent(&self) -> Option<&RecurrentEncoder<T>> {
        None
    }

    /// [`Module::as_recurrent`], mutably (to run it from a carried state).
    fn as_recurrent_mut(&mut self) -> Option<&mut RecurrentEncoder<T>> {
        None
    }

    /// The width of the input rows this layer requires, if it fixes one (a linear layer's
    /// input width, a norm layer's channels, a per-channel PReLU's channels).
    fn input_width(&self) -> Option<usize> {
        None
    }
}
