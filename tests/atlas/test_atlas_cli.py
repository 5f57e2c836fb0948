"""``interpret atlas``: the subcommand, its errors, and a user's torchvision model."""

from __future__ import annotations

from pathlib import Path

import pytest
from atlas_helpers import SITES

from interpret.report.cli import main


def _args(out: Path, folder: Path, *extra: str) -> list[str]:
    return [
        "atlas", str(out), "--model", "interpret.testing:chain_cnn", "--data", str(folder),
        "--image-size", "32", "--maximize", "none", "-q", *extra,
    ]  # fmt: skip


def test_cli_builds_and_rebuilds(tmp_path: Path, class_folder: Path, capsys) -> None:
    out = tmp_path / "atlas"
    assert main(_args(out, class_folder, "--sites", ",".join(SITES[:2]), "--top", "4")) == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    assert (out / "features.4" / "7.html").is_file()
    assert "Top-4 dataset crops" in (out / "features.4" / "7.html").read_text()
    (out / "index.html").unlink()
    assert main(["atlas", str(out), "--rebuild", "-q"]) == 0
    assert (out / "index.html").is_file()


def test_cli_errors(tmp_path: Path, class_folder: Path, capsys) -> None:
    out = tmp_path / "atlas"
    assert main(_args(out, class_folder, "--sites", "features.2x")) == 2
    err = capsys.readouterr().err
    assert err.startswith("interpret: error: No site 'features.2x'") and "features.1" in err
    assert main(_args(out, class_folder, "--sites", "features.7", "--max-units", "5")) == 2
    assert "--max-units 10" in capsys.readouterr().err
    assert main(["atlas", str(tmp_path), "--rebuild", "-q"]) == 2
    assert not out.exists()


@pytest.mark.slow
def test_user_resnet18_over_a_labelled_folder(tmp_path: Path, class_folder: Path) -> None:
    """A torchvision resnet18 (random weights) over the class folder: default sites."""
    from interpret.atlas import build

    atlas = build(tmp_path / "atlas", "resnet18", [str(class_folder)], image_size=64,
                  maximize="none", batch_size=12)  # fmt: skip
    assert len(atlas.sites) == 3 and all(s.startswith("layer") for s in atlas.sites)
    assert {atlas.data.sites[s].route for s in atlas.sites} == {"gradient"}  # residual adds
    card = atlas.unit(atlas.sites[0], 0)
    assert card.facts["classes"]["names"] == ["cat", "coffee", "rocket"]
    assert "gradient route" in atlas.page(atlas.sites[0], 0).read_text()
