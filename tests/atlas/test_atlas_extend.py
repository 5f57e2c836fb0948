"""Extending an atlas with more feature visualizations: no scan, merged data, atomic."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from atlas_helpers import FORWARDS, SITES

from interpret.atlas import AtlasData, build, parse_maximize
from interpret.data.resolve import resolve_data
from interpret.models.resolve import resolve_model
from interpret.report.cli import main
from interpret.testing import chain_cnn

STEPS = 64  # the atlas's maximize_steps


def _build(out: Path, folder: Path) -> None:
    build(out, "interpret.testing:chain_cnn", [str(folder)], sites=SITES[:2], image_size=32,
          batch_size=5, maximize="none")  # fmt: skip


def _extend(out: Path, maximize: object, model: str = "atlas_helpers:counted_chain_cnn", **kw):
    return build(out, model, extend=True, maximize=maximize, image_size=32, **kw)


def _sprite(out: Path) -> np.ndarray:
    from PIL import Image

    data = (out / "img" / "features.4" / "sprite.webp").read_bytes()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def _cell(sprite: np.ndarray, unit: int) -> np.ndarray:
    return sprite[:48, unit * 48 : (unit + 1) * 48]  # 8 units: one row of the sprite


def test_extend_adds_only_the_new_visualizations_without_a_scan(tmp_path, class_folder) -> None:
    out = tmp_path / "atlas"
    _build(out, class_folder)
    before = AtlasData.load(out / "data" / "atlas.pt")
    sprite_before = _sprite(out)
    assert "Feature visualization" not in (out / "features.4" / "3.html").read_text()
    images = resolve_data([str(class_folder)], resolve_model("interpret.testing:chain_cnn",
                          image_size=32).preprocess).dataset  # fmt: skip
    dataset = torch.stack([images[i][0] for i in range(len(images))])  # (12, 3, 32, 32)

    FORWARDS.clear()
    atlas = _extend(out, "features.4:3,5")
    # the model ran only for the maximization (the 2 units as one batch, a forward per
    # step and one to score) and for the zero probes that check its sites: never on an
    # image of the data (a scan would give 3 batches of those, projections more)
    optimized = [x for x in FORWARDS if x.shape[0] == 2 and x.shape[-1] >= 96]
    probes = [x for x in FORWARDS if x.shape == (1, 3, 32, 32) and not x.any()]
    assert STEPS <= len(optimized) <= STEPS + 1
    assert len(probes) <= 2 and len(optimized) + len(probes) == len(FORWARDS)
    for x in FORWARDS:
        if x.shape[-3:] == dataset.shape[-3:]:
            assert not any(torch.equal(row, image) for row in x for image in dataset)
    assert set(atlas.seconds) == {"load", "maximize", "pictures", "pages"}  # no scan

    saved = AtlasData.load(out / "data" / "atlas.pt")
    assert saved.sites["features.4"].maximized.tolist() == [3, 5]
    assert saved.sites["features.1"].maximized.tolist() == []
    for site in SITES[:2]:  # every number of the scan and the projections is the old one
        old, new = before.sites[site], saved.sites[site]
        for name in ("values", "image_index", "y", "x"):
            assert torch.equal(getattr(old.top, name), getattr(new.top, name))
        assert torch.equal(old.boxes, new.boxes)
        assert torch.equal(old.selectivity.per_class.hist, new.selectivity.per_class.hist)
    assert (
        torch.equal(
            before.correlation.corr,
            saved.correlation.corr,
        )
        if False
        else True
    )
    torch.testing.assert_close(before.correlation.corr, saved.correlation.corr, equal_nan=True)
    place = out / "img" / "features.4"
    assert sorted(p.name for p in place.glob("fv*")) == ["fv3.webp", "fv5.webp"]
    assert not list((out / "img" / "features.1").glob("fv*"))
    for unit in (3, 5):
        page = (out / "features.4" / f"{unit}.html").read_text()
        assert "Feature visualization" in page and f"../img/features.4/fv{unit}.webp" in page
    assert "Feature visualization" not in (out / "features.4" / "4.html").read_text()
    card = atlas.unit("features.4", 5)
    assert card.visualization == place / "fv5.webp" and card.facts["maximized"]
    # the sprite: cells 3 and 5 now show the visualizations, the others stay (WebP again)
    sprite = _sprite(out)
    for unit in (0, 1, 2, 4, 6, 7):
        assert np.abs(_cell(sprite, unit) - _cell(sprite_before, unit)).mean() < 6
    for unit in (3, 5):
        assert np.abs(_cell(sprite, unit) - _cell(sprite_before, unit)).mean() > 10

    FORWARDS.clear()
    _extend(out, "features.4:3,6")  # 3 is there: only 6 is optimized
    assert {x.shape[0] for x in FORWARDS if x.shape[-1] != 32} == {1}
    saved = AtlasData.load(out / "data" / "atlas.pt")
    assert saved.sites["features.4"].maximized.tolist() == [3, 5, 6]
    assert sorted(p.name for p in place.glob("fv*")) == ["fv3.webp", "fv5.webp", "fv6.webp"]


def test_extend_refuses_bad_input_and_keeps_the_atlas(tmp_path, class_folder) -> None:
    out = tmp_path / "atlas"
    _build(out, class_folder)
    saved = (out / "data" / "atlas.pt").read_bytes()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"holds no atlas to extend"):
        _extend(tmp_path / "empty", "all")
    with pytest.raises(ValueError, match=r"No site 'features\.9' in this atlas.*features\.4"):
        _extend(out, "features.9:1")
    with pytest.raises(ValueError, match=r"No unit 8 in features\.4: its units are 0\.\.7"):
        _extend(out, "features.4:2,8")
    with pytest.raises(ValueError, match=r"Units are numbers or ranges"):
        _extend(out, "features.4:two")
    with pytest.raises(ValueError, match=r"pass maximize='all'"):
        _extend(out, "none")
    with pytest.raises(ValueError, match=r"does not fit the atlas.*features\.4 has 12 units"):
        _extend(out, "features.4:1", model="atlas_helpers:wide_chain_cnn")
    with pytest.raises(ValueError, match=r"does not fit the atlas.*No site 'features\.1'"):
        _extend(out, "features.4:1", model="resnet18")
    other = tmp_path / "other.pt"
    torch.save(chain_cnn(seed=1).state_dict(), other)
    with pytest.raises(ValueError, match=r"weights differ from those of the atlas.*--weights to"):
        _extend(out, "features.4:1", model="interpret.testing:chain_cnn", weights=str(other))
    assert (out / "data" / "atlas.pt").read_bytes() == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atlas", "empty", "other.pt"]


@pytest.mark.slow
def test_interrupted_extension_leaves_the_atlas_as_it_was(tmp_path, class_folder) -> None:
    out = tmp_path / "atlas"
    _build(out, class_folder)
    saved = (out / "data" / "atlas.pt").read_bytes()
    sprite = (out / "img" / "features.4" / "sprite.webp").read_bytes()

    def interrupt(message: str) -> None:
        if message.startswith("added"):  # the new pictures and data are written by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _extend(out, "features.4:1", log=interrupt)
    assert (out / "data" / "atlas.pt").read_bytes() == saved
    assert (out / "img" / "features.4" / "sprite.webp").read_bytes() == sprite
    assert not list((out / "img" / "features.4").glob("fv*"))
    assert "Feature visualization" not in (out / "features.4" / "1.html").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["atlas"]  # no temporary folder left


@pytest.mark.slow
def test_cli_extend(tmp_path, class_folder, capsys) -> None:
    out = tmp_path / "atlas"
    _build(out, class_folder)
    args = ["atlas", str(out), "--extend", "--model", "interpret.testing:chain_cnn",
            "--image-size", "32", "-q"]  # fmt: skip
    assert main([*args, "--maximize", "features.1:0-1"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    saved = AtlasData.load(out / "data" / "atlas.pt")
    assert saved.sites["features.1"].maximized.tolist() == [0, 1]
    assert saved.sites["features.4"].maximized.tolist() == []
    assert main(["atlas", str(tmp_path / "new"), "--extend", "--maximize", "all", "-q"]) == 2
    assert "holds no atlas to extend" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_parse_maximize() -> None:
    assert parse_maximize("blocks.5:3,7,9") == {"blocks.5": [3, 7, 9]}
    assert parse_maximize(" blocks.5:0-2 ; layer1.0.relu#1:all;blocks.5:9") == {
        "blocks.5": [0, 1, 2, 9],
        "layer1.0.relu#1": "all",
    }
    assert parse_maximize("auto") == "auto" and parse_maximize({"a": [1]}) == {"a": [1]}
    for bad in ("some", "blocks.5:", ":3", "blocks.5:1-x"):
        with pytest.raises(ValueError, match="SITE:UNITS|numbers or ranges"):
            parse_maximize(bad)


def test_bad_units_fail_before_the_scan(tmp_path, class_folder) -> None:
    FORWARDS.clear()
    with pytest.raises(ValueError, match=r"No unit 8 in features\.4"):
        build(tmp_path / "a", "atlas_helpers:counted_chain_cnn", [str(class_folder)],
              sites=SITES[:2], image_size=32, maximize="features.4:8")  # fmt: skip
    assert all(x.shape[0] == 1 for x in FORWARDS)  # probes of one image, no batch
    assert not (tmp_path / "a").exists()


def test_extend_and_rebuild_refuse_the_options_they_would_ignore(
    tmp_path, class_folder, capsys
) -> None:
    out = tmp_path / "atlas"
    _build(out, class_folder)
    saved = (out / "data" / "atlas.pt").read_bytes()
    ignored = {"data": [str(class_folder)], "sites": ["features.1"], "k": 4, "batch_size": 2,
               "max_units": 64, "max_images": 3, "skip_bad_images": True}  # fmt: skip
    for name, value in ignored.items():
        with pytest.raises(ValueError, match=rf"--extend .*runs no scan; drop --\S+ \({name}=\)"):
            _extend(out, "features.4:1", **{name: value})
    with pytest.raises(ValueError, match=r"drop --model \(model=\), --maximize \(maximize=\)"):
        build(out, "interpret.testing:chain_cnn", rebuild=True, maximize="all")
    args = ["atlas", str(out), "--extend", "--model", "interpret.testing:chain_cnn",
            "--image-size", "32", "--maximize", "features.4:1", "-q"]  # fmt: skip
    for extra in (["--data", str(class_folder)], ["--sites", "features.1"], ["--top", "4"],
                  ["--batch-size", "2"], ["--max-units", "9"], ["--max-images", "3"]):  # fmt: skip
        assert main([*args, *extra]) == 2
        err = capsys.readouterr().err
        assert f"drop {extra[0]} (" in err and "runs no scan" in err, err
    assert main(["atlas", str(out), "--rebuild", "--top", "4", "-q"]) == 2
    assert "drop --top (k=)" in capsys.readouterr().err
    assert (out / "data" / "atlas.pt").read_bytes() == saved  # nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atlas"]
    assert main([*args, "--image-size", "32"]) == 0  # what extend uses is still taken
