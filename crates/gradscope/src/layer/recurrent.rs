//! The recurrent encoder as a [`Module`] of a model.

use super::Module;
use crate::float::Float;
use crate::param::Param;
use crate::recurrent::RecurrentEncoder;
use crate::rng::Rng;
use crate::tensor::Tensor;

impl<T: Float> Module<T> for RecurrentEncoder<T> {
    fn describe(&self) -> String {
        RecurrentEncoder::describe(self)
    }

    fn forward(&mut self, x: &Tensor<T>, _rng: &mut Rng) {
        RecurrentEncoder::forward(self, x);
    }

    fn backward(&mut self, _x: &Tensor<T>, grad_out: &Tensor<T>, need_input_grad: bool) {
        RecurrentEncoder::backward(self, grad_out, need_input_grad);
    }

    fn output(&self) -> &Tensor<T> {
        RecurrentEncoder::output(self)
    }

    fn grad_input(&self) -> &Tensor<T> {
        RecurrentEncoder::grad_input(self)
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        RecurrentEncoder::visit_params(self, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        RecurrentEncoder::visit_params_mut(self, f);
    }

    fn as_recurrent(&self) -> Option<&RecurrentEncoder<T>> {
        Some(self)
    }

    fn as_recurrent_mut(&mut self) -> Option<&mut RecurrentEncoder<T>> {
        Some(self)
    }
}
