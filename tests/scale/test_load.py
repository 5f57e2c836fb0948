"""Memory does not grow with the dataset: 5,000 vs 50,000 images, every streaming analyzer.

The peak is the child's own: each scan runs in a fresh interpreter (``subprocess``, so
fork + exec) that reads its ``VmHWM`` from ``/proc/self/status`` when the scan is done.
``ru_maxrss`` would not do: Linux keeps it across ``fork`` and ``execve``, so a child of
the large pytest process reports the parent's peak until its own exceeds it
(:func:`test_child_peak_is_its_own` shows the difference). The same measure catches a
scan that keeps every activation (:func:`test_measure_catches_a_scan_that_keeps_everything`).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"

CHILD = f"""
import sys
sys.path.insert(0, {HERE!r})
import torch
from streaming import GeneratedImages, all_streaming_analyzers
from interpret import scan
from interpret.testing import chain_cnn


class KeepEverything:
    '''Not streaming: stores a copy of every activation it sees.'''

    def __init__(self, sites):
        self.sites, self.kept = tuple(sites), []

    def update(self, activations, batch):
        self.kept += [activations[site].cpu().clone() for site in self.sites]

    def merge(self, other):
        self.kept += other.kept

    def result(self):
        return len(self.kept)


n, keep = int(sys.argv[1]), sys.argv[2] == "keep"
torch.set_num_threads(1)
analyzers = all_streaming_analyzers(256)
if keep:
    analyzers.append(KeepEverything(["features.0", "features.1"]))
results = scan(chain_cnn(), GeneratedImages(n, size=(16, 16)), analyzers, batch_size=250,
               progress=False)
assert len(results) == len(analyzers)
print(n, {PEAK} / 1024)
"""


def _peak_mib(n: int, keep_everything: bool = False) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), "keep" if keep_everything else "stream"],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    count, peak = out.stdout.split()[-2:]
    assert int(count) == n
    return float(peak)


def test_child_peak_is_its_own():
    """A tiny child of this (large) process: ``VmHWM`` is its own, ``ru_maxrss`` is not."""
    parent_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    code = f"import resource; print({PEAK} / 1024, resource.getrusage(0).ru_maxrss / 1024)"
    own, inherited = map(float, subprocess.check_output([sys.executable, "-c", code]).split())
    assert own < 64 < parent_mib  # a bare interpreter, the pytest process with torch
    assert inherited > 4 * own  # ru_maxrss, what the old test read: the parent's peak


@pytest.mark.slow
def test_peak_rss_flat_from_5k_to_50k_images():
    small, large = _peak_mib(5_000), _peak_mib(50_000)
    print(f"peak RSS (VmHWM): 5,000 images {small:.1f} MiB; 50,000 images {large:.1f} MiB")
    assert large <= small * 1.10, (small, large)


@pytest.mark.slow
def test_measure_catches_a_scan_that_keeps_everything():
    small, large = _peak_mib(2_000, True), _peak_mib(20_000, True)
    print(f"peak RSS (VmHWM), keeping every activation: 2,000 {small:.1f}; 20,000 {large:.1f}")
    assert large > small * 1.10, (small, large)
