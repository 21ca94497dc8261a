//! [`RecurrentEncoder`]: a stack of recurrent layers as one network layer. It reads batch rows
//! that are whole sequences (`[B, T·I]`, time-major within a row), runs every layer over
//! time, and hands the head either h_T (`[B, H]`) or every h_t (`[B·T, H]`, rows in
//! (sample, step) order) — so the rest of the network and the losses stay 2-D.

use super::init::init_weights;
use super::layout::{to_batch_major, to_time_major};
use super::spec::{CellKind, Predict, RecurrentSpec};
use super::{
    CellWeights, GateValue, GruCell, HiddenState, LstmCell, OutputGrad, RecurrentCell, RnnCell,
    UnrolledLayer,
};
use crate::activation::Activation;
use crate::float::Float;
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The stacked layers of one cell kind.
#[derive(Clone, Debug)]
enum CellStack<T> {
    Rnn(Vec<UnrolledLayer<T, RnnCell<T>>>),
    Lstm(Vec<UnrolledLayer<T, LstmCell<T>>>),
    Gru(Vec<UnrolledLayer<T, GruCell<T>>>),
}

/// Runs `$body` with `$v` bound to the stack's `Vec<UnrolledLayer<T, C>>`, whatever C is.
macro_rules! each_stack {
    ($stack:expr, $v:ident => $body:expr) => {
        match $stack {
            CellStack::Rnn($v) => $body,
            CellStack::Lstm($v) => $body,
            CellStack::Gru($v) => $body,
        }
    };
}

/// A stack of `layers` recurrent layers (PyTorch `nn.RNN`/`nn.LSTM`/`nn.GRU` with
/// `num_layers = layers`; parameters `{prefix}weight_ih_l{k}`, ...) used as one layer of a
/// [`crate::model::Model`]:
///
/// - forward: x `[B, T·I]` → `[T, B, I]` → layer 0 → … → layer L−1 → h_T `[B, H]`
///   ([`Predict::Last`]) or every h_t as `[B·T, H]` ([`Predict::EveryStep`]);
/// - backward: explicit BPTT through every layer; each layer keeps ‖∂L/∂h_t‖ for every t.
///
/// With [`RecurrentEncoder::set_keep_step_grads`] it also keeps ∂L/∂h_t (and an LSTM's
/// ∂L/∂c_t) for every step as `[T, B, H]` tensors:
///
/// ```
/// use gradscope::loss::Loss;
/// use gradscope::model::{MlpSpec, ModelSpec, SequenceSpec};
/// use gradscope::recurrent::{CellKind, RecurrentSpec};
/// use gradscope::{Activation, Rng, Tensor};
///
/// let head = MlpSpec::new(0, &[], 1, Activation::Tanh);
/// let spec = ModelSpec::from(SequenceSpec::new(1, RecurrentSpec::new(CellKind::Rnn, 16), head));
/// let mut rng = Rng::seed(3);
/// let mut model = spec.build::<f64>(&mut rng)?;
/// let encoder = model.layers[0].as_recurrent_mut().expect("the encoder");
/// encoder.set_keep_step_grads(true);
///
/// let (batch, steps) = (4, 30);
/// let x = Tensor::from_vec(&[batch, steps], (0..batch * steps).map(|_| rng.normal()).collect())?;
/// let y = Tensor::from_vec(&[batch, 1], vec![1.0; batch])?;
/// model.forward_backward(&x, &y, Loss::Mse)?;
///
/// let encoder = model.layers[0].as_recurrent().expect("the encoder");
/// let dh = encoder.grad_hidden(0).expect("kept"); // ∂L/∂h_t of layer 0, [T, B, H]
/// assert_eq!(dh.shape(), [steps, batch, 16]);
/// let norm = |t: usize| dh.data()[t * batch * 16..(t + 1) * batch * 16]
///     .iter().map(|v| v * v).sum::<f64>().sqrt();
/// // Its norm per step is what grad_norms reports, and it shrinks going back in time.
/// assert!((norm(steps - 1) - encoder.grad_norms(0)[steps - 1]).abs() < 1e-12);
/// assert!(norm(0) < 1e-2 * norm(steps - 1));
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RecurrentEncoder<T> {
    spec: RecurrentSpec,
    input: usize,
    stack: CellStack<T>,
    x_tbi: Tensor<T>,
    out: Tensor<T>,
    grad_tbh: Tensor<T>,
    grad_in: Tensor<T>,
    steps: usize,
    batch: usize,
}

/// Every h_t of the top layer, `[T, B, H]`.
fn top_output<T: Float>(stack: &CellStack<T>) -> &[T] {
    each_stack!(stack, layers => layers.last().expect("layers > 0").output().data())
}

