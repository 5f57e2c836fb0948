"""Short content hashes: the keys under which results and trained models are reused."""

from __future__ import annotations

import hashlib
import os
from typing import Any

__all__ = ["digest", "file_digest"]


def digest(*parts: Any) -> str:
    """SHA-256 (first 16 hex digits) of the ``repr`` of ``parts``."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (first 16 hex digits) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]
