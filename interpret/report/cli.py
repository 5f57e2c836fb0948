"""The ``interpret`` command.

::

    interpret sites MODEL                         list a model's sites (name, type, output shape)
    interpret report [OUT] [--model M [--weights W]] [--data FOLDER | LABELS.csv | FILES...
                     | pkg.mod:factory | samples | digits | faces] [--max-images N]
                     [--skip-bad-images] [--analyzers a,b] [--extras digits,faces]
                     [--config report.toml] [--device auto|cpu|cuda] [--batch-size N]
    interpret analyzers                           list the report's analyzers and their parameters
    interpret atlas [OUT] [--model M] [--data ...] [--sites a,b,c] [--max-units N]
                    [--maximize none|auto|all|SITE:UNITS] [--rebuild | --extend]
                    (a page per unit; interpret.atlas)
    interpret deconvnet    [--model M] [--data ...] -o top9.png      (top-9 projections + patches)
    interpret occlusion    IMAGE [--model M] -o occlusion.png         (Fig. 7 b, d, e)
    interpret maximize     [--model M] [--classes 1,2] -o maximize.png
    interpret selectivity  [--model M] [--data faces] -o selectivity.png
    interpret embed        [--model M] [--data ...] -o embedding.png
    interpret invariance   [--model M] [--data ...] -o invariance.png
    interpret probes       [--model M] [--data digits] -o probes.png
    interpret filters      [--model M] -o filters.png

Every analyzer command takes ``--set KEY=VALUE`` (repeatable) for any parameter its report
section knows (``interpret analyzers`` lists them). Bad input (an unknown model or
analyzer, a missing folder, an unreadable image) prints one line ``interpret: error: ...``
and exits with status 2, having written nothing.
"""

from __future__ import annotations

import argparse
import ast
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

# Subcommand -> report section it draws.
ANALYZER_COMMANDS = {
    "deconvnet": ("deconvnet", "Top-9 activations per channel with deconvnet projections."),
    "occlusion": ("occlusion", "Occlusion sensitivity of one image (Fig. 7 b, d, e)."),
    "maximize": ("maximize", "Activation maximization of classes and channels."),
    "selectivity": ("selectivity", "Per-class selectivity of neurons (DeepID2+)."),
    "embed": ("embeddings", "Image and patch embeddings (PCA / t-SNE / UMAP) and neighbours."),
    "invariance": ("invariance", "Invariance curves under translation, scaling, rotation."),
    "probes": ("probes", "Linear probes of each layer's features."),
    "filters": ("filters", "Filter health of the model's convolutions."),
    "summary": ("summary", "Per-channel activation statistics (the capture summary)."),
}