impl<T: Float> RecurrentEncoder<T> {
    /// A stack built from `spec` reading `input` features per step, parameters named
    /// `{prefix}weight_ih_l{k}`, ...; weights drawn from `rng` layer by layer (W_ih, W_hh,
    /// b_ih, b_hh from PyTorch's U[−1/√H, 1/√H], then the spec's initializers, spectral
    /// radius and forget bias). `spec` must be valid ([`RecurrentSpec::validate`]).
    pub fn new(spec: &RecurrentSpec, input: usize, prefix: &str, rng: &mut Rng) -> Self {
        let mut weights = Vec::new();
        for k in 0..spec.layers {
            let fan_in = if k == 0 { input } else { spec.hidden };
            weights.push(init_weights::<T>(spec, k, prefix, fan_in, rng));
        }
        Self::from_weights(spec, input, weights)
    }

    /// A stack with the given weights, one [`CellWeights`] per layer (names kept as given).
    pub fn from_weights(spec: &RecurrentSpec, input: usize, weights: Vec<CellWeights<T>>) -> Self {
        let stack = match spec.cell {
            CellKind::Rnn => CellStack::Rnn(
                weights
                    .into_iter()
                    .map(|w| UnrolledLayer::new(RnnCell::from_weights(w, spec.activation())))
                    .collect(),
            ),
            CellKind::Lstm => CellStack::Lstm(
                weights
                    .into_iter()
                    .map(|w| UnrolledLayer::new(LstmCell::from_weights(w)))
                    .collect(),
            ),
            CellKind::Gru => CellStack::Gru(
                weights
                    .into_iter()
                    .map(|w| UnrolledLayer::new(GruCell::from_weights(w)))
                    .collect(),
            ),
        };
        RecurrentEncoder {
            spec: spec.clone(),
            input,
            stack,
            x_tbi: Tensor::default(),
            out: Tensor::default(),
            grad_tbh: Tensor::default(),
            grad_in: Tensor::default(),
            steps: 0,
            batch: 0,
        }
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &RecurrentSpec {
        &self.spec
    }

    /// Features per time step I.
    pub fn input_size(&self) -> usize {
        self.input
    }

    /// Hidden width H.
    pub fn hidden_size(&self) -> usize {
        self.spec.hidden
    }

    /// Width of one output row: H.
    pub fn out_features(&self) -> usize {
        self.spec.hidden
    }

    /// Time steps T of the last forward.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// One line, e.g. `lstm(2 -> 64, last)`.
    pub fn describe(&self) -> String {
        self.spec.describe(self.input)
    }

    /// The RNN activation (tanh for LSTM/GRU candidate values).
    pub fn activation(&self) -> Activation {
        self.spec.activation()
    }

    /// Runs forward on x `[B, T·I]`; the result is [`RecurrentEncoder::output`].
    ///
    /// # Panics
    /// If the row width is not a multiple of I.
    pub fn forward(&mut self, x: &Tensor<T>) {
        self.forward_from(x, None);
    }

    /// Like [`RecurrentEncoder::forward`], starting layer k from `states[k]` instead of the zero
    /// state (for generation one step at a time: pass the previous call's
    /// [`RecurrentEncoder::final_states`]).
    pub fn forward_from(&mut self, x: &Tensor<T>, states: Option<&[HiddenState<T>]>) {
        let (b, width) = (x.rows(), x.cols());
        let i = self.input;
        assert!(
            i > 0 && width.is_multiple_of(i),
            "recurrent layer reads {i} features per step, but a row has {width} values"
        );
        let t = width / i;
        let h = self.spec.hidden;
        self.steps = t;
        self.batch = b;
        to_time_major(x.data(), b, t, i, &mut self.x_tbi);
        let x_tbi = &self.x_tbi;
        each_stack!(&mut self.stack, layers => {
            for k in 0..layers.len() {
                let (below, rest) = layers.split_at_mut(k);
                let input = below.last().map_or(x_tbi, |l| l.output());
                rest[0].forward(input, states.map(|s| &s[k]));
            }
        });
        // Borrow the stack and the output buffer separately: no copies of the sequence.
        let top = top_output(&self.stack);
        match self.spec.predict {
            Predict::Last => {
                self.out.resize(&[b, h]);
                if t == 0 {
                    self.out.fill(T::ZERO);
                } else {
                    self.out.data_mut().copy_from_slice(&top[(t - 1) * b * h..]);
                }
            }
            Predict::EveryStep => to_batch_major(top, b, t, h, &mut self.out, &[b * t, h]),
        }
    }

    /// Runs backward from ∂L/∂output (`[B, H]` or `[B·T, H]`); ∂L/∂x `[B, T·I]` is
    /// [`RecurrentEncoder::grad_input`] (left empty unless `need_input_grad`).
    pub fn backward(&mut self, grad_out: &Tensor<T>, need_input_grad: bool) {
        let (b, t, h, i) = (self.batch, self.steps, self.spec.hidden, self.input);
        if self.spec.predict == Predict::EveryStep {
            to_time_major(grad_out.data(), b, t, h, &mut self.grad_tbh);
        }
        let predict = self.spec.predict;
        let truncate = self.spec.truncate;
        let grad_tbh = &self.grad_tbh;
        each_stack!(&mut self.stack, layers => {
            for k in (0..layers.len()).rev() {
                let (cur, above) = layers[k..].split_first_mut().expect("k < len");
                let g = match above.first() {
                    Some(up) => OutputGrad::All(up.grad_input()),
                    None => match predict {
                        Predict::Last => OutputGrad::Last(grad_out),
                        Predict::EveryStep => OutputGrad::All(grad_tbh),
                    },
                };
                cur.set_truncation(truncate);
                // Only the bottom layer's ∂L/∂x may be unwanted (a model's input).
                cur.set_need_input_grad(k > 0 || need_input_grad);
                cur.backward(g);
            }
        });
        if need_input_grad {
            let g = each_stack!(&self.stack, layers => layers[0].grad_input().data());
            to_batch_major(g, b, t, i, &mut self.grad_in, &[b, t * i]);
        } else {
            self.grad_in.resize(&[0]);
        }
    }

    /// The state (h, and c for an LSTM) of every layer after the last forward's final step.
    pub fn final_states(&self) -> Vec<HiddenState<T>> {
        each_stack!(&self.stack, layers => layers.iter().map(|l| l.final_state()).collect())
    }

    /// The last forward's output.
    pub fn output(&self) -> &Tensor<T> {
        &self.out
    }

    /// The last backward's ∂L/∂x, `[B, T·I]`.
    pub fn grad_input(&self) -> &Tensor<T> {
        &self.grad_in
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        self.spec.layers
    }

    /// ‖∂L/∂h_t‖ for t = 0..T of layer `k` from the last backward (Frobenius norm over the
    /// batch of the total gradient reaching step t).
    pub fn grad_norms(&self, k: usize) -> &[f64] {
        each_stack!(&self.stack, layers => layers[k].grad_norms())
    }

    /// ‖∂L/∂c_t‖ for t = 0..T of LSTM layer `k` (empty for RNN/GRU).
    pub fn cell_grad_norms(&self, k: usize) -> &[f64] {
        each_stack!(&self.stack, layers => layers[k].cell_grad_norms())
    }

    /// Whether backward keeps every stacked layer's per-step gradients (off by default; see
    /// [`UnrolledLayer::set_keep_step_grads`]).
    pub fn set_keep_step_grads(&mut self, keep: bool) {
        each_stack!(&mut self.stack, layers => {
            for l in layers {
                l.set_keep_step_grads(keep);
            }
        })
    }

    /// The last backward's total ∂L/∂h_t of layer `k` for every t, `[T, B, H]` (what layer
    /// k + 1, or the head for the top layer, sends to h_t plus what arrives from step t+1;
    /// see [`UnrolledLayer::grad_hidden`]); `None` unless kept
    /// ([`RecurrentEncoder::set_keep_step_grads`]).
    pub fn grad_hidden(&self, k: usize) -> Option<&Tensor<T>> {
        each_stack!(&self.stack, layers => layers[k].grad_hidden())
    }

    /// The last backward's ∂L/∂c_t of LSTM layer `k` for every t, `[T, B, H]`, arriving
    /// through c_{t+1} (see [`UnrolledLayer::grad_cell`]); `None` for RNN/GRU or unless kept.
    pub fn grad_cell(&self, k: usize) -> Option<&Tensor<T>> {
        each_stack!(&self.stack, layers => layers[k].grad_cell())
    }

    /// Reports every gate of layer `k` at every step of the last forward, from the cells'
    /// own caches: `f(t, g, j, v)` for step t, gate block g, element j = r·H + u (see
    /// [`UnrolledLayer::visit_gates`]).
    pub fn visit_gates(&self, k: usize, f: &mut dyn FnMut(usize, usize, usize, GateValue)) {
        each_stack!(&self.stack, layers => layers[k].visit_gates(f))
    }

    /// Every step's hidden states h_t of layer `k`, `[T, B, H]`, from the last forward.
    pub fn hidden_states(&self, k: usize) -> &Tensor<T> {
        each_stack!(&self.stack, layers => layers[k].output())
    }

    /// The weights of layer `k`.
    pub fn weights(&self, k: usize) -> &CellWeights<T> {
        each_stack!(&self.stack, layers => layers[k].cell.weights())
    }

    /// Calls `f` on each parameter in PyTorch's order (layer by layer: weight_ih, weight_hh,
    /// bias_ih, bias_hh).
    pub fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        each_stack!(&self.stack, layers => {
            for l in layers {
                l.params().into_iter().for_each(&mut *f);
            }
        })
    }

    /// Calls `f` on each parameter, mutably, in the order of [`RecurrentEncoder::visit_params`].
    pub fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        each_stack!(&mut self.stack, layers => {
            for l in layers {
                l.params_mut().into_iter().for_each(&mut *f);
            }
        })
    }
}
