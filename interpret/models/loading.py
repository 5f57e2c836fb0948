"""One entry point for every model: built-in, torchvision, timm, user factory, checkpoint."""

from __future__ import annotations

import difflib
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from interpret.core.factories import FACTORY_PATTERN, import_factory

__all__ = [
    "WeightsUnavailableError",
    "BUILTIN_MODELS",
    "checkpoint_architecture",
    "load_model",
    "load_state_dict",
    "read_checkpoint",
]

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
_STATE_KEYS = ("state_dict", "model_state_dict", "model")
"""Keys under which a checkpoint dict may hold the state dict (first match wins)."""


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be fetched (no network, or a failed download)."""


def _builtin(name: str) -> Callable[..., nn.Module]:
    def build(pretrained: bool, num_classes: int | None, **kwargs: Any) -> nn.Module:
        if name == "efficientnet_lite0":
            from interpret.models.efficientnet import efficientnet_lite0

            if kwargs:
                raise TypeError(f"efficientnet_lite0 takes no options, got {sorted(kwargs)}.")
            model = efficientnet_lite0(pretrained=pretrained)
            if num_classes is not None and num_classes != 1000:
                cast(Any, model).reset_classifier(num_classes)  # a new, random head
            return model.eval()
        from interpret.models.zfnet import zfnet, zfnet_digits

        if pretrained:
            raise ValueError(
                f"There are no pretrained weights for {name}; pass pretrained=False (and "
                "checkpoint=path for weights you trained, e.g. with train_zfnet)."
            )
        factory = zfnet if name == "zfnet" else zfnet_digits
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        return factory(**kwargs)

    return build


BUILTIN_MODELS: dict[str, Callable[..., nn.Module]] = {
    name: _builtin(name) for name in ("efficientnet_lite0", "zfnet", "zfnet_digits")
}
"""Names :func:`load_model` builds itself; ``efficientnet_lite0`` has bundled weights."""


def load_model(
    name_or_path: str | os.PathLike[str],
    num_classes: int | None = None,
    pretrained: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> nn.Module:
    """Build a model by name, or load weights into one, and return it in eval mode.

    Names are tried in this order:

    1. ``efficientnet_lite0`` (bundled ImageNet weights), ``zfnet``, ``zfnet_digits``
       (no pretrained weights: pass ``pretrained=False``);
    2. ``"timm:NAME"``: ``timm.create_model(NAME, pretrained=pretrained)``;
    3. ``"package.module:factory"``: imports the module and calls
       ``factory(**kwargs)`` (plus ``num_classes`` if given; ``pretrained`` is not
       passed on);
    4. a torchvision model name: ``torchvision.models.get_model(name,
       weights="DEFAULT" if pretrained else None)``;
    5. a timm model name (a name both libraries know goes to torchvision; use the
       ``timm:`` prefix for timm's);
    6. a checkpoint file that names its architecture, ``torch.save({"arch": "resnet18",
       "state_dict": model.state_dict()}, path)`` (optionally ``"num_classes"``): the
       architecture is built without pretrained weights and the state dict loaded. A file
       holding only a state dict says what to do: ``load_model(arch, checkpoint=path)``.

    Parameters
    ----------
    name_or_path:
        As above.
    num_classes:
        Output classes, passed to the factory (torchvision, timm, zfnet); for
        ``efficientnet_lite0`` a new head replaces the ImageNet one.
    pretrained:
        Load the library's pretrained weights (may need the network).
    checkpoint:
        A state dict saved with ``torch.save(model.state_dict(), path)`` (or a dict
        holding one under ``"state_dict"``, ``"model_state_dict"`` or ``"model"``), read
        with ``weights_only=True`` and loaded strictly into the named architecture, which
        is then built without pretrained weights. When ``num_classes`` is not given and
        the checkpoint's last linear layer has another number of outputs than the
        library's default, the architecture is built with that number (not for
        ``module:factory`` names, whose factory may not take ``num_classes``).
    **kwargs:
        Passed to the factory (``zfnet(width=0.5)``, ``timm.create_model(..., drop_rate=0)``).

    Raises
    ------
    ValueError
        An unknown name (the message lists close names), a checkpoint that does not fit.
    WeightsUnavailableError
        Pretrained weights could not be downloaded; pass ``pretrained=False`` or
        ``checkpoint=``.

    Examples
    --------
    >>> model = load_model("resnet18", pretrained=False, num_classes=10)
    >>> model.training, model.fc.out_features
    (False, 10)
    """
    name = os.fspath(name_or_path)
    if checkpoint is None and _names_a_file(name):
        arch = checkpoint_architecture(name)
        if arch is None:
            raise ValueError(_path_message(Path(name)))
        checkpoint, name = name, arch
        if num_classes is None:
            num_classes = _checkpoint_num_classes(read_checkpoint(checkpoint))
    if checkpoint is not None:
        state = state_dict_of(read_checkpoint(checkpoint), checkpoint)
        model = _build(name, num_classes, False, dict(kwargs))
        if num_classes is None and not FACTORY_PATTERN.match(name):
            wanted = _head_outputs(model, state)
            if wanted is not None:
                model = _build(name, wanted, False, dict(kwargs))
        return _load_strict(model, state, checkpoint).eval()
    return _build(name, num_classes, pretrained, kwargs).eval()


def _names_a_file(name: str) -> bool:
    """Whether ``name`` is a file rather than a model name (a name wins when both fit)."""
    if name in BUILTIN_MODELS or name.startswith("timm:") or FACTORY_PATTERN.match(name):
        return False
    path = Path(name)
    return (path.is_file() or path.suffix in _CHECKPOINT_SUFFIXES) and not _known_name(name)


def _known_name(name: str) -> bool:
    import timm
    import torchvision.models as tvm

    return name in tvm.list_models() or timm.is_model(name)


def _checkpoint_num_classes(checkpoint: Mapping[str, Any]) -> int | None:
    value = checkpoint.get("num_classes")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _head_outputs(model: nn.Module, state: Mapping[str, Any]) -> int | None:
    """The checkpoint's output count for the model's last linear layer, if it differs."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = (name, module)
    if last is None:
        return None
    weight = state.get(f"{last[0]}.weight")
    if isinstance(weight, Tensor) and weight.ndim == 2 and weight.shape[0] != last[1].out_features:
        return int(weight.shape[0])
    return None


