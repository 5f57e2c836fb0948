"""The documentation site builds with warnings as errors, covers every analyzer, and shows
what the toolkit draws: every analyzer page opens with its figure, the tutorials carry
their outputs, and the built site loads every image in headless Chromium."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
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


IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)", re.DOTALL)
FIGURE_BUDGET = 3 * 2**20  # bytes, the whole of docs/figures


def _make_figures():
    """``docs/make_figures.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_figures"] = module
    spec.loader.exec_module(module)
    return module


def images_of(page: Path) -> list[Path]:
    """The files of every Markdown image of ``page``, resolved against its folder."""
    return [(page.parent / src).resolve() for src in IMAGE.findall(page.read_text())]


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
    _Loader.add_constructor("!ENV", lambda *a: None)  # mkdocs' environment variables
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


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` with the tutorials executed afresh (no output cache)."""
    site = tmp_path_factory.mktemp("docs") / "site"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # as in Jupyter
    env.update(DOCS_EXECUTE_NOTEBOOKS="true", DOCS_NOTEBOOK_CACHE="false")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    run = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return site


@pytest.mark.slow
def test_mkdocs_build_strict(built_site: Path) -> None:
    site = built_site
    assert (site / "index.html").is_file()
    api = (site / "api" / "core" / "index.html").read_text()
    assert (
        "interpret.core.scan" in api and "One pass" in (site / "report" / "index.html").read_text()
    )
    # Every tutorial page carries its outputs; all but the quickstart (tables, a card)
    # show figures as pictures.
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = (site / "tutorials" / notebook.stem / "index.html").read_text()
        assert "jp-OutputArea-output" in page, notebook.name
        if notebook.stem != "00_quickstart":
            assert page.count('src="data:image/png;base64,') >= 2, notebook.name
        assert "Traceback" not in page, notebook.name
    for page in ANALYZER_PAGES:
        html = (site / "analyzers" / page / "index.html").read_text()
        assert f'src="../../figures/{page}.webp"' in html, page
    # Nothing in the site is fetched from elsewhere (CI and readers may be offline).
    for html in site.rglob("*.html"):
        assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', html.read_text()), html
    # The notebooks themselves stay without outputs.
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        assert '"outputs": []' in notebook.read_text() and '"image/png"' not in notebook.read_text()


@pytest.mark.slow
def test_site_in_chromium(built_site: Path, tmp_path: Path) -> None:
    """The index, an analyzer page and a tutorial, served over HTTP: every image loads,
    no console message, no failed resource."""
    from functools import partial
    from threading import Thread

    from chromium import find_chromium, open_page, with_page_check

    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (scripts/install-browser.sh installs it).")
    site = tmp_path / "site"
    shutil.copytree(built_site, site)
    pages = ["index.html", "analyzers/deconvnet/index.html", "tutorials/01_deconvnet/index.html"]
    for page in pages:
        (site / page).write_text(with_page_check((site / page).read_text()))
    handler = partial(_QuietHandler, directory=str(site))
    server = _QuietServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        for number, page in enumerate(pages):
            url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
            shot = tmp_path / f"shot-{number}.png"
            attrs, console = open_page(
                binary, url, tmp_path / f"profile-{number}", shot, "1280,1600"
            )
            assert console == [], (page, console)
            assert attrs.get("data-errors") == "", (page, attrs)
            total = int(attrs["data-images-total"])
            assert total >= 1 and attrs["data-images-loaded"] == str(total), (page, attrs)
            assert shot.stat().st_size > 20_000, page
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on stderr
        pass


@pytest.mark.parametrize("page", ANALYZER_PAGES)
def test_analyzer_page_opens_with_its_figure(page: str) -> None:
    path = DOCS / "analyzers" / f"{page}.md"
    images = images_of(path)
    assert images, f"{page}.md shows no image"
    for image in images:
        assert image.is_file() and image.stat().st_size > 5_000, image
    # Opens with it: the first thing after the title is the figure, then its caption.
    body = path.read_text().split("\n", 1)[1].lstrip()
    assert body.startswith("!["), body[:80]
    caption = body.split("\n\n", 2)[1]
    assert caption.startswith("*") and "Look for" in caption, caption[:120]


def test_every_figure_is_drawn_shown_and_small() -> None:
    make_figures = _make_figures()
    names = [f.name for f in make_figures.FIGURES]
    assert len(set(names)) == len(names)
    assert {f.page for f in make_figures.FIGURES} == set(ANALYZER_PAGES)
    on_disk = sorted(p.stem for p in (DOCS / "figures").iterdir())
    assert on_disk == sorted([*names, "overview"])
    sizes = sum(p.stat().st_size for p in (DOCS / "figures").iterdir())
    assert sizes < FIGURE_BUDGET, f"docs/figures holds {sizes / 2**20:.2f} MiB"
    for figure in make_figures.FIGURES:  # each on its page, with the script's caption
        text = (DOCS / "analyzers" / f"{figure.page}.md").read_text()
        assert f"(../figures/{figure.name}.webp)" in text, figure.name
        assert " ".join(figure.caption.split()) in " ".join(text.split()), figure.name
    # The gallery is what the script writes, and shows every figure.
    gallery = DOCS / "gallery.md"
    assert gallery.read_text() == make_figures.gallery_markdown()
    assert sorted(p.stem for p in images_of(gallery)) == sorted(names)


def test_image_check_fails_on_a_missing_file(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# T\n\n![a figure](figures/none.webp)\n\n![b](../x.png)\n")
    assert images_of(page) == [tmp_path / "figures" / "none.webp", tmp_path.parent / "x.png"]
    assert not images_of(page)[0].is_file()


def test_readme_shows_the_composite_and_links_the_gallery() -> None:
    readme = (ROOT / "README.md").read_text()
    head = readme.split("## Set-up")[0]
    assert images_of(ROOT / "README.md")[0] == DOCS / "figures" / "overview.webp"
    assert "docs/figures/overview.webp" in head and "](docs/gallery.md)" in head
    assert (DOCS / "figures" / "overview.webp").is_file()
    assert "make report " in readme and "make test " in readme  # the two set-up commands
    assert "your-model.md" in _nav_files() and "gallery.md" in _nav_files()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # the browser closes connections it no longer needs (a reset, not a failure)
