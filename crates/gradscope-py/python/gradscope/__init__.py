"""gradscope: the gradient diagnosis of gradscope (vanishing / exploding / healthy, the
chain-rule explanation with the measured numbers, ranked remedies, the mean-field prediction)
for records measured outside gradscope — by :mod:`gradscope.torch`'s hooks on a PyTorch model,
or by hand.

numpy is the only dependency; :mod:`gradscope.torch` imports torch when it is imported.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from . import _gradscope
from ._gradscope import Activation, Diagnosis, Recorder

__version__ = _gradscope.__version__

__all__ = [
    "Activation",
    "Diagnosis",
    "Recorder",
    "activation_stats",
    "catalogue",
    "read_dir",
    "weight_stats",
]


def _f64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def catalogue() -> list:
    """The text form of every activation of gradscope's catalogue."""
    return _gradscope.catalogue()


def activation_stats(activation: str, z, a) -> dict:
    """Statistics of an activation layer's output ``a = f(z)`` as gradscope's probe records
    them (rows = first axis; every other position is a unit): mean and std of ``a``, five
    quantiles, share at the ends of f's range, mean |f'(z)|, mean f'(z)², the saturated share
    (|f'(z)| under 1% of max |f'|) and the dead share (units 0 for every row). f' comes from
    gradscope's catalogue. ``z`` may be None (no f' statistics)."""
    return _gradscope.activation_stats(
        str(activation), None if z is None else _f64(z), _f64(a)
    )


def weight_stats(w, fan_in: Optional[int] = None, bias=None) -> dict:
    """‖W‖, σ_w = std(W)·√fan_in and σ_b² = mean b² of a weight (σ's need ``fan_in``)."""
    return _gradscope.weight_stats(_f64(w), fan_in, None if bias is None else _f64(bias))


def read_dir(path) -> Diagnosis:
    """The diagnosis in a directory written by ``gradscope diagnose`` or ``scope.write``."""
    d, _ = _gradscope.read_dir(str(path))
    return d
