"""Progress bars: a widget in notebooks when ``ipywidgets`` is installed, plain text otherwise.

``tqdm.auto`` picks the notebook bar inside a Jupyter kernel, and without ``ipywidgets``
it warns "IProgress not found. Please update jupyter and ipywidgets" (in red, in the
cell) before it falls back to text. :func:`progress_bar` asks for ``tqdm.auto`` only when
``ipywidgets`` can be imported, so the user gets a widget or a text bar, never the
warning. ``pip install "interpret-cnn[notebooks]"`` brings ``ipywidgets``.

Example
-------
>>> from interpret.core.progress import progress_bar
>>> with progress_bar(total=3, disable=True) as bar:
...     _ = bar.update(3)
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["progress_bar", "tqdm_class"]


def tqdm_class() -> type:
    """``tqdm.auto.tqdm`` when ``ipywidgets`` is importable, else ``tqdm.std.tqdm``."""
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress_bar(**kwargs: Any) -> Any:
    """A ``tqdm`` bar of the class :func:`tqdm_class` picks; ``kwargs`` go to ``tqdm``."""
    return tqdm_class()(**kwargs)
