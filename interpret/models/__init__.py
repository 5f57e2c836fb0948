"""Models: ZFNet (Zeiler & Fergus Fig. 3), EfficientNet-Lite0 with bundled ImageNet
weights, loading of torchvision, timm and user models and checkpoints, and
:func:`resolve_model` (a model with its preprocessing, class names and key)."""

from interpret.data.imagenet import imagenet_labels
from interpret.models.cached import default_cache_dir, trained_zfnet_digits
from interpret.models.efficientnet import efficientnet_lite0, map_state_dict
from interpret.models.info import BUNDLED_MODELS, ModelInfo, load_bundled, model_info
from interpret.models.loading import (
    BUILTIN_MODELS,
    WeightsUnavailableError,
    checkpoint_architecture,
    load_model,
    load_state_dict,
)
from interpret.models.resolve import LoadedModel, model_classes, resolve_device, resolve_model
from interpret.models.training import (
    TrainingConfig,
    TrainingHistory,
    clip_filter_rms,
    evaluate_accuracy,
    train_zfnet,
)
from interpret.models.zfnet import ZFNet, zfnet, zfnet_digits

__all__ = [
    "BUILTIN_MODELS",
    "BUNDLED_MODELS",
    "LoadedModel",
    "ModelInfo",
    "TrainingConfig",
    "TrainingHistory",
    "WeightsUnavailableError",
    "ZFNet",
    "checkpoint_architecture",
    "clip_filter_rms",
    "default_cache_dir",
    "efficientnet_lite0",
    "evaluate_accuracy",
    "imagenet_labels",
    "load_bundled",
    "load_model",
    "load_state_dict",
    "map_state_dict",
    "model_classes",
    "model_info",
    "resolve_device",
    "resolve_model",
    "train_zfnet",
    "trained_zfnet_digits",
    "zfnet",
    "zfnet_digits",
]
