"""The atlas in headless Chromium (DevTools protocol over a pipe), opened from file://.

Index -> a site -> a unit -> a correlated unit -> search for a class; on every page each
image (``<img>`` and the sprite behind the thumbnails) loads and nothing is logged as an
error. A screenshot of a unit page is kept (also copied to /tmp/atlas-shot.png).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from atlas_cdp import Browser
from atlas_helpers import CHROMIUM_FLAGS, find_chromium


@pytest.fixture
def browser(tmp_path: Path):
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (scripts/install-browser.sh installs it).")
    opened = Browser(binary, CHROMIUM_FLAGS, tmp_path / "profile")
    try:
        yield opened
    finally:
        opened.close()


def _check(browser: Browser, min_images: int = 0) -> None:
    assert browser.broken_images() == []
    assert browser.image_count() >= min_images
    assert browser.errors == []


def test_click_through_the_atlas(tiny_atlas, browser: Browser, tmp_path: Path) -> None:
    browser.navigate(tiny_atlas.index.resolve().as_uri())
    _check(browser)
    assert "features.4" in browser.evaluate("document.body.innerText")
    href = browser.click("a.site[href^='features.4']")
    assert browser.url() == href and href.endswith("features.4/index.html")
    _check(browser)
    assert browser.evaluate("document.querySelectorAll('#units a.u').length") == 8
    # sorting by mean activation reorders the thumbnails by their data-mean
    browser.evaluate("document.getElementById('sort').value='mean';arrange();")
    means = browser.evaluate(
        "Array.prototype.map.call(document.querySelectorAll('#units a.u'),"
        "function(e){return parseFloat(e.dataset.mean)})"
    )
    assert means == sorted(means, reverse=True)
    browser.evaluate("document.getElementById('sort').value='unit';arrange();")
    href = browser.click("#units a.u[data-unit='3']")
    assert href.endswith("features.4/3.html")
    _check(browser, min_images=2)  # the strip and the feature visualization
    shot = browser.screenshot(tmp_path / "unit-page.png")
    shutil.copy(shot, "/tmp/atlas-shot.png")
    assert shot.stat().st_size > 10_000
    target = browser.evaluate("document.querySelector('a.corr').getAttribute('href')")
    href = browser.click("a.corr")
    assert href.endswith(target.lstrip("."))
    _check(browser, min_images=1)
    browser.click("a.next")
    _check(browser, min_images=1)
    # search by class name lists the most selective units, each a working link
    browser.evaluate("document.getElementById('q').value='coffee';atlasSearch('../');")
    hits = browser.evaluate("document.querySelectorAll('#results a.hit').length")
    assert hits >= 3
    href = browser.click("#results a.hit")
    assert href.endswith(".html") and "/features." in href
    _check(browser, min_images=1)
    # search by unit id goes to the unit's page
    browser.evaluate("document.getElementById('q').value='features.7:9';atlasSearch('../');")
    browser.wait_event("Page.loadEventFired")
    assert browser.url().endswith("features.7/9.html")
    _check(browser, min_images=1)


def test_broken_sprite_is_detected(tiny_atlas, browser: Browser, tmp_path: Path) -> None:
    """The check itself can fail: a site page whose sprite is gone reports it."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_atlas.path, copy)
    for sprite in (copy / "img" / "features.1").glob("sprite.*"):
        sprite.unlink()
    browser.navigate((copy / "features.1" / "index.html").as_uri())
    assert len(browser.broken_images()) == 1
