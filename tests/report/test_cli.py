"""The ``interpret`` command: bad input gives one clear line, status 2 and no files."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpret.report.cli import main


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _run_bad(capsys, tmp_path: Path, argv: list[str], expect: str) -> None:
    before = _siblings(tmp_path)
    status = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1, err
    assert err[0].startswith("interpret: error: ")
    assert expect in err[0]
    assert _siblings(tmp_path) == before  # nothing written, no temporary folder left


def test_unknown_model(capsys, tmp_path: Path) -> None:
    _run_bad(
        capsys,
        tmp_path,
        ["report", str(tmp_path / "out"), "--model", "efficientnetlite0"],
        "Unknown model 'efficientnetlite0'. Did you mean efficientnet_lite0",
    )


def test_unknown_model_for_sites(capsys, tmp_path: Path) -> None:
    _run_bad(capsys, tmp_path, ["sites", "no_such_net"], "Unknown model 'no_such_net'")


def test_missing_folder(capsys, tmp_path: Path) -> None:
    _run_bad(
        capsys,
        tmp_path,
        [
            "report",
            str(tmp_path / "out"),
            "--model",
            "interpret.testing:chain_cnn",
            "--data",
            str(tmp_path / "nowhere"),
        ],
        "No such folder or file",
    )


def test_unreadable_image(capsys, tmp_path: Path, image_folder: Path) -> None:
    (image_folder / "broken.png").write_bytes(b"this is not a png")
    _run_bad(
        capsys,
        tmp_path,
        [
            "report",
            str(tmp_path / "out"),
            "--model",
            "interpret.testing:chain_cnn",
            "--data",
            str(image_folder),
        ],
        "Cannot read image",
    )
    assert "broken.png" in str(image_folder / "broken.png")


def test_unknown_analyzer(capsys, tmp_path: Path) -> None:
    _run_bad(
        capsys,
        tmp_path,
        ["report", str(tmp_path / "out"), "--analyzers", "summary,deconvnett"],
        "Unknown analyzer 'deconvnett'. Did you mean deconvnet",
    )


def test_unreadable_image_for_occlusion(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    _run_bad(
        capsys,
        tmp_path,
        [
            "occlusion",
            str(bad),
            "--model",
            "interpret.testing:chain_cnn",
            "-o",
            str(tmp_path / "occ.png"),
        ],
        "Cannot read image",
    )


def test_unknown_section_parameter(capsys, tmp_path: Path, image_folder: Path) -> None:
    _run_bad(
        capsys,
        tmp_path,
        [
            "report",
            str(tmp_path / "out"),
            "--model",
            "interpret.testing:chain_cnn",
            "--data",
            str(image_folder),
            "--analyzers",
            "summary",
            "--set",
            "summary.kk=3",
        ],
        "Unknown parameter 'kk' for section 'summary' (did you mean k?)",
    )


def test_output_folder_with_other_files_is_refused(capsys, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    status = main(["report", str(out), "--analyzers", "summary"])
    assert status == 2
    assert "holds other files" in capsys.readouterr().err
    assert _siblings(out) == ["notes.txt"]


def test_sites_lists_names_types_and_shapes(capsys) -> None:
    assert main(["sites", "interpret.testing:chain_cnn", "--image-size", "32"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["features", "Sequential", "10x3x3"]
    row = next(line.split() for line in lines if line.startswith("features.0 "))
    assert row == ["features.0", "Conv2d", "6x32x32"]
    assert main(["sites", "interpret.testing:chain_cnn", "--filter", "classifier.*"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["classifier.0", "classifier.1", "classifier.2"]


def test_analyzers_lists_every_section(capsys) -> None:
    from interpret.report import available

    assert main(["analyzers"]) == 0
    out = capsys.readouterr().out
    for name in available():
        assert f"\n{name} " in "\n" + out


def test_single_analyzer_command_writes_png(tmp_path: Path, image_folder: Path) -> None:
    from PIL import Image

    image = next(image_folder.glob("chelsea-0.png"))
    out = tmp_path / "figs" / "occ.png"
    status = main(
        [
            "occlusion",
            str(image),
            "--model",
            "interpret.testing:chain_cnn",
            "--image-size",
            "32",
            "--set",
            "window=8",
            "--set",
            "stride=4",
            "-q",
            "-o",
            str(out),
        ]
    )
    assert status == 0
    with Image.open(out) as png:
        assert png.size[0] > 200 and png.size[1] > 100


def test_report_command_with_config_file(tmp_path: Path, image_folder: Path) -> None:
    config = tmp_path / "report.toml"
    config.write_text(
        'model = "interpret.testing:chain_cnn"\n'
        f'data = ["{image_folder.name}"]\n'
        'analyzers = ["summary"]\nimage_size = 32\nextras = []\nprogress = false\n'
        "[sections.summary]\nk = 2\n"
    )
    image_folder.rename(tmp_path / image_folder.name)  # relative to the config file
    status = main(["report", str(tmp_path / "out"), "--config", str(config), "-q"])
    assert status == 0
    assert (tmp_path / "out" / "index.html").is_file()
    meta = (tmp_path / "out" / "report.json").read_text()
    assert '"k": 2' in (tmp_path / "out" / "report.json").read_text() or "summary" in meta


@pytest.mark.parametrize("argv", [["report", "--bogus"], ["frobnicate"]])
def test_argparse_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


_TINY_SETS = {
    "deconvnet": ["k=3", "channels=2"],
    "maximize": ["size=24", "steps=3", "classes=[0,1]", "channels=[0]"],
    "selectivity": ["bins=16"],
    "embed": ["max_patches=60", "per_image=10", "neighbours=3"],
    "invariance": ["shifts=[-4,0,4]", "scales=[1.0,1.5]", "degrees=[0,90]"],
    "filters": [],
    "summary": ["k=2"],
}


@pytest.mark.parametrize("command", sorted(_TINY_SETS))
def test_each_analyzer_command(command: str, tmp_path: Path, image_folder: Path) -> None:
    from PIL import Image

    out = tmp_path / f"{command}.png"
    sets = [arg for item in _TINY_SETS[command] for arg in ("--set", item)]
    if command == "selectivity":  # needs classes: two class folders of the photos
        for i, path in enumerate(sorted(image_folder.glob("*.png"))):
            (image_folder / f"class{i % 2}").mkdir(exist_ok=True)
            path.rename(image_folder / f"class{i % 2}" / path.name)
    argv = [
        command,
        "--model",
        "interpret.testing:chain_cnn",
        "--image-size",
        "32",
        "--data",
        str(image_folder),
        "-q",
        "-o",
        str(out),
        *sets,
    ]
    assert main(argv) == 0
    written = sorted(tmp_path.glob(f"{command}*.png"))
    assert out in written
    for path in written:
        with Image.open(path) as png:
            assert min(png.size) > 50


def test_site_flag_maps_to_the_section_parameter(tmp_path: Path, image_folder: Path) -> None:
    out = tmp_path / "top.png"
    argv = [
        "deconvnet",
        "--model",
        "interpret.testing:chain_cnn",
        "--image-size",
        "32",
        "--data",
        str(image_folder),
        "--site",
        "features.4",
        "--set",
        "k=2",
        "--set",
        "channels=1",
        "-q",
        "-o",
        str(out),
    ]
    assert main(argv) == 0 and out.is_file()


def test_sites_lists_every_call_of_a_reused_module(capsys) -> None:
    """torchvision's ResNet calls each block's ReLU twice; the block output is the second."""
    assert main(["sites", "resnet18", "--filter", "layer1.0.relu*", "--image-size", "64"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["layer1.0.relu", "layer1.0.relu#1"]
    assert all(line.split()[-1] == "64x16x16" for line in lines)
