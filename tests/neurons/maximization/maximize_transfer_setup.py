"""Four architectures, a middle site each, 8 random channels and their maximum over real data:
the setting of ``test_maximize_transfer.py`` (``bench/maximize_transfer.py`` has its own copy).

The site is the one the report visualizes (2/3 of the way through its list of sites). The
data are the sample photos (ImageNet models) or all 1797 digits (ZFNet), fed at the size
the optimized images have, so that the spatial mean of the ``channel`` objective runs over
maps of the same size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from interpret.data import Digits, sample_photos
from interpret.models import efficientnet_lite0, zfnet_digits
from interpret.neurons.maximization.objective_base import Objective
from interpret.neurons.maximization.objectives import channel
from interpret.neurons.maximization.run import count_channels, evaluate_objective

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
ARCHITECTURES = ("efficientnet_lite0", "zfnet_digits", "vgg11", "resnet18")


@dataclass
class Setting:
    name: str
    model: nn.Module
    site: str
    normalize: object
    size: int
    objective: Objective
    data_max: torch.Tensor  # (8,)
    channels: tuple[int, ...] = ()


def photos(size: int) -> torch.Tensor:
    """Every sample photo, ``(N, 3, size, size)`` in ``[0, 1]``."""
    out = []
    for _, array in sample_photos():
        x = torch.from_numpy(array.copy()).permute(2, 0, 1).float()[None] / 255
        out.append(F.interpolate(x, size=(size, size), mode="bilinear", antialias=True))
    return torch.cat(out)


def build(name: str) -> tuple[nn.Module, str, object]:
    """``(model, site, normalize)``; random-init models from ``torch.manual_seed(0)``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if name == "efficientnet_lite0":  # the bundled ImageNet weights
            return efficientnet_lite0(pretrained=True).eval(), "blocks.5", ((0.5,) * 3,) * 2
        if name == "zfnet_digits":  # random init
            return zfnet_digits().eval(), "features.11", Digits().preprocess
        if name == "vgg11":
            return torchvision.models.vgg11(weights=None).eval(), "features.14", IMAGENET
        if name == "resnet18":
            return torchvision.models.resnet18(weights=None).eval(), "layer3.0.relu", IMAGENET
    raise ValueError(f"Unknown architecture {name!r}; one of {ARCHITECTURES}.")


def setting(name: str, size: int, units: int = 8, seed: int = 0) -> Setting:
    """``units`` channels of the site drawn with ``seed``, and each one's maximum over the
    data (images at ``size``; 32 for the digits ZFNet)."""
    model, site, normalize = build(name)
    if name == "zfnet_digits":
        size = 32
        data = Digits().images * 0.5 + 0.5  # back to [0, 1]
    else:
        data = photos(size)
    n = count_channels(model, site, size=size, channels=data.shape[1])
    picked = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:units].tolist()
    objective = channel(site, picked)
    values = torch.stack(
        [
            evaluate_objective(model, objective, data, normalize=normalize, elements=b)
            for b in range(units)
        ]
    )
    data_max = values.max(1).values
    if bool((data_max <= 0).any()):
        raise ValueError(f"{name}: a channel of {picked} is never positive on the data.")
    return Setting(name, model, site, normalize, size, objective, data_max, tuple(picked))


def report_overrides(name: str) -> dict:
    """What the report adds to the preset for the digits model (1 channel, 32 px)."""
    return {"decorrelate": False, "model_size": 32} if name == "zfnet_digits" else {}
