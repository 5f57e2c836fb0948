"""progress_bar: tqdm.auto (a widget in notebooks) only when ipywidgets can be imported."""

from __future__ import annotations

import sys
import warnings

import pytest

from interpret.core.progress import progress_bar, tqdm_class


def test_without_ipywidgets_the_text_bar_and_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from tqdm.std import tqdm as text_tqdm

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now fails
    with pytest.raises(ImportError):
        import ipywidgets  # noqa: F401
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tqdm_class() is text_tqdm
        with progress_bar(total=2, disable=True) as bar:
            bar.update(2)
    assert type(bar) is text_tqdm


def test_with_ipywidgets_tqdm_auto() -> None:
    pytest.importorskip("ipywidgets")
    from tqdm.auto import tqdm as auto_tqdm

    assert tqdm_class() is auto_tqdm
