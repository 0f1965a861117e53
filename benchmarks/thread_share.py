"""Two trainings at once on this machine's cores: each framework at its default threads
against each given its share (autograder.execution.resources.thread_share), side by side.

    .venv/bin/python benchmarks/thread_share.py [--runs 3] [--steps 150]

Each round starts two processes together, each training a small transformer encoder in
PyTorch (the shape of pytorch-sequences-attention's vision transformer) and then a small
Keras MLP, and prints the pair's wall time per framework; medians over ``--runs`` rounds
and the ratio default/shared. This is what two batch workers, or two test workers, do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.execution.resources import cpu_count, thread_share

_CHILD = r"""
import json, sys, time
steps = int(sys.argv[1])
import numpy as np
import torch
from torch import nn
torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, batch_first=True)
model = nn.Sequential(nn.Linear(1, 32), nn.TransformerEncoder(layer, num_layers=2))
opt = torch.optim.Adam(model.parameters(), 1e-3)
x = torch.randn(16, 64, 1)
started = time.monotonic()
for _ in range(steps):
    opt.zero_grad(); model(x).pow(2).mean().backward(); opt.step()
torch_s = time.monotonic() - started
import keras
keras.utils.set_random_seed(0)
mlp = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
mlp.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
data = np.random.rand(6000, 784).astype("float32"); labels = np.random.randint(0, 10, 6000)
started = time.monotonic()
mlp.fit(data, labels, epochs=3, batch_size=32, verbose=0)
print(json.dumps({"torch": torch_s, "keras": time.monotonic() - started}))
"""


def _pair(env: dict[str, str], steps: int) -> dict[str, float]:
    """Both processes' times, the slower of the two per framework."""
    full = {k: v for k, v in os.environ.items() if k not in thread_share(2, 2)} | env | {"TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(steps)], env=full, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    times = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return {k: max(t[k] for t in times) for k in ("torch", "keras")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    shared = thread_share(cpu_count(), 2)
    print(f"{cpu_count()} cores; shared: {shared}")
    measured: dict[str, list[dict[str, float]]] = {"default": [], "shared": []}
    for n in range(args.runs):
        for name, env in (("default", {}), ("shared", shared)):
            started = time.monotonic()
            measured[name].append(_pair(env, args.steps))
            print(f"round {n + 1} {name:8} torch {measured[name][-1]['torch']:6.1f} s  "
                  f"keras {measured[name][-1]['keras']:6.1f} s  (pair {time.monotonic() - started:.0f} s)", flush=True)
    for framework in ("torch", "keras"):
        default = statistics.median(m[framework] for m in measured["default"])
        share = statistics.median(m[framework] for m in measured["shared"])
        print(f"{framework:6} median default {default:6.1f} s  shared {share:6.1f} s  "
              f"default/shared {default / share:5.1f}x")


if __name__ == "__main__":
    main()
