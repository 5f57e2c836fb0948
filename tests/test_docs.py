"""The documentation site builds with warnings as errors, and covers every analyzer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ANALYZER_PAGES = [
    "deconvnet",
    "occlusion",
    "maximize",
    "selectivity",
    "embeddings",
    "invariance",
    "probes",
    "filters",
]


def _nav_files() -> list[str]:
    import yaml

    def walk(node) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [f for item in node for f in walk(item)]
        if isinstance(node, dict):
            return [f for value in node.values() for f in walk(value)]
        return []

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *a: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)
    return walk(config["nav"])


def test_nav_lists_existing_pages_and_every_notebook() -> None:
    files = _nav_files()
    for name in files:
        assert (DOCS / name).exists(), name
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(Path(f).name for f in files if f.endswith(".ipynb")) == notebooks
    for page in ANALYZER_PAGES:
        assert f"analyzers/{page}.md" in files
    for page in ("getting-started.md", "scale.md", "report.md"):
        assert page in files


@pytest.mark.parametrize("page", ANALYZER_PAGES)
def test_analyzer_page_names_paper_and_conventions(page: str) -> None:
    text = (DOCS / "analyzers" / f"{page}.md").read_text()
    assert "**Reproduces**" in text and "## Conventions" in text and "## How to" in text


def test_scale_page_has_torchrun_lines() -> None:
    text = (DOCS / "scale.md").read_text()
    assert "torchrun --nproc-per-node" in text and "checkpoint=" in text and "amp=True" in text


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    run = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    api = (site / "api" / "core" / "index.html").read_text()
    assert (
        "interpret.core.scan" in api and "One pass" in (site / "report" / "index.html").read_text()
    )
    for name in ("00_quickstart", "05_embeddings"):
        assert (site / "tutorials" / name / "index.html").is_file()
