"""An atlas on disk, and unit cards for notebooks (``atlas.unit("blocks.5", 37)``)."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

from interpret.atlas.compute import AtlasData
from interpret.atlas.facts import folder, unit_facts
from interpret.atlas.pages import CSS, unit_card

__all__ = ["Atlas", "UnitCard", "open_atlas"]


def _data_uri(path: Path) -> str:
    kind = "image/webp" if path.suffix == ".webp" else "image/png"
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@dataclass(frozen=True)
class UnitCard:
    """One unit of an atlas: its facts (plain values) and its page.

    ``facts`` holds what the unit page shows (statistics, top-k rows, per-class means,
    histogram, correlated units); in Jupyter the card is drawn inline.
    """

    site: str
    unit: int
    facts: dict
    page: Path
    strip: Path | None
    visualization: Path | None

    def _repr_html_(self) -> str:
        strip = _data_uri(self.strip) if self.strip else ""
        fv = _data_uri(self.visualization) if self.visualization else None
        root = self.page.parent.parent.resolve().as_uri() + "/"
        body = unit_card(self.facts, strip, fv, root)
        return f"<div class='interpret-atlas-unit'><style>{CSS}</style>{body}</div>"


@dataclass(frozen=True)
class Atlas:
    """A written atlas: its folder, its numbers and (after a build) its stage timings."""

    path: Path
    data: AtlasData
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def index(self) -> Path:
        """``index.html``."""
        return self.path / "index.html"

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(self.data.sites)

    def page(self, site: str, unit: int) -> Path:
        """The unit's page ``<site>/<unit>.html``."""
        return self.path / folder(site) / f"{unit}.html"

    def unit(self, site: str, unit: int) -> UnitCard:
        """The card of ``site:unit`` (``ValueError`` for an unknown site or unit)."""
        facts = unit_facts(self.data, site, int(unit))
        place = self.path / "img" / folder(site)
        strip = next(iter(sorted(place.glob(f"u{unit}.*"))), None)
        fv = next(iter(sorted(place.glob(f"fv{unit}.*"))), None)
        return UnitCard(site, int(unit), facts, self.page(site, unit), strip, fv)

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{s} ({d.shape[0]} units)" for s, d in self.data.sites.items())
        return (f"<div><b>Unit atlas</b> of {self.data.model} over {self.data.data}: {counts}. "
                f"<a href='{self.index.resolve().as_uri()}'>index.html</a></div>")  # fmt: skip


def open_atlas(path: str | os.PathLike[str]) -> Atlas:
    """An atlas written earlier by :func:`interpret.atlas.build`."""
    path = Path(path)
    saved = path / "data" / "atlas.pt"
    if not saved.is_file():
        raise ValueError(f"{path} holds no atlas (no data/atlas.pt); build one first.")
    return Atlas(path, AtlasData.load(saved))
