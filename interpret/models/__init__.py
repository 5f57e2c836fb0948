"""Models: ZFNet (Zeiler & Fergus Fig. 3), EfficientNet-Lite0 with bundled ImageNet
weights, and loading of torchvision, timm and user models and checkpoints."""

from interpret.data.imagenet import imagenet_labels
from interpret.models.efficientnet import efficientnet_lite0, map_state_dict
from interpret.models.info import BUNDLED_MODELS, ModelInfo, load_bundled, model_info
from interpret.models.loading import (
    BUILTIN_MODELS,
    WeightsUnavailableError,
    load_model,
    load_state_dict,
)
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
    "ModelInfo",
    "TrainingConfig",
    "TrainingHistory",
    "WeightsUnavailableError",
    "ZFNet",
    "clip_filter_rms",
    "efficientnet_lite0",
    "evaluate_accuracy",
    "imagenet_labels",
    "load_bundled",
    "load_model",
    "load_state_dict",
    "map_state_dict",
    "model_info",
    "train_zfnet",
    "zfnet",
    "zfnet_digits",
]
