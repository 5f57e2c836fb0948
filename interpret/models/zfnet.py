"""ZFNet: the network of Zeiler & Fergus (2013), "Visualizing and Understanding
Convolutional Networks", Fig. 3, as a chain of modules a deconvnet can walk backwards.

Layout (``width = 1``, 224x224 input, ``padding="paper"``; map sizes as in Fig. 3)::

    features.0   conv1 7x7/2, 96, pad 1      -> 96 x 110 x 110
    features.1   ReLU
    features.2   max pool 3x3/2, pad 1       -> 96 x 55 x 55
    features.3   contrast normalization across maps (LocalResponseNorm(5))
    features.4   conv2 5x5/2, 256, pad 0     -> 256 x 26 x 26
    features.5   ReLU
    features.6   max pool 3x3/2, pad 1       -> 256 x 13 x 13
    features.7   contrast normalization across maps
    features.8   conv3 3x3/1, 384, pad 1     -> 384 x 13 x 13
    features.9   ReLU
    features.10  conv4 3x3/1, 384, pad 1     -> 384 x 13 x 13
    features.11  ReLU
    features.12  conv5 3x3/1, 256, pad 1     -> 256 x 13 x 13
    features.13  ReLU
    features.14  max pool 3x3/2, pad 0       -> 256 x 6 x 6
    classifier.0 Flatten                     -> 9216
    classifier.1 fc6 4096, .2 ReLU, .3 Dropout(0.5)
    classifier.4 fc7 4096, .5 ReLU, .6 Dropout(0.5)
    classifier.7 fc8 num_classes

The paper pads conv1 by 1; the pool paddings are our choice, made so that the map sizes
match Fig. 3 (110, 55, 26, 13, 6). That layout needs inputs of at least 53 pixels.
``padding="small"`` pads conv2 by 2 and pool5 by 1 as well, so that any input from
5 pixels up keeps a non-empty map (224 then gives 110, 55, 28, 14, 7). With ``lcn=False``
the normalization layers become ``nn.Identity`` so that site names stay the same.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["ZFNet", "zfnet", "zfnet_digits"]

Padding = Literal["paper", "small"]
_PADDINGS = {"paper": (1, 1, 0, 1, 0), "small": (1, 1, 2, 1, 1)}  # conv1 pool1 conv2 pool2 pool5


class ZFNet(nn.Sequential):
    """A chain ``features -> classifier`` (both ``nn.Sequential``); build with :func:`zfnet`.

    Being a ``Sequential`` of ``Sequential`` s, the whole forward pass is the modules
    in order: a deconvnet can walk it in reverse without reading ``forward``.
    """

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential, input_size: int) -> None:
        super().__init__(OrderedDict(features=features, classifier=classifier))
        self.input_size = input_size

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, input_size, input_size)`` -> ``(N, num_classes)`` logits."""
        tracing = isinstance(x, torch.fx.Proxy)  # torch.fx traces it as the plain chain it is
        if not tracing and (x.ndim != 4 or tuple(x.shape[-2:]) != (self.input_size,) * 2):
            raise ValueError(
                f"This ZFNet takes (N, C, {self.input_size}, {self.input_size}) inputs, got "
                f"{tuple(x.shape)}; resize the input or build it with input_size="
                f"{x.shape[-1] if x.ndim == 4 else '...'}."
            )
        return super().forward(x)


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def _map_size(layers: nn.Sequential, size: int) -> int:
    """Spatial side after ``layers`` (square maps), by the Conv2d/MaxPool2d formula."""
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
            k, s, p = (_first(getattr(layer, a)) for a in ("kernel_size", "stride", "padding"))
            d = _first(layer.dilation)
            size = math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1
    return size


