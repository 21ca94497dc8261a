"""The ten lines a PyTorch user needs: a deep sigmoid MLP, watched every 10 steps; prints the
verdict with its explanation and remedies and writes runs/quickstart/report.html.

    PYTHON=python-with-torch
    $PYTHON examples/quickstart.py
"""

import torch
from torch import nn

import gradscope.torch

torch.manual_seed(0)
layers = [m for i in range(8) for m in (nn.Linear(16 if i == 0 else 64, 64), nn.Sigmoid())]
model = nn.Sequential(*layers, nn.Linear(64, 2))
x, y = torch.randn(256, 16), torch.randint(0, 2, (256,))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
with gradscope.torch.watch(model, every=10) as scope:
    for step in range(100):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step(); scope.loss(loss)
print(scope.diagnosis())
scope.write("runs/quickstart")
