"""Constants and the report tests' browser helpers, shared by the atlas tests."""

from __future__ import annotations

from pathlib import Path


def _report_conftest():
    """The report tests' browser helpers (finding Chromium, its flags), reused here."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "report" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_report_conftest_for_atlas", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REPORT = _report_conftest()

SITES = ["features.1", "features.4", "features.7"]
CLASSES = ("cat", "coffee", "rocket")
