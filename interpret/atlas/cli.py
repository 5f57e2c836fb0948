"""The ``interpret atlas`` subcommand (registered by :mod:`interpret.report.cli`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

MAX_UNITS = 512  # interpret.atlas.MAX_UNITS, without importing torch here

__all__ = ["add_atlas_parser", "run_atlas"]


def add_atlas_parser(sub: Any, add_model_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``atlas`` to the ``interpret`` subcommands (model and data options as the report's)."""
    p = sub.add_parser(
        "atlas",
        help="a static site with a page per unit (top-9 crops, projections, selectivity)",
        description="Write the unit atlas of a model over labelled data: index, a page per "
        "site, a page per unit (<site>/<unit>.html), search; opens from file://.",
    )
    p.add_argument("out", nargs="?", default=None, help="output folder (default: atlas)")
    add_model_args(p)
    p.add_argument("--sites", default=None, help="comma-separated spatial sites (default: 3)")
    p.add_argument(
        "--max-units",
        type=int,
        default=None,
        help=f"refuse sites with more units than this ({MAX_UNITS})",
    )
    p.add_argument(
        "--maximize",
        default=None,
        metavar="WHICH",
        help="feature visualizations: none, auto (8 most selective units per site on the "
        "CPU, 16 on a GPU; default), all, or units: SITE:3,7,9 or SITE:0-15 or SITE:all, "
        "several joined by ';'",
    )
    p.add_argument("--top", type=int, default=None, help="dataset crops per unit (9)")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="draw the pages again from OUT/data (no model, no data, no scan)",
    )
    p.add_argument(
        "--extend",
        action="store_true",
        help="add the --maximize visualizations that OUT lacks (same --model/--weights/"
        "--image-size as the build; no data, no scan: --data, --sites, --top, --batch-size, "
        "--max-units, --max-images are refused), then draw the pages again",
    )


def run_atlas(args: argparse.Namespace) -> int:
    """Run ``interpret atlas``; prints the index page's path."""
    from interpret.atlas.builder import build

    if args.config:
        raise ValueError("interpret atlas takes its options on the command line, not --config.")
    sites = [s.strip() for s in args.sites.split(",") if s.strip()] if args.sites else None
    result = build(
        args.out or "atlas",
        args.model,
        args.data,
        weights=args.weights,
        sites=sites,
        max_units=args.max_units,
        maximize=args.maximize,
        k=args.top,
        batch_size=args.batch_size,
        image_size=args.image_size,
        max_images=args.max_images,
        skip_bad_images=bool(args.skip_bad_images),
        device=args.device or "auto",
        rebuild=args.rebuild,
        extend=args.extend,
        progress=not args.quiet,
        log=None if args.quiet else lambda m: print(f"interpret: {m}", file=sys.stderr),
    )
    print(result.index)
    return 0
