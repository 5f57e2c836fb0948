"""Draw the documentation's figures: ``python docs/make_figures.py``.

Runs the report on the embedded default (the bundled EfficientNet-Lite0 on the sample
photos, plus the ZFNet-on-digits and faces demos), exactly as ``interpret report`` does,
so every picture comes from the library's own sections and plotting functions. Keeps the
figures named in :data:`FIGURES`, writes each as ``docs/figures/NAME.webp``, a composite
``docs/figures/overview.webp`` for the README, and ``docs/gallery.md`` with all of them.

The report's results are kept in ``--work`` (default ``build/docs-report``) and reused
when nothing changed, so a rerun after a change of a plotting function takes seconds.
Only the public API is used (:func:`interpret.report.run_report`); a figure is found by
words of its title, so sections may add figures without breaking this script.
"""

from __future__ import annotations

import argparse
import io
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES_DIR = HERE / "figures"
WIDTH = 1400
"""Widest figure kept, in pixels (wider ones are scaled down)."""
QUALITY = 80
"""WebP quality (lossy; the whole set stays under about 3 MB)."""


@dataclass(frozen=True)
class DocFigure:
    """One figure of the docs: which report figure, where it goes, what to look for.

    Attributes
    ----------
    name:
        File stem under ``docs/figures/``.
    section:
        Report section that draws it.
    words:
        Lower-case words that its title contains (the first figure of the section whose
        title contains all of them); empty: the section's first figure.
    page:
        The analyzer page (under ``docs/analyzers/``) that shows it.
    caption:
        What it shows and what to look for.
    """

    name: str
    section: str
    words: tuple[str, ...]
    page: str
    caption: str


FIGURES: tuple[DocFigure, ...] = (
    DocFigure(
        "deconvnet",
        "deconvnet",
        ("top-9",),
        "deconvnet",
        "Top-9 activations of four channels of EfficientNet-Lite0 over the sample photos "
        "(Zeiler & Fergus Fig. 2): for each channel, the nine strongest activations, each "
        "from a different image, projected to pixels (left) beside the image patch under "
        "the unit (right). Look for what the nine share: the projection keeps only the part "
        "of each patch that drives the unit (a colour, an edge, a texture).",
    ),
    DocFigure(
        "deconvnet-switches",
        "deconvnet_switches",
        ("top-9",),
        "deconvnet",
        "The paper's own deconvnet: a ZFNet trained on the digits, walked back with its "
        "max-pooling switches, patches cropped to each unit's exact receptive field. Look "
        "for strokes: each channel answers to one stroke shape at one place in its window.",
    ),
    DocFigure(
        "occlusion",
        "occlusion",
        (),
        "occlusion",
        "Occlusion maps (Zeiler & Fergus Fig. 7): (a) the image with the grey square where "
        "it hurts most, (b) the total activation of the strongest deep feature map for each "
        "position of the square, (c) that map's strongest unit projected to pixels (guided "
        "backpropagation: Lite0 has no max-pooling switches), (d) the probability of the "
        "class, (e) the most probable class. The green box is the object's, stored with the "
        "photo. Look for the cold spot of (d) inside it, where the decision depends on the "
        "object, not on the background.",
    ),
    DocFigure(
        "maximize",
        "maximize",
        ("classes",),
        "maximize",
        "Class visualizations: images optimised from noise to raise one ImageNet logit of "
        "EfficientNet-Lite0 (the lucid preset: Fourier parameterisation, decorrelated "
        "colour, jitter); the final logit under each. Look for parts of the class repeated "
        "all over the canvas (textures, eyes, fins), not a whole object.",
    ),
    DocFigure(
        "maximize-channels",
        "maximize",
        ("channels",),
        "maximize",
        "Hidden units: images that raise the mean activation of single channels. Look for "
        "one texture or pattern per channel, the same vocabulary the deconvnet shows.",
    ),
    DocFigure(
        "selectivity",
        "selectivity",
        ("histograms",),
        "selectivity",
        "Selectivity (DeepID2+ Fig. 7): activation histograms of the four neurons that "
        "separate faces from the other images best, faces against the rest. Look for two "
        "humps that barely overlap: one neuron alone tells the classes apart.",
    ),
    DocFigure(
        "selectivity-means",
        "selectivity",
        ("mean activation",),
        "selectivity",
        "Mean activation of every neuron on faces (sorted) against the rest (DeepID2+ "
        "Fig. 6), excitatory neurons marked green, inhibitory red. Look for the few neurons "
        "far above the rest: the face detectors of this layer.",
    ),
    DocFigure(
        "embeddings",
        "embeddings",
        ("patch map",),
        "embeddings",
        "Patch map: local activation vectors of a middle layer laid out by t-SNE, each shown "
        "by the receptive field it sees. Look for neighbourhoods of one kind of patch "
        "(sky, fur, text, edges): the layer's local vocabulary.",
    ),
    DocFigure(
        "embeddings-images",
        "embeddings",
        ("image map",),
        "embeddings",
        "Image map: each photo (and its crops) as its pooled last-layer vector, laid out by "
        "t-SNE. Look for crops of one photo landing together and similar scenes nearby.",
    ),
    DocFigure(
        "invariance",
        "invariance",
        (),
        "invariance",
        "Invariance curves (Zeiler & Fergus Fig. 5): feature distance to the untransformed "
        "image at a shallow and a deep layer, and the true class's probability, as the "
        "photos are shifted, scaled and rotated. Look for the deep curve staying flatter "
        "than the shallow one, and for rotation hurting most.",
    ),
    DocFigure(
        "probes",
        "probes",
        (),
        "probes",
        "Linear probes (Zeiler & Fergus Table 7): cross-validated accuracy of a softmax "
        "classifier on each layer's pooled features. Look for the rise with depth and the "
        "gap to the training accuracy (over-fitting).",
    ),
    DocFigure(
        "filters",
        "filters",
        ("filters of",),
        "filters",
        "First-layer filters of EfficientNet-Lite0, each scaled jointly (Zeiler & Fergus "
        "Fig. 6); flagged filters framed (dead, dominating, over the clipping radius). Look "
        "for framed filters: units the network wastes.",
    ),
    DocFigure(
        "filters-aliasing",
        "filters",
        ("aliasing",),
        "filters",
        "Aliasing of the first layer: the share of each filter's spectral power above what "
        "its stride can represent. Look for tall bars: those filters alias, the symptom the "
        "paper fixed by a smaller stride.",
    ),
)

