"""How many submissions grade at once, and where: planned from cores, memory and GPUs."""

from __future__ import annotations

import pytest

from autograder.errors import ConfigError
from autograder.execution.resources import Gpu, plan_slots

GIB = 1024**3


def test_cpu_workers_follow_cores_and_memory_and_share_the_threads() -> None:
    slots = plan_slots(None, "cpu", kernel_memory=3 * GIB, gpu_memory=2 * GIB, gpus=[], cores=8, memory=24 * GIB)
    assert len(slots) == 5  # 24 GiB / (3 GiB kernel + 1.5 GiB grader), fewer than 8 cores
    assert {s.device for s in slots} == {"cpu"}
    assert slots[0].env["OMP_NUM_THREADS"] == "1" and "CUDA_VISIBLE_DEVICES" not in slots[0].env
    two = plan_slots(None, "cpu", kernel_memory=GIB, gpu_memory=GIB, gpus=[], cores=2, memory=64 * GIB)
    assert len(two) == 2
    one = plan_slots(1, "cpu", kernel_memory=GIB, gpu_memory=GIB, gpus=[], cores=2, memory=64 * GIB)
    assert one[0].env == {}  # a lone kernel keeps the frameworks' defaults, as bare nbclient does


def test_gpu_kernels_spread_over_gpus_then_share_them_up_to_their_memory() -> None:
    gpus = [Gpu(0, "A100", 40 * GIB), Gpu(1, "A100", 16 * GIB)]
    slots = plan_slots(None, "auto", kernel_memory=GIB, gpu_memory=8 * GIB, gpus=gpus, cores=32, memory=256 * GIB)
    # GPU 0 holds 5 kernels, GPU 1 holds 2: seven slots, interleaved.
    assert [s.device for s in slots] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0", "cuda:0", "cuda:0"]
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots[:2]] == ["0", "1"]


def test_auto_without_gpus_is_cpu_and_cuda_without_gpus_is_refused() -> None:
    assert plan_slots(2, "auto", kernel_memory=GIB, gpu_memory=GIB, gpus=[], cores=2, memory=8 * GIB)[0].device == "cpu"
    with pytest.raises(ConfigError, match="no GPU"):
        plan_slots(2, "cuda", kernel_memory=GIB, gpu_memory=GIB, gpus=[], cores=2, memory=8 * GIB)
    with pytest.raises(ConfigError, match="at least 1"):
        plan_slots(0, "cpu", kernel_memory=GIB, gpu_memory=GIB, gpus=[], cores=2, memory=8 * GIB)
