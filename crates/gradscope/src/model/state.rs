//! A model's state dict: parameters and buffers by PyTorch `nn.Sequential` names.

use super::Model;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::layer::Layer;
use crate::tensor::Tensor;

/// One entry of the state dict, borrowed or computed.
fn collect<T: Float>(layer: &Layer<T>, out: &mut Vec<(String, Tensor<T>)>) {
    match layer {
        Layer::BatchNorm1d(b) => {
            let prefix = b.weight.name.trim_end_matches("weight").to_string();
            out.push((b.weight.name.clone(), b.weight.value.clone()));
            out.push((b.bias.name.clone(), b.bias.value.clone()));
            out.push((format!("{prefix}running_mean"), b.running_mean.clone()));
            out.push((format!("{prefix}running_var"), b.running_var.clone()));
            out.push((
                format!("{prefix}num_batches_tracked"),
                Tensor::full(&[], T::from_f64(b.num_batches_tracked as f64)),
            ));
        }
        Layer::Residual(r) => r.block.iter().for_each(|l| collect(l, out)),
        other => other.visit_params(&mut |p| out.push((p.name.clone(), p.value.clone()))),
    }
}

impl<T: Float> Model<T> {
    /// Every parameter and buffer with its PyTorch `state_dict` name, in layer order
    /// (BatchNorm1d adds `running_mean`, `running_var`, `num_batches_tracked`).
    pub fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        self.layers.iter().for_each(|l| collect(l, &mut out));
        out
    }

    /// Loads every entry of [`Model::state_dict`] from `tensors` (by name), checking shapes;
    /// `source` names the file in errors. Extra tensors are an error unless their names are in
    /// `ignore_prefixes`. Nothing changes unless everything fits.
    pub fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor<T>)],
        source: &str,
        ignore_prefixes: &[&str],
    ) -> Result<()> {
        let expected = self.state_dict();
        let find = |name: &str| tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let mut missing = Vec::new();
        for (name, t) in &expected {
            match find(name) {
                None => missing.push(name.clone()),
                Some(v) if v.shape() != t.shape() => {
                    return Err(Error::Io(format!(
                        "{source}: tensor `{name}` has shape {:?}, the model needs {:?}",
                        v.shape(),
                        t.shape()
                    )))
                }
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            let have: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Error::Io(format!(
                "{source}: missing tensors {missing:?}; the file has {have:?}"
            )));
        }
        let extra: Vec<&str> = tensors
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !expected.iter().any(|(e, _)| e == n))
            .filter(|n| !ignore_prefixes.iter().any(|p| n.starts_with(p)))
            .collect();
        if !extra.is_empty() {
            return Err(Error::Io(format!(
                "{source}: unexpected tensors {extra:?} (the model has {:?})",
                expected.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
            )));
        }
        for layer in &mut self.layers {
            load_layer(layer, &find);
        }
        Ok(())
    }
}

fn load_layer<'a, T: Float>(layer: &mut Layer<T>, find: &dyn Fn(&str) -> Option<&'a Tensor<T>>) {
    match layer {
        Layer::BatchNorm1d(b) => {
            let prefix = b.weight.name.trim_end_matches("weight").to_string();
            let get = |n: String| find(&n).expect("checked").clone();
            b.weight.value = get(b.weight.name.clone());
            b.bias.value = get(b.bias.name.clone());
            b.running_mean = get(format!("{prefix}running_mean"));
            b.running_var = get(format!("{prefix}running_var"));
            b.num_batches_tracked =
                get(format!("{prefix}num_batches_tracked")).data()[0].to_f64() as u64;
        }
        Layer::Residual(r) => r.block.iter_mut().for_each(|l| load_layer(l, find)),
        other => other.visit_params_mut(&mut |p| {
            p.value = find(&p.name).expect("checked").clone();
        }),
    }
}
