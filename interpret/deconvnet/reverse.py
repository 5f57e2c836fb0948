"""The explicit deconvnet: a reverse walk over a chain CNN (Zeiler & Fergus 2013, Sec. 2.1).

For a chain CNN (ZFNet, AlexNet, VGG, ``nn.Sequential`` models; checked by
:func:`interpret.core.receptive.chain_layers`), the layers from the input to the site
are walked backwards, each replaced by its deconvnet counterpart:

==========================  ===============================================================
forward layer               deconvnet step (signal ``s`` at its output -> its input)
==========================  ===============================================================
``nn.MaxPool2d``            unpool: ``scatter_add`` of ``s`` at the recorded switches
rectifier (``nn.ReLU``...)  rectify: ``relu(s)`` (whatever the sign of the forward input);
                            guided backpropagation: ``relu(s * f'(x))``, ``f'`` the
                            rectifier's derivative at its recorded input ``x``
``nn.Conv2d``               filter: ``conv_transpose2d(s, W)`` with the layer's own weights,
                            stride, padding, dilation and groups; ``output_padding`` chosen
                            so the output has exactly the layer's input size; no bias
``nn.Linear``               ``s @ W``
``nn.BatchNorm2d`` (eval)   ``s * gamma / sqrt(var + eps)`` per channel
``nn.LocalResponseNorm``    its vector-Jacobian product in closed form (factors per image)
dropout, identity, flatten  reshape to the layer's input shape
anything else               the layer's vector-Jacobian product at its recorded input
==========================  ===============================================================

Every step is the gradient of its layer except rectification, so the walk equals the
gradient of the seeded site with rectified backward signals at the rectifiers, i.e.
Captum's ``Deconvolution``/``NeuronDeconvolution`` (the gradient route,
:mod:`interpret.deconvnet.gradient`). Bias terms are not used; non-rectifier
nonlinearities (sigmoid, ZFNet's contrast normalisation) enter through their Jacobian,
as in Captum. (The paper does not say how its deconvnet treats contrast normalisation.)
With ``rule="guided"`` the rectifier step is ``relu`` of the rectifier's gradient
(Springenberg et al. 2015), which equals Captum's ``GuidedBackprop``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.core.capture import StopForward, checked_forward
from interpret.core.receptive import chain_layers
from interpret.core.state import HookSet
from interpret.deconvnet.switches import SwitchRecord, record_switches, unpool

__all__ = ["ReverseRecord", "record_chain", "reverse_walk"]

_PASS_THROUGH = (
    nn.Identity,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.AlphaDropout,
    nn.Flatten,
    nn.Unflatten,
)


@dataclass
class _Step:
    name: str
    module: nn.Module
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()
    saved_input: Tensor | None = None
    switches: SwitchRecord | None = None
    lrn_factors: tuple[Tensor, Tensor] | None = None
    derivative: Tensor | None = None  # guided: a rectifier's f'(x), like its input


@dataclass
class ReverseRecord:
    """What one forward pass up to the site leaves for the reverse walk.

    Attributes
    ----------
    output:
        ``(N, ...)`` the site's activations on the ``N`` images, detached.
    steps:
        The chain's layers in execution order with their input/output shapes, the
        switches of each max pool and, for layers reversed by their Jacobian, a copy of
        their input.
    rectifiers:
        Module classes treated as rectifiers.
    rule:
        ``"deconvnet"`` or ``"guided"`` (rectifier steps then hold their derivative).
    """

    output: Tensor
    steps: list[_Step] = field(default_factory=list)
    rectifiers: tuple[type[nn.Module], ...] = ()
    rule: str = "deconvnet"


def _derivative(module: nn.Module, x: Tensor) -> Tensor:
    """Elementwise derivative of a pointwise rectifier at ``x`` (autograd's own choice at
    the kinks, so that guided backpropagation agrees with the gradient route)."""
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        # .forward: no hooks (this runs inside one); clone: in-place modules
        out = module.forward(leaf.clone())
        (grad,) = torch.autograd.grad(out.sum(), leaf)
    return grad


def _needs_input(module: nn.Module, rectifiers: tuple[type[nn.Module], ...]) -> bool:
    if isinstance(module, (rectifiers, _PASS_THROUGH)):
        return False
    if isinstance(module, (nn.MaxPool2d, nn.Linear)):
        return False
    if _is_plain_lrn(module):
        return True  # its input gives the factors of the analytic reverse step
    if isinstance(module, nn.Conv2d):
        return _conv_padding(module) is None
    return not _is_eval_batchnorm(module)


def _is_eval_batchnorm(module: nn.Module) -> bool:
    return (
        isinstance(module, nn.BatchNorm2d)
        and not module.training
        and module.running_var is not None
        and type(module).forward is nn.BatchNorm2d.forward
    )


def _is_plain_lrn(module: nn.Module) -> bool:
    return type(module) is nn.LocalResponseNorm


def _channel_window_sum(x: Tensor, size: int, front: int, back: int) -> Tensor:
    """Sum over a window of ``size`` channels, zero-padded ``front``/``back``: (B, C, H, W)."""
    padded = F.pad(x, (0, 0, 0, 0, front, back))
    channels = x.shape[1]
    total = padded[:, :channels].clone()
    for shift in range(1, size):
        total += padded[:, shift : shift + channels]
    return total


def _lrn_factors(module: nn.LocalResponseNorm, a: Tensor) -> tuple[Tensor, Tensor]:
    """``d^-beta`` and ``a d^(-beta-1)`` with ``d = k + alpha * mean_window(a^2)``.

    ``F.local_response_norm`` computes ``b = a d^-beta``, the mean taken over the window
    of ``size`` channels ``[c - size // 2, c + (size - 1) // 2]`` (zero-padded).
    """
    n = module.size
    d = _channel_window_sum(a * a, n, n // 2, (n - 1) // 2) / n * module.alpha + module.k
    return d.pow(-module.beta), a * d.pow(-module.beta - 1)


def _reverse_lrn(step: _Step, signal: Tensor, image_index: Tensor) -> Tensor:
    """The vector-Jacobian product of local response normalization, in closed form:
    ``g d^-beta - (2 alpha beta / n) a * sum_{c' : c in window(c')} (g a d^(-beta-1))[c']``.
    """
    module = step.module
    assert isinstance(module, nn.LocalResponseNorm) and step.lrn_factors is not None
    assert step.saved_input is not None
    scale, cross = step.lrn_factors
    n = module.size
    a = step.saved_input[image_index]
    inner = _channel_window_sum(signal * cross[image_index], n, (n - 1) // 2, n // 2)
    return signal * scale[image_index] - (2 * module.alpha * module.beta / n) * a * inner


def _conv_padding(module: nn.Conv2d) -> tuple[int, int] | None:
    """Symmetric zero padding of a plain ``nn.Conv2d``, or ``None`` if it has none."""
    if type(module).forward is not nn.Conv2d.forward or module.padding_mode != "zeros":
        return None
    if isinstance(module.padding, str):
        if module.padding == "valid":
            return (0, 0)
        total = [d * (k - 1) for k, d in zip(module.kernel_size, module.dilation)]
        if any(t % 2 for t in total):
            return None  # asymmetric "same" padding: use the Jacobian
        return (total[0] // 2, total[1] // 2)
    return (int(module.padding[0]), int(module.padding[1]))


def record_chain(
    model: nn.Module,
    images: Tensor,
    site: str,
    rectifiers: tuple[type[nn.Module], ...],
    layers: Sequence[tuple[str, nn.Module]] | None = None,
    rule: str = "deconvnet",
) -> ReverseRecord:
    """Run ``model`` on ``images`` up to ``site``, recording what the reverse walk needs.

    Parameters
    ----------
    model:
        A chain CNN up to ``site`` (else ``ValueError`` from ``chain_layers``), in the
        mode the caller wants (projections use eval mode).
    images:
        ``(N, C, H, W)`` on the model's device.
    site:
        Qualified module name; the walk starts at its output.
    rectifiers:
        Module classes whose deconvnet step is ``relu`` of the signal.
    layers:
        ``chain_layers(model, site)`` if already known (it traces the model), e.g.
        ``plan_projection(model, site).layers``.
    rule:
        ``"deconvnet"``, or ``"guided"``: each rectifier's derivative at its input is
        recorded for the guided step.
    """
    if rule not in ("deconvnet", "guided"):
        raise ValueError(f"rule must be 'deconvnet' or 'guided', not {rule!r}.")
    layers = chain_layers(model, site) if layers is None else layers
    if not layers:
        raise ValueError(f"No layer runs before {site!r}; nothing to project through.")
    steps = [_Step(name, module) for name, module in layers]
    hooks = HookSet()
    holder: dict[str, Tensor] = {}
    pools = [s.name for s in steps if isinstance(s.module, nn.MaxPool2d)]

    def pre_hook(step: _Step):
        def hook(_module: nn.Module, inputs: tuple[Any, ...]) -> None:
            step.saved_input = inputs[0].detach().clone()

        return hook

    def derivative_hook(step: _Step):
        def hook(module: nn.Module, inputs: tuple[Any, ...]) -> None:
            step.derivative = _derivative(module, inputs[0])

        return hook

    def post_hook(step: _Step, last: bool):
        def hook(_module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            if not isinstance(output, Tensor):
                output = output[0]  # MaxPool2d(return_indices=True)
            step.input_shape = tuple(inputs[0].shape)
            step.output_shape = tuple(output.shape)
            if last:
                holder["output"] = output.detach().clone()
                raise StopForward  # nothing after the site is needed

        return hook

    try:
        with record_switches(model, pools) as switches, torch.no_grad():
            for i, step in enumerate(steps):
                if _needs_input(step.module, rectifiers):
                    hooks.add(step.module.register_forward_pre_hook(pre_hook(step)))
                elif rule == "guided" and isinstance(step.module, rectifiers):
                    hooks.add(step.module.register_forward_pre_hook(derivative_hook(step)))
                hooks.add(step.module.register_forward_hook(post_hook(step, i == len(steps) - 1)))
            checked_forward(model, images)
            for step in steps:
                if step.name in switches:
                    step.switches = switches[step.name]
                if _is_plain_lrn(step.module) and step.saved_input is not None:
                    step.lrn_factors = _lrn_factors(step.module, step.saved_input)
    finally:
        hooks.undo()
    if "output" not in holder:
        raise ValueError(f"The forward pass never reached {site!r}.")
    return ReverseRecord(holder["output"], steps, rectifiers, rule)


def _reverse_conv(step: _Step, signal: Tensor) -> Tensor:
    module = step.module
    assert isinstance(module, nn.Conv2d)
    padding = _conv_padding(module)
    assert padding is not None
    out_h, out_w = signal.shape[-2:]
    in_h, in_w = step.input_shape[-2:]
    output_padding = []
    for axis, (size_in, size_out) in enumerate(((in_h, out_h), (in_w, out_w))):
        k, s, d = module.kernel_size[axis], module.stride[axis], module.dilation[axis]
        natural = (size_out - 1) * s - 2 * padding[axis] + d * (k - 1) + 1
        output_padding.append(size_in - natural)
    return F.conv_transpose2d(
        signal,
        module.weight,
        None,
        module.stride,
        padding,
        tuple(output_padding),
        module.groups,
        module.dilation,
    )


def _reverse_jacobian(step: _Step, signal: Tensor, image_index: Tensor) -> Tensor:
    assert step.saved_input is not None
    x = step.saved_input[image_index].detach().requires_grad_(True)
    with torch.enable_grad():
        out = step.module(x.clone())  # clone: an in-place module may not overwrite a leaf
        if not isinstance(out, Tensor):
            out = out[0]
        (grad,) = torch.autograd.grad((out * signal.reshape(out.shape)).sum(), x)
    return grad


def _reverse_step(step: _Step, signal: Tensor, image_index: Tensor, rectifiers) -> Tensor:
    module = step.module
    batch = signal.shape[0]
    if step.switches is not None:
        return unpool(signal.reshape(batch, *step.output_shape[1:]), step.switches, image_index)
    if step.lrn_factors is not None:
        return _reverse_lrn(step, signal, image_index)
    if step.saved_input is not None:
        return _reverse_jacobian(step, signal, image_index)
    if isinstance(module, rectifiers):
        if step.derivative is not None:  # guided backpropagation
            return F.relu(signal * step.derivative[image_index])
        return F.relu(signal)
    if isinstance(module, nn.Conv2d):
        return _reverse_conv(step, signal.reshape(batch, *step.output_shape[1:]))
    if isinstance(module, nn.Linear):
        return signal.reshape(batch, *step.output_shape[1:]) @ module.weight
    if _is_eval_batchnorm(module):
        assert isinstance(module, nn.BatchNorm2d) and module.running_var is not None
        scale = torch.rsqrt(module.running_var + module.eps)
        if module.weight is not None:
            scale = scale * module.weight
        return signal * scale.view(1, -1, 1, 1).to(signal.dtype)
    return signal  # pass-through layers: reshaped to the input shape below


def reverse_walk(record: ReverseRecord, seeds: Tensor, image_index: Tensor) -> Tensor:
    """Project seed maps at the site down to pixel space with the deconvnet.

    Parameters
    ----------
    record:
        From :func:`record_chain` on ``N`` images.
    seeds:
        ``(B, *site_shape)``: the site's activations with every activation not being
        examined set to zero (Zeiler & Fergus: "we set all other activations in the
        layer to zero and pass the feature maps as input to the attached deconvnet").
    image_index:
        ``(B,)`` int64: which recorded image each seed belongs to (switches and saved
        inputs are taken from that image).

    Returns
    -------
    Tensor
        ``(B, C, H, W)``: the reconstruction in input space. Its sign follows the
        gradient convention: positive where increasing the pixel would (through the
        rectified backward path) increase the seeded activations.
    """
    image_index = image_index.to(record.output.device)
    signal = seeds
    with torch.no_grad():
        signal = _walk(record, signal, image_index)
    return signal


def _walk(record: ReverseRecord, signal: Tensor, image_index: Tensor) -> Tensor:
    for step in reversed(record.steps):
        signal = signal.reshape(signal.shape[0], *step.output_shape[1:])
        signal = _reverse_step(step, signal, image_index, record.rectifiers)
        signal = signal.reshape(signal.shape[0], *step.input_shape[1:])
    return signal
