"""Shared helpers: torch is optional (its tests are skipped with a message without it), and
the equivalence tests need the `gradscope` command (GRADSCOPE=path, or on PATH)."""

import os
import shutil

import pytest

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(
    not HAVE_TORCH, reason="torch is not importable here: the PyTorch adapter's tests are skipped"
)


def gradscope_cli():
    return os.environ.get("GRADSCOPE") or shutil.which("gradscope")