def _build(name: str, num_classes: int | None, pretrained: bool, kwargs: dict) -> nn.Module:
    if name in BUILTIN_MODELS:
        return BUILTIN_MODELS[name](pretrained, num_classes, **kwargs)
    if name.startswith("timm:"):
        return _timm(name.removeprefix("timm:"), num_classes, pretrained, kwargs)
    if FACTORY_PATTERN.match(name):
        return _factory(name, num_classes, kwargs)
    import torchvision.models as tvm

    if name in tvm.list_models():
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        try:
            return tvm.get_model(name, weights="DEFAULT" if pretrained else None, **kwargs)
        except OSError as error:
            raise _unavailable(name, error) from error
    import timm

    if timm.is_model(name):
        return _timm(name, num_classes, pretrained, kwargs)
    path = Path(name)
    if path.is_file() or path.suffix in _CHECKPOINT_SUFFIXES:
        raise ValueError(_path_message(path))
    raise ValueError(unknown_model_message(name))


def _timm(name: str, num_classes: int | None, pretrained: bool, kwargs: dict) -> nn.Module:
    import timm

    if not timm.is_model(name):
        raise ValueError(unknown_model_message(name, "timm has no model"))
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    try:
        return timm.create_model(name, pretrained=pretrained, **kwargs)
    except OSError as error:
        raise _unavailable(f"timm:{name}", error) from error


