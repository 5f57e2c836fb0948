"""Which modules the incremental mode can recompute on a patch, and how (see
:mod:`interpret.occlusion.incremental` for the list)."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from interpret.occlusion._local import LocalOp, PointwiseOp, ResidualOp, WindowOp

__all__ = ["local_op"]

_POINTWISE = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardtanh,
    nn.Softplus,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.AlphaDropout,
)
_TIMM_ACTIVATIONS = ("timm.layers.activations", "timm.layers.activations_me")


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _own_forward(module: nn.Module, cls: Any) -> bool:
    return isinstance(module, cls) and type(module).forward is cls.forward


def _is_timm(module: nn.Module, name: str, where: str) -> bool:
    cls = type(module)
    return cls.__name__ == name and cls.__module__.startswith(where)


def _pointwise(module: Any) -> bool:
    if any(_own_forward(module, cls) for cls in _POINTWISE):
        return True
    if type(module).__module__ in _TIMM_ACTIVATIONS or _is_timm(module, "DropPath", "timm."):
        return True
    if _own_forward(module, nn.BatchNorm2d):
        return module.running_mean is not None  # type: ignore[union-attr]
    if _is_timm(module, "BatchNormAct2d", "timm.layers"):
        children = dict(module.named_children())
        return module.running_mean is not None and all(  # type: ignore[union-attr]
            _pointwise(child) for child in children.values()
        )
    return False


def _window(module: Any) -> WindowOp | None:
    if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros":
        k, s, d = _pair(module.kernel_size), _pair(module.stride), _pair(module.dilation)
        span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
        if _own_forward(module, nn.Conv2d):
            if isinstance(module.padding, str):
                pad = (
                    (0, 0)
                    if module.padding == "valid"
                    else ((span[0] - 1) // 2, (span[1] - 1) // 2)
                )
            else:
                pad = _pair(module.padding)
        elif _is_timm(module, "Conv2dSame", "timm.layers"):

            def pad(hw: tuple[int, int], k=k, s=s, d=d) -> tuple[int, int]:  # type: ignore[misc]
                total = [
                    max((-(-n // st) - 1) * st + (kk - 1) * dd + 1 - n, 0)
                    for n, kk, st, dd in zip(hw, k, s, d)
                ]
                return total[0] // 2, total[1] // 2
        else:
            return None
        weight, bias, groups = module.weight, module.bias, module.groups

        def conv(crop: Tensor) -> Tensor:
            return F.conv2d(crop, weight, bias, s, 0, d, groups)

        return WindowOp(module, conv, span, s, pad)
    if _own_forward(module, nn.MaxPool2d) and not module.return_indices:
        k, d = _pair(module.kernel_size), _pair(module.dilation)
        s = _pair(module.stride) if module.stride is not None else k
        span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
        return WindowOp(
            module,
            lambda crop: F.max_pool2d(crop, k, s, 0, d),
            span,
            s,
            _pair(module.padding),
            value=float("-inf"),
        )
    if _own_forward(module, nn.AvgPool2d) and not module.ceil_mode:
        k = _pair(module.kernel_size)
        s = _pair(module.stride) if module.stride is not None else k
        p = _pair(module.padding)
        if p != (0, 0) and not module.count_include_pad:
            return None
        divisor = module.divisor_override
        return WindowOp(
            module, lambda crop: F.avg_pool2d(crop, k, s, 0, False, True, divisor), k, s, p
        )
    return None


def _ops(modules: list[nn.Module]) -> list[LocalOp] | None:
    ops = []
    for module in modules:
        if isinstance(module, nn.Sequential):
            inner = _ops(list(module))
            if inner is None:
                return None
            ops += inner
            continue
        op = local_op(module)
        if op is None:
            return None
        ops.append(op)
    return ops


def _residual(module: Any) -> ResidualOp | None:
    from torchvision.models.resnet import BasicBlock, Bottleneck

    if _own_forward(module, BasicBlock) or _own_forward(module, Bottleneck):
        m = module
        names = ["conv1", "bn1", "relu", "conv2", "bn2"]
        if isinstance(m, Bottleneck):
            names += ["relu", "conv3", "bn3"]
        main = _ops([getattr(m, n) for n in names])
        short = [] if m.downsample is None else _ops([m.downsample])
        post = _ops([m.relu])
        if main is None or short is None or post is None:
            return None
        return ResidualOp(main, short, post)
    where = "timm.models._efficientnet_blocks"
    for cls_name, names in (
        ("DepthwiseSeparableConv", ["conv_dw", "bn1", "aa", "se", "conv_pw", "bn2"]),
        ("InvertedResidual", ["conv_pw", "bn1", "conv_dw", "bn2", "aa", "se", "conv_pwl", "bn3"]),
    ):
        if _is_timm(module, cls_name, where) and getattr(module, "conv_s2d", None) is None:
            main = _ops([getattr(module, n) for n in names])
            if main is None or not _pointwise(module.drop_path):
                return None
            return ResidualOp(main, [] if module.has_skip else None)
    return None


def local_op(module: nn.Module) -> LocalOp | None:
    """The incremental version of ``module``, or ``None`` if it cannot be done locally."""
    if _pointwise(module):
        return PointwiseOp(module)
    window = _window(module)
    if window is not None:
        return window
    return _residual(module)
