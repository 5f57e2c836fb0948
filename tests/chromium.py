"""Headless Chromium (Debian's package, ``scripts/install-browser.sh``) for page checks.

Used by the HTML report's browser tests (``tests/report/conftest.py``) and the docs
site's (``tests/test_docs.py``). A page reports on itself through attributes of its
``<body>`` that a small script sets (the report's template has it; :func:`with_page_check`
adds it to any page): ``data-images-total``, ``data-images-loaded`` (images that decoded)
and ``data-errors`` (script errors and resources that failed to load).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
]

PAGE_CHECK = """<script>
(function () {
  var errors = [];
  document.body.setAttribute("data-images-loaded", "pending");
  document.body.setAttribute("data-errors", "");
  window.addEventListener("error", function (e) {
    errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || "error"));
    document.body.setAttribute("data-errors", errors.join(" | "));
  }, true);
  window.addEventListener("load", function () {
    var images = document.images, ok = 0;
    for (var i = 0; i < images.length; i++) {
      if (images[i].complete && images[i].naturalWidth > 0) { ok++; }
    }
    document.body.setAttribute("data-images-total", String(images.length));
    document.body.setAttribute("data-images-loaded", String(ok));
  });
})();
</script>"""
"""Sets the ``<body>`` attributes above; must run before the page's other resources."""


def find_chromium() -> str | None:
    """The Chromium binary, or ``None`` where none is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
        )
        if found:
            return found
    return None


def with_page_check(html: str) -> str:
    """``html`` with :data:`PAGE_CHECK` as the first thing in its ``<body>``."""
    match = re.search(r"<body[^>]*>", html)
    if match is None:
        raise ValueError("The page has no <body> tag to put the check into.")
    return html[: match.end()] + PAGE_CHECK + html[match.end() :]


def open_page(
    binary: str,
    url: str,
    profile: Path,
    screenshot: Path | None = None,
    window: str = "1280,2400",
) -> tuple[dict[str, str], list[str]]:
    """Open ``url``: ``(attributes of <body> after load, console lines)``.

    Writes a PNG screenshot of a ``window``-sized viewport when ``screenshot`` is given.
    """
    run = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", run.stdout)
    assert body is not None, run.stdout[:500]
    attrs = dict(re.findall(r'([a-z-]+)="([^"]*)"', body.group(1)))
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    if screenshot is not None:
        shot = subprocess.run(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}-shot",
                f"--screenshot={screenshot}",
                f"--window-size={window}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    return attrs, console
