"""Prints how many bad inputs each entry point was given, and how many it refused."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import tally  # noqa: E402


def pytest_terminal_summary(terminalreporter) -> None:
    if not tally.TRIED:
        return
    write = terminalreporter.write_line
    write("")
    write("fuzz: bad inputs tried / refused with ValueError or TypeError, per entry point")
    for entry in sorted(tally.TRIED):
        cats = sorted(c for e, c in tally.CATEGORIES if e == entry)
        write(
            f"  {entry:24s} {tally.TRIED[entry]:5d} tried, {tally.REFUSED[entry]:5d} refused; "
            f"{len(cats)} categories: {', '.join(cats)}"
        )
    write(
        f"  total {sum(tally.TRIED.values())} tried, {sum(tally.REFUSED.values())} refused, "
        f"{len(tally.CATEGORIES)} (entry, category) pairs"
    )
