"""ImageNet-1k class names, from metadata that ships with torchvision (no download)."""

from __future__ import annotations

import difflib
from functools import cache

__all__ = ["imagenet_labels", "imagenet_index"]


@cache
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in index order (``"tench"``, ..., ``"toilet tissue"``).

    Taken from ``torchvision.models.AlexNet_Weights.IMAGENET1K_V1.meta["categories"]``,
    which is metadata in the torchvision package: reading it downloads nothing.

    Examples
    --------
    >>> labels = imagenet_labels()
    >>> len(labels), labels[281], labels[967]
    (1000, 'tabby', 'espresso')
    """
    from torchvision.models import AlexNet_Weights

    return tuple(AlexNet_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_index(name: str) -> int:
    """Index of the ImageNet class called ``name`` (exact spelling, as torchvision's).

    Raises
    ------
    ValueError
        No class has that name; the message lists the closest names.
    """
    labels = imagenet_labels()
    try:
        return labels.index(name)
    except ValueError:
        close = difflib.get_close_matches(name, labels, n=5, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else ""
        raise ValueError(f"No ImageNet class is called {name!r}.{hint}") from None
