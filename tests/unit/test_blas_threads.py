"""A `churnwatch` process keeps numpy's BLAS to one thread (streams/cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import os
import streams.cli  # noqa: F401  (what the churnwatch command loads first)
import numpy
a = numpy.ones((300, 300)); a @ a
print(len(os.listdir('/proc/self/task')))
"""


def _threads(env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="needs Linux /proc and two cores for OpenBLAS to start threads")
def test_the_command_runs_blas_on_one_thread_unless_told_otherwise():
    base = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    assert _threads(base) == 1
    # An explicit setting wins: with it, OpenBLAS starts its threads as usual.
    assert _threads({**base, "OPENBLAS_NUM_THREADS": "2"}) > 1