def _first(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else value[0]


def zfnet(
    num_classes: int = 1000,
    width: float = 1.0,
    input_size: int = 224,
    in_channels: int = 3,
    lcn: bool = True,
    fc_features: int | None = None,
    padding: Padding = "paper",
    dropout: float = 0.5,
    generator: torch.Generator | None = None,
) -> ZFNet:
    """Build ZFNet (Zeiler & Fergus 2013, Fig. 3), randomly initialised.

    Parameters
    ----------
    num_classes:
        Outputs of fc8.
    width:
        Multiplies every conv width (96, 256, 384, 384, 256) and, unless
        ``fc_features`` is given, the fc width 4096: ``max(1, round(c * width))``.
    input_size:
        Side of the square input; fixes fc6's input size.
    in_channels:
        Input channels (3 for RGB, 1 for gray).
    lcn:
        Contrast normalization across feature maps after pool1 and pool2
        (``LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2)``); ``False``: ``nn.Identity``.
    fc_features:
        Width of fc6 and fc7; default ``round(4096 * width)``.
    padding:
        ``"paper"`` (Fig. 3 map sizes, inputs >= 53) or ``"small"`` (inputs >= 5); see the
        module docstring.
    dropout:
        Dropout probability after fc6 and fc7.
    generator:
        Source of the random initialisation (He-normal weights, zero biases); default
        a generator seeded with 0. Global random state is neither used nor changed.

    Returns
    -------
    ZFNet
        In eval mode.

    Examples
    --------
    >>> model = zfnet(num_classes=10, width=0.25, input_size=64, padding="small")
    >>> tuple(model(torch.zeros(2, 3, 64, 64)).shape)
    (2, 10)
    """
    if padding not in _PADDINGS:
        raise ValueError(f"padding is 'paper' or 'small', not {padding!r}.")
    if width <= 0 or num_classes < 1 or in_channels < 1 or not 0 <= dropout < 1:
        raise ValueError(
            "Need width > 0, num_classes >= 1, in_channels >= 1 and 0 <= dropout < 1; got "
            f"width={width}, num_classes={num_classes}, in_channels={in_channels}, "
            f"dropout={dropout}."
        )
    c1, c2, c3, c4, c5 = (_scaled(c, width) for c in (96, 256, 384, 384, 256))
    fc = fc_features if fc_features is not None else _scaled(4096, width)
    p_conv1, p_pool1, p_conv2, p_pool2, p_pool5 = _PADDINGS[padding]

    def norm() -> nn.Module:
        return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0) if lcn else nn.Identity()

    with torch.device("meta"):  # parameters are created without touching global RNG
        features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 7, stride=2, padding=p_conv1),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=p_pool1),
            norm(),
            nn.Conv2d(c1, c2, 5, stride=2, padding=p_conv2),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=p_pool2),
            norm(),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=p_pool5),
        )
        side = _map_size(features, input_size)
        if side < 1:
            hint = " or padding='small'" if padding == "paper" else ""
            raise ValueError(
                f"input_size={input_size} is too small for this ZFNet: the last map would "
                f"have side {side}. Use a larger input_size{hint}."
            )
        classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c5 * side * side, fc),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(fc, fc),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(fc, num_classes),
        )
    model = ZFNet(features, classifier, input_size).to_empty(device="cpu")
    _initialise(model, generator if generator is not None else torch.Generator().manual_seed(0))
    return model.eval()


def _initialise(model: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)


def zfnet_digits(
    num_classes: int = 10,
    input_size: int = 32,
    in_channels: int = 1,
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> ZFNet:
    """A CPU-trainable ZFNet for :class:`interpret.data.Digits` (8x8 digits upsampled).

    ``width=0.25`` (conv widths 24, 64, 96, 96, 64), fc6/fc7 of 128, ``padding="small"``,
    contrast normalization kept, dropout 0 by default (the layers stay, so site names
    match :func:`zfnet`; the paper's 0.5 stalls training on 1347 images for several
    epochs). At ``input_size=32`` the maps are 14, 7, 4, 2, 2, 2, 1. With
    :func:`interpret.models.train_zfnet`'s defaults it reaches about 94 % test accuracy
    on :class:`interpret.data.Digits` in 3 epochs (about 10 s on one CPU thread).

    Examples
    --------
    >>> tuple(zfnet_digits()(torch.zeros(1, 1, 32, 32)).shape)
    (1, 10)
    """
    return zfnet(
        num_classes=num_classes,
        width=0.25,
        input_size=input_size,
        in_channels=in_channels,
        fc_features=128,
        padding="small",
        dropout=dropout,
        generator=generator,
    )