OVERVIEW = (("deconvnet", "maximize", "embeddings"), ("occlusion",), ("selectivity",))
"""Figures in the README's composite: rows, each scaled to fill the width."""
OVERVIEW_LABELS = {
    "deconvnet": "deconvnet: top-9 per channel",
    "maximize": "class visualizations",
    "embeddings": "t-SNE map of patches",
    "occlusion": "occlusion sensitivity (Fig. 7)",
    "selectivity": "neuron selectivity: faces against the rest",
}


def run_default_report(work: Path):
    """The report on the embedded default, in ``work`` (reused when unchanged)."""
    from interpret.report import ReportConfig, run_report

    return run_report(ReportConfig(out=work, progress=False, command="docs/make_figures.py"))


def pick(run, figure: DocFigure):
    """The rendered report figure that ``figure`` names; ``ValueError`` if none."""
    sections = {s.name: s for s in run.sections}
    section = sections.get(figure.section)
    if section is None or not section.figures:
        why = "not in the report" if section is None else section.skipped or "no figures"
        raise ValueError(f"{figure.name}: section {figure.section!r} has no figure ({why}).")
    for rendered in section.figures:
        if all(word in rendered.title.lower() for word in figure.words):
            return rendered
    titles = [f.title for f in section.figures]
    raise ValueError(
        f"{figure.name}: no figure of {figure.section!r} titled {figure.words}: {titles}"
    )


def to_image(png: bytes):
    """PNG bytes as an RGB PIL image, at most :data:`WIDTH` wide."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    return image


def composite(images: dict, width: int = 1600):
    """The README picture: the :data:`OVERVIEW` rows, each panel labelled above."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 24)
    gap, label = 24, 34
    drawn = []
    for row in OVERVIEW:
        # one height for the row's panels, so that together they fill the width
        ratios = [images[n].width / images[n].height for n in row]
        height = round((width - gap * (len(row) - 1)) / sum(ratios))
        canvas = Image.new("RGB", (width, height + label), "white")
        draw = ImageDraw.Draw(canvas)
        x = 0
        for name, ratio in zip(row, ratios):
            panel = images[name].resize((round(ratio * height), height), Image.LANCZOS)
            draw.text((x + 4, 2), OVERVIEW_LABELS[name], fill=(30, 30, 30), font=font)
            canvas.paste(panel, (x, label))
            x += panel.width + gap
        drawn.append(canvas)
    out = Image.new("RGB", (width, sum(c.height for c in drawn) + gap * (len(drawn) - 1)), "white")
    y = 0
    for canvas in drawn:
        out.paste(canvas, (0, y))
        y += canvas.height + gap
    return out


def gallery_markdown() -> str:
    """``docs/gallery.md``: every figure with its caption, by analyzer page."""
    lines = [
        "# Gallery",
        "",
        "What the toolkit draws on the embedded default (the bundled EfficientNet-Lite0 on",
        "the sample photos, a ZFNet trained on the digits, faces versus non-faces), made by",
        "`python docs/make_figures.py` from the report's sections: `interpret report OUT`",
        "draws all of them and more on your model and data (see",
        "[Use it on your model](your-model.md)).",
        "",
    ]
    for page in dict.fromkeys(f.page for f in FIGURES):
        title = page.capitalize() if page != "maximize" else "Activation maximization"
        lines += [f"## {title}", "", f"See [{title}](analyzers/{page}.md).", ""]
        for figure in (f for f in FIGURES if f.page == page):
            caption = textwrap.fill(figure.caption, 90, break_on_hyphens=False)
            lines += [f"![{figure.name}](figures/{figure.name}.webp)", "", caption, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "docs-report")
    parser.add_argument("--out", type=Path, default=FIGURES_DIR)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    run = run_default_report(args.work)
    args.out.mkdir(parents=True, exist_ok=True)
    images = {f.name: to_image(pick(run, f).png) for f in FIGURES}
    images["overview"] = composite(images)
    total = 0
    for name, image in images.items():
        path = args.out / f"{name}.webp"
        image.save(path, "WEBP", quality=QUALITY, method=6)
        total += path.stat().st_size
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
            f"{image.width}x{image.height}, {path.stat().st_size // 1024} KiB"
        )
    (HERE / "gallery.md").write_text(gallery_markdown())
    print(
        f"{len(images)} figures, {total / 2**20:.2f} MiB, {time.perf_counter() - start:.0f} s "
        f"(report: computed {run.computed}, reused {run.reused})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
