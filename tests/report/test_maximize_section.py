"""The maximize section: class images at the model's input size, labels in words."""

from __future__ import annotations

from interpret.core import load_result
from interpret.data import imagenet_labels
from interpret.neurons import MaximizeConfig
from interpret.report import run_report
from interpret.report.sections.maximize import (
    _IMAGENET_CLASSES,
    MaximizeSection,
    class_config,
)


def test_class_config_is_transform_robust_at_the_model_size() -> None:
    params = {**MaximizeSection.defaults, "class_size": 128, "class_steps": 32}
    config = class_config(params, 224)
    assert isinstance(config, MaximizeConfig)
    assert (config.size, config.steps, config.model_size) == (128, 32, 224)
    assert config.transform_fraction == 1.0  # every step transformed, none plain
    described = " ".join(t.description for t in config.transforms)
    assert "jitter(16)" in described and "random_scale(0.75..1.25)" in described
    assert config.param == "fourier" and config.decorrelate


def test_default_imagenet_classes_are_six_real_class_names() -> None:
    names = imagenet_labels()
    assert len(_IMAGENET_CLASSES) == 6
    assert all(name in names for name in _IMAGENET_CLASSES)


def test_saved_labels_and_titles_are_words(tiny_config) -> None:
    run = run_report(tiny_config(["maximize"], extras=()))
    record = load_result(run.out / "results" / "maximize.pt")
    parts = record.result.parts
    site = record.params["channel_site"]
    assert parts["channels"].labels == [f"{site} channel 0", f"{site} channel 1"]
    assert parts["classes"].labels == ["class 0", "class 1"]  # chain_cnn has no class names
    for result in parts.values():
        assert "class_logit(" not in result.description
        assert "channel(" not in result.description
    # The tiny model's own input size (32) is where the class images are shown to it.
    assert record.params["class_model_size"] in (32, [32, 32])
    assert parts["classes"].settings["model_size"] in (32, [32, 32])
