"""Config files (TOML, YAML) hold what the flags hold; flags override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpret.report import ReportConfig, load_config_file
from interpret.report.cli import _config, build_parser


def test_toml_and_yaml_give_the_same_config(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        'model = "resnet18"\ndata = ["photos"]\nanalyzers = ["summary", "occlusion"]\n'
        "batch_size = 8\n[sections.occlusion]\nwindow = 32\n"
    )
    (tmp_path / "a.yaml").write_text(
        "model: resnet18\ndata: [photos]\nanalyzers: [summary, occlusion]\nbatch_size: 8\n"
        "sections:\n  occlusion:\n    window: 32\n"
    )
    configs = [
        ReportConfig.from_mapping(load_config_file(tmp_path / name), tmp_path)
        for name in ("a.toml", "a.yaml")
    ]
    assert configs[0] == configs[1]
    config = configs[0]
    assert config.data == (str(tmp_path / "photos"),)  # relative to the file
    assert config.analyzers == ("summary", "occlusion")
    assert config.section_params("occlusion") == {"window": 32}


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(
        'model = "resnet18"\nbatch_size = 8\ndevice = "cpu"\n'
        "[sections.occlusion]\nwindow = 32\nstride = 8\n"
    )
    args = build_parser().parse_args(
        [
            "report",
            "out",
            "--config",
            str(path),
            "--batch-size",
            "4",
            "--set",
            "occlusion.window=16",
            "--analyzers",
            "summary,occlusion",
        ]
    )
    args.argv = ["report", "out"]
    config = _config(args)
    assert config.batch_size == 4 and config.model == "resnet18"
    assert config.section_params("occlusion") == {"window": 16, "stride": 8}
    assert config.analyzers == ("summary", "occlusion")
    assert config.out == Path("out") and config.command == "interpret report out"


@pytest.mark.parametrize(
    ("text", "suffix", "error", "match"),
    [
        ('model = "x"\nbogus = 1\n', ".toml", ValueError, "Unknown config key"),
        ("model = \n", ".toml", ValueError, "not valid TOML"),
        ("- a\n- b\n", ".yaml", ValueError, "must hold a table"),
        ("model = 'x'", ".ini", ValueError, "Config files are .toml"),
        ("batch_size = 0\n", ".toml", ValueError, "batch_size must be a positive int"),
        ("[sections]\nocclusion = 3\n", ".toml", TypeError, "sections must map"),
    ],
)
def test_bad_config_files(tmp_path: Path, text, suffix, error, match) -> None:
    path = tmp_path / f"c{suffix}"
    path.write_text(text)
    with pytest.raises(error, match=match):
        ReportConfig.from_mapping(load_config_file(path), tmp_path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No config file"):
        load_config_file(tmp_path / "nope.toml")
