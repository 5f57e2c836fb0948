"""Counts of the generated bad inputs, per entry point and category (printed by conftest)."""

from __future__ import annotations

from collections import Counter

TRIED: Counter[str] = Counter()
REFUSED: Counter[str] = Counter()
CATEGORIES: Counter[tuple[str, str]] = Counter()
