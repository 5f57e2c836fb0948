"""Constants and the browser helpers shared by the atlas tests."""

from __future__ import annotations

from chromium import CHROMIUM_FLAGS, find_chromium  # tests/chromium.py, shared

__all__ = ["CHROMIUM_FLAGS", "CLASSES", "SITES", "find_chromium"]

SITES = ["features.1", "features.4", "features.7"]
CLASSES = ("cat", "coffee", "rocket")
