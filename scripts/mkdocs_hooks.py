"""mkdocs hooks: the built site loads nothing from the network.

An executed tutorial whose cells showed a progress widget carries the widget state, and
nbconvert's template then adds a script that loads ``embed-amd.js`` of
``@jupyter-widgets/html-manager`` from unpkg.com when the page opens. A static page cannot
run the widget anyway (its text form is kept), so that script is dropped; offline it
would only log an error.
"""

from __future__ import annotations

import re
from typing import Any

_CDN_SCRIPT = re.compile(
    r"<script>\s*\(function\(\) \{\s*function addWidgetsRenderer\(\).*?</script>", re.DOTALL
)


def on_post_page(output: str, page: Any, config: Any) -> str:
    """Drop the script that fetches the jupyter-widgets renderer from a CDN."""
    return _CDN_SCRIPT.sub("", output)
