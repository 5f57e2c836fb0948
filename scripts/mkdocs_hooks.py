"""mkdocs hooks: the built site loads nothing from the network.

An executed tutorial whose cells showed a progress widget carries the widget state, and
nbconvert then adds ``embed-amd.js`` of ``@jupyter-widgets/html-manager`` from unpkg.com
to the page. A static page cannot run the widget anyway (its text form is kept), so the
script is dropped; offline, it would only log an error.
"""

from __future__ import annotations

import re
from typing import Any

_CDN_SCRIPT = re.compile(
    r"<script[^>]*\bsrc=\"https://unpkg\.com/@jupyter-widgets/[^\"]*\"[^>]*>\s*</script>",
    re.IGNORECASE,
)


def on_post_page(output: str, page: Any, config: Any) -> str:
    """Drop the jupyter-widgets CDN script from a built page."""
    return _CDN_SCRIPT.sub("", output)
