//! A model's state dict: parameters and buffers by PyTorch `nn.Sequential` names.

use super::Model;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::tensor::Tensor;

impl<T: Float> Model<T> {
    /// Every parameter and buffer with its PyTorch `state_dict` name, in layer order
    /// (BatchNorm1d adds `running_mean`, `running_var`, `num_batches_tracked`).
    pub fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        self.layers.iter().for_each(|l| l.state_entries(&mut out));
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
        let find = |name: &str| find(name).cloned();
        for layer in &mut self.layers {
            layer.load_state_entries(&find);
        }
        Ok(())
    }
}