def _add_model_args(p: argparse.ArgumentParser, data: bool = True) -> None:
    p.add_argument(
        "--model",
        "-m",
        default=None,
        help="efficientnet_lite0 (default), zfnet, a torchvision/timm name, "
        "package.module:factory, or a checkpoint naming its architecture",
    )
    p.add_argument("--weights", default=None, help="state dict (.pt) to load into the model")
    if data:
        p.add_argument(
            "--data",
            "-d",
            nargs="+",
            default=None,
            help="a folder of class subfolders, a labels CSV (path,label[,attributes]), "
            "package.module:factory returning a Dataset, image files, or samples / digits / "
            "faces (default: the model's bundled data)",
        )
        p.add_argument(
            "--max-images",
            type=int,
            default=None,
            help="use at most N images: a stratified sample over the classes",
        )
        p.add_argument(
            "--skip-bad-images",
            action="store_true",
            default=None,
            help="skip (and count) unreadable images instead of stopping",
        )
    p.add_argument("--device", default=None, help="auto (default: CUDA if available), cpu, cuda:N")
    p.add_argument("--batch-size", type=int, default=None, help="images per batch (32)")
    p.add_argument("--image-size", type=int, default=None, help="input side for user models")
    p.add_argument("--config", "-c", default=None, help="TOML or YAML file with any of these keys")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``interpret`` command."""
    parser = argparse.ArgumentParser(
        prog="interpret",
        description="See what a convolutional network learned (interpret-cnn).",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("sites", help="list a model's sites", description="List a model's sites.")
    p.add_argument("model", help="model name, package.module:factory or checkpoint")
    p.add_argument("--weights", default=None)
    p.add_argument("--filter", default=None, help="glob over site names, e.g. 'blocks.*'")
    p.add_argument("--image-size", type=int, default=None)

    p = sub.add_parser(
        "report",
        help="HTML + Markdown report of every analyzer",
        description="Run every analyzer (or --analyzers) and write a report.",
    )
    p.add_argument("out", nargs="?", default=None, help="output folder (default: report)")
    _add_model_args(p)
    p.add_argument(
        "--analyzers",
        "-a",
        default=None,
        help="comma-separated sections (default: all); see 'interpret analyzers'",
    )
    p.add_argument(
        "--extras",
        default=None,
        help="bundled demos besides your model: digits (ZFNet on digits with switches), "
        "faces (faces vs non-faces); default: both in the default report, none otherwise",
    )
    p.add_argument(
        "--no-digits",
        action="store_true",
        help="leave out the ZFNet-on-digits demo of the default report",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="S.KEY=VALUE",
        help="section parameter, e.g. occlusion.window=32 (repeatable)",
    )

    sub.add_parser("analyzers", help="list the report's analyzers and their parameters")

    from interpret.atlas.cli import add_atlas_parser

    add_atlas_parser(sub, _add_model_args)

    for command, (section, text) in ANALYZER_COMMANDS.items():
        p = sub.add_parser(command, help=text, description=text)
        if command == "occlusion":
            p.add_argument("image", help="the image file to occlude")
        _add_model_args(p, data=command != "occlusion")
        p.add_argument("--output", "-o", required=True, help="PNG file to write")
        p.add_argument("--site", default=None, help="site to analyse (default: chosen per model)")
        p.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="section parameter (repeatable)",
        )
        p.set_defaults(section=section)
    return parser


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        if "," in text:
            return [_parse_value(t.strip()) for t in text.split(",")]
        return text


def _overrides(items: Sequence[str], section: str | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}.")
        if section is None:
            name, dot, key = key.partition(".")
            if not dot:
                raise ValueError(f"--set for a report takes SECTION.KEY=VALUE, got {item!r}.")
        else:
            name = section
        out.setdefault(name, {})[key] = _parse_value(value)
    return out


def _config(args: argparse.Namespace, section: str | None = None) -> Any:
    argv = args.argv if args.argv is not None else sys.argv[1:]
    from interpret.report.config import ReportConfig, load_config_file

    base: dict[str, Any] = {}
    root = None
    if getattr(args, "config", None):
        base = load_config_file(args.config)
        root = Path(args.config).resolve().parent
    config = ReportConfig.from_mapping(base, root)
    sections = {k: dict(v) for k, v in config.sections.items()}
    for name, values in _overrides(getattr(args, "overrides", []), section).items():
        sections.setdefault(name, {}).update(values)
    if section is not None and getattr(args, "site", None):
        from interpret.report import sections as registry

        defaults = registry.get(section).defaults
        key = next(
            (k for k in ("site", "sites", "patch_site", "channel_site") if k in defaults), None
        )
        if key is None:
            raise ValueError(f"The {section} analyzer takes no --site; use --set KEY=VALUE.")
        sections.setdefault(section, {})[key] = [args.site] if key == "sites" else args.site
    data = getattr(args, "data", None)
    if section == "occlusion":
        data = [args.image]
    return config.replace(
        out=Path(args.out) if getattr(args, "out", None) else None,
        model=args.model,
        weights=args.weights,
        data=tuple(data) if data else None,
        analyzers=getattr(args, "analyzers", None),
        device=args.device,
        batch_size=args.batch_size,
        image_size=args.image_size,
        sections=sections,
        extras=_extras(args, config),
        max_images=getattr(args, "max_images", None),
        skip_bad_images=getattr(args, "skip_bad_images", None),
        progress=False if args.quiet else None,
        command=" ".join(shlex.quote(a) for a in ["interpret", *argv]),
    )


def _extras(args: argparse.Namespace, config: Any) -> tuple[str, ...] | None:
    """``--extras`` as given; ``--no-digits`` takes digits out of the default's extras."""
    if getattr(args, "extras", None) is not None:
        return tuple(n.strip() for n in args.extras.split(",") if n.strip())
    if getattr(args, "no_digits", False):
        current = config.extras if config.extras is not None else ("digits", "faces")
        return tuple(n for n in current if n != "digits")
    return None