def _factory(path: str, num_classes: int | None, kwargs: dict) -> nn.Module:
    target = import_factory(path, "model")
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    model = target(**kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{path} returned a {type(model).__name__}, not an nn.Module.")
    return model


def read_checkpoint(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The dict a checkpoint file holds, read with ``torch.load(weights_only=True)``.

    Raises
    ------
    ValueError
        No such file, a file ``torch.load`` cannot read safely, or one that holds no dict.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No checkpoint file at {path}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        raise ValueError(
            f"Cannot read {path} with torch.load(weights_only=True): {error}. Save the model "
            "with torch.save(model.state_dict(), path) instead of pickling the module."
        ) from error
    if not isinstance(state, Mapping):
        raise ValueError(
            f"{path} does not hold a state dict (name -> tensor); found {type(state).__name__}."
        )
    return state


def state_dict_of(checkpoint: Mapping[str, Any], where: str | os.PathLike[str]) -> Mapping:
    """The state dict in a checkpoint dict: itself, or the one under a wrapper key."""
    for key in _STATE_KEYS:
        if isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
            break
    if not _is_state_dict(checkpoint):
        raise ValueError(
            f"{where} does not hold a state dict (name -> tensor) at the top or under "
            f"{', '.join(repr(k) for k in _STATE_KEYS)}."
        )
    return checkpoint


def checkpoint_architecture(path: str | os.PathLike[str]) -> str | None:
    """The architecture a checkpoint names under ``"arch"`` or ``"architecture"``, if any."""
    checkpoint = read_checkpoint(path)
    arch = checkpoint.get("arch", checkpoint.get("architecture"))
    return arch if isinstance(arch, str) and arch else None


def load_state_dict(model: nn.Module, checkpoint: str | os.PathLike[str]) -> nn.Module:
    """Load a state dict file into ``model`` strictly (``weights_only=True``); returns it.

    Accepts a plain state dict or a dict holding one under ``"state_dict"``,
    ``"model_state_dict"`` or ``"model"``.
    """
    return _load_strict(model, state_dict_of(read_checkpoint(checkpoint), checkpoint), checkpoint)


def _load_strict(model: nn.Module, state: Mapping, path: str | os.PathLike[str]) -> nn.Module:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        # torch lists every problem on its own line; one line reads better in a CLI.
        lines = [line.strip().rstrip(".") for line in str(error).splitlines()[1:] if line.strip()]
        detail = "; ".join(lines) or str(error)
        detail = detail if len(detail) <= 400 else detail[:400] + " ..."
        raise ValueError(
            f"The checkpoint {path} does not fit the {type(model).__name__} built: {detail}. "
            "Name the architecture (and num_classes) the weights were saved from."
        ) from None
    return model


def _is_state_dict(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in value.items()
    )


def _unavailable(name: str, error: Exception) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"Could not fetch the pretrained weights of {name} ({type(error).__name__}: {error}). "
        f"Without network access use load_model({name!r}, pretrained=False), or load your "
        f"own weights with load_model({name!r}, checkpoint='path.pt'). "
        "efficientnet_lite0 has weights bundled offline."
    )


def _path_message(path: Path) -> str:
    if not path.is_file():
        return f"No such model file: {path}."
    return (
        f"{path} is a file, but a state dict holds no architecture: name the architecture "
        f"and pass the file as checkpoint, e.g. load_model('zfnet_digits', checkpoint='{path}')."
    )


def close_model_names(name: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The known model names closest to ``name`` (built-in, torchvision, timm, ``extra``)."""
    import timm
    import torchvision.models as tvm

    known = [*extra, *BUILTIN_MODELS, *tvm.list_models(), *timm.list_models()]
    known = list(dict.fromkeys(known))
    return difflib.get_close_matches(name.removeprefix("timm:"), known, n=6, cutoff=0.6)


def unknown_model_message(name: str, lead: str = "Unknown model") -> str:
    """Error text for a name no loader knows, with the closest known names."""
    close = close_model_names(name)
    hint = f" Closest: {', '.join(close)}." if close else ""
    return (
        f"{lead} {name!r}.{hint} load_model takes {', '.join(BUILTIN_MODELS)}, a torchvision "
        "name (torchvision.models.list_models()), 'timm:NAME' (timm.list_models()), "
        "'package.module:factory', or an architecture plus checkpoint=path."
    )
