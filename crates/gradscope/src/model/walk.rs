//! Walking a model's layers in forward order, nested ones included, with what surrounds each:
//! its input, ∂L/∂(its output) and its state-dict name. The gradient scope and `grads` read
//! a model this way instead of matching on layer types or positions.

use super::Model;
use crate::float::Float;
use crate::layer::{Layer, LayerKind, Module};
use crate::tensor::Tensor;

/// One layer of a model as the walk sees it.
pub struct ModuleView<'a, T: Float> {
    /// Position in the walk (forward order; a residual block comes before its children).
    pub index: usize,
    /// State-dict prefix without the trailing dot: `"3"`, `"2.block.1"`, `"rnn"`, `"fc.0"`.
    pub name: String,
    /// Nesting level: 0 for a top-level layer, 1 inside a residual block, …
    pub nesting: usize,
    /// The layer's kind.
    pub kind: LayerKind,
    /// The layer.
    pub module: &'a dyn Module<T>,
    /// The input of its last forward (`None` for the model's first layer unless the caller
    /// passed the model input).
    pub input: Option<&'a Tensor<T>>,
    /// ∂L/∂(its output) from the last backward.
    pub grad_output: &'a Tensor<T>,
    /// True for the model's last layer (its output is the network's output).
    pub is_output: bool,
}

#[allow(clippy::too_many_arguments)]
fn walk<'a, T: Float>(
    layers: &'a [Layer<T>],
    names: &dyn Fn(usize) -> String,
    nesting: usize,
    input: Option<&'a Tensor<T>>,
    grad_tail: &'a Tensor<T>,
    is_last_chain: bool,
    index: &mut usize,
    visit: &mut dyn FnMut(ModuleView<'a, T>),
) {
    for (j, layer) in layers.iter().enumerate() {
        let x = if j == 0 {
            input
        } else {
            Some(layers[j - 1].output())
        };
        let grad_output = layers.get(j + 1).map_or(grad_tail, |l| l.grad_input());
        let name = names(j);
        visit(ModuleView {
            index: *index,
            name: name.clone(),
            nesting,
            kind: layer.kind(),
            module: layer.module(),
            input: x,
            grad_output,
            is_output: is_last_chain && j + 1 == layers.len(),
        });
        *index += 1;
        let children = layer.children();
        if !children.is_empty() {
            // F(x) of a residual block reads the block's input and its output gradient is
            // the block's.
            let prefix = format!("{name}.block.");
            walk(
                children,
                &|k| format!("{prefix}{k}"),
                nesting + 1,
                x,
                grad_output,
                false,
                index,
                visit,
            );
        }
    }
}

impl<T: Float> Model<T> {
    /// Calls `visit` on every layer in forward order, nested layers after their parent, with
    /// its input (`input` is the model's input of the last forward, if the caller has it) and
    /// ∂L/∂(its output) of the last backward.
    pub fn visit_modules<'a>(
        &'a self,
        input: Option<&'a Tensor<T>>,
        visit: &mut dyn FnMut(ModuleView<'a, T>),
    ) {
        let mut index = 0;
        walk(
            &self.layers,
            &|j| self.layer_name(j).to_string(),
            0,
            input,
            self.loss_grad(),
            true,
            &mut index,
            visit,
        );
    }

    /// Every layer in forward order (see [`Model::visit_modules`]).
    pub fn modules<'a>(&'a self, input: Option<&'a Tensor<T>>) -> Vec<ModuleView<'a, T>> {
        let mut out = Vec::new();
        self.visit_modules(input, &mut |m| out.push(m));
        out
    }
}