def _cmd_sites(args: argparse.Namespace) -> int:
    import fnmatch

    import torch

    from interpret.core import capture
    from interpret.models.resolve import resolve_model

    loaded = resolve_model(
        args.model, args.weights, image_size=args.image_size or 224, trained=False
    )
    model = loaded.model
    names = [n for n, _ in model.named_modules() if n]
    if args.filter:
        names = [n for n in names if fnmatch.fnmatch(n, args.filter)]
        if not names:
            raise ValueError(f"No site of {args.model} matches {args.filter!r}.")
    side = loaded.preprocess.size
    side = side if isinstance(side, int) else (side[0] if side else 224)
    example = torch.zeros(1, loaded.preprocess.channels, side, side)
    with torch.inference_mode(), capture(model, names) as acts:
        model(example)
        shapes = {k: tuple(v.shape[1:]) for k, v in acts.items() if isinstance(v, torch.Tensor)}
    modules = dict(model.named_modules())
    # A module called several times is listed once per call: name, name#1, ...
    keys = [k for name in names for k in [name, *_later_calls(name, shapes)]]
    width = max(len(k) for k in keys)
    for key in keys:
        shape = shapes.get(key)
        text = "x".join(str(s) for s in shape) if shape is not None else "-"
        kind = type(modules[key.partition("#")[0]]).__name__
        print(f"{key:<{width}}  {kind:<22} {text}")
    return 0


def _later_calls(name: str, shapes: dict[str, Any]) -> list[str]:
    calls, k = [], 1
    while f"{name}#{k}" in shapes:
        calls.append(f"{name}#{k}")
        k += 1
    return calls


def _cmd_analyzers() -> int:
    from interpret.report import sections

    for name in sections.available():
        section = sections.get(name)
        params = ", ".join(f"{k}={v!r}" for k, v in section.defaults.items())
        print(f"{name:<20} {section.title}")
        if params:
            print(f"{'':<20} {params}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from interpret.report.pipeline import run_report

    config = _config(args)
    if config.out is None:
        config = config.replace(out=Path("report"))
    run = run_report(config)
    print(run.html)
    return 0


def _cmd_analyzer(args: argparse.Namespace) -> int:
    from interpret.report.single import draw_section

    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise ValueError(f"--output must be a .png file, got {output.name}.")
    config = _config(args, section=args.section)
    if args.section == "occlusion" and not Path(args.image).is_file():
        raise FileNotFoundError(f"No such image file: {args.image}.")
    written = draw_section(config, args.section, output)
    for path in written:
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``interpret`` console command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else None
    if args.version:
        import interpret

        print(f"interpret-cnn {interpret.__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    if "MPLBACKEND" not in os.environ:
        import matplotlib

        matplotlib.use("Agg")
    try:
        if args.command == "sites":
            return _cmd_sites(args)
        if args.command == "analyzers":
            return _cmd_analyzers()
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "atlas":
            from interpret.atlas.cli import run_atlas

            return run_atlas(args)
        return _cmd_analyzer(args)
    except (ValueError, TypeError, OSError) as err:  # OSError: permissions, disk full
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"interpret: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interpret: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
