"""Memory does not grow with the dataset: 5,000 vs 50,000 images, every streaming analyzer."""

import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "load_run.py")


def _peak_mib(n: int) -> float:
    out = subprocess.run(
        [sys.executable, SCRIPT, str(n)], check=True, capture_output=True, text=True, timeout=1800
    )
    count, peak = out.stdout.split()[-2:]
    assert int(count) == n
    return float(peak)


@pytest.mark.slow
def test_peak_rss_flat_from_5k_to_50k_images():
    small, large = _peak_mib(5_000), _peak_mib(50_000)
    print(f"peak RSS: 5,000 images {small:.1f} MiB; 50,000 images {large:.1f} MiB")
    assert large <= small * 1.10, (small, large)
