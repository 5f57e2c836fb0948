"""Every built-in section on a tiny model: it computes, draws, tabulates and reloads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from interpret.core import load_result
from interpret.report import available, run_report
from interpret.report.pipeline import SectionRecord


def test_registry_order_and_uniform_interface() -> None:
    from interpret.report import sections

    names = available()
    assert names[:3] == ["summary", "deconvnet", "deconvnet_switches"]
    assert set(names) >= {
        "occlusion",
        "maximize",
        "selectivity",
        "embeddings",
        "invariance",
        "probes",
        "filters",
    }
    for name in names:
        section = sections.get(name)
        assert section.name == name and section.title and section.description
        for method in ("params", "analyzers", "compute", "figures", "tables", "skip_reason"):
            assert callable(getattr(section, method))


def test_all_sections_on_a_tiny_model(tiny_config, tmp_path: Path) -> None:
    run = run_report(tiny_config(None))
    by_name = {s.name: s for s in run.sections}
    assert "deconvnet_switches" not in by_name  # a bundled demo: not on a user's model
    assert by_name["probes"].skipped  # unlabelled data
    assert by_name["selectivity"].skipped  # unlabelled data
    assert "at least two classes" in by_name["selectivity"].skipped
    drawn = {name for name, s in by_name.items() if not s.skipped}
    assert drawn == set(available()) - {"deconvnet_switches", "probes", "selectivity"}
    for name in drawn:
        section = by_name[name]
        assert section.figures, name
        assert all(f.png.startswith(b"\x89PNG") for f in section.figures)
        record = load_result(run.out / "results" / f"{name}.pt")
        assert isinstance(record, SectionRecord) and record.section == name
        assert record.params == section.params
    # The chain CNN is walked with switches by the reverse route, in the top-9 and in
    # occlusion's (c) panel.
    occlusion = load_result(run.out / "results" / "occlusion.pt").result
    assert occlusion.parts["projection"].route == "reverse"
    top = load_result(run.out / "results" / "deconvnet.pt").result
    assert all(p.route == "reverse" for p in top.parts.values())


def test_probes_on_labelled_folder(tiny_config, image_folder: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled"
    for path in sorted(image_folder.glob("*.png")):
        kind = "cat" if path.name.startswith(("chelsea", "<img")) else "other"
        (labelled / kind).mkdir(parents=True, exist_ok=True)
        for copy in range(3):
            shutil.copy(path, labelled / kind / f"{copy}-{path.name}")
    run = run_report(
        tiny_config(["probes"], data=(str(labelled),), sections={"probes": {"folds": 2}})
    )
    record = load_result(run.out / "results" / "probes.pt")
    assert record.params["source"] == "main"
    assert record.result.n_classes == 2 and record.result.n_images == 24


@pytest.mark.parametrize(
    "bad", [{"deconvnet": {"chanels": 2}}, {"occlusion": {"images": ["nope"]}}]
)
def test_bad_section_parameters(tiny_config, bad) -> None:
    with pytest.raises(ValueError):
        run_report(tiny_config(list(bad), sections=bad))
