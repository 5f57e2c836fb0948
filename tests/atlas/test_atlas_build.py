"""The atlas's numbers equal the analyzers' own; pages, rebuild and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from atlas_helpers import CLASSES, SITES

from interpret import scan
from interpret.atlas import AtlasData, UnitCorrelation, build, open_atlas
from interpret.data.resolve import resolve_data
from interpret.deconvnet import TopActivations
from interpret.models.resolve import resolve_model
from interpret.neurons import Selectivity


def _same_data(folder: Path):
    model = resolve_model("interpret.testing:chain_cnn", image_size=32)
    data = resolve_data([str(folder)], model.preprocess)
    return model, data


def test_saved_values_equal_the_analyzers(tiny_atlas, class_folder: Path) -> None:
    saved = AtlasData.load(tiny_atlas.path / "data" / "atlas.pt")
    assert list(saved.sites) == SITES and saved.class_names == CLASSES
    model, data = _same_data(class_folder)
    analyzers = [TopActivations(s, k=9) for s in SITES]
    analyzers += [Selectivity(s, classes=list(CLASSES)) for s in SITES]
    results = scan(model.model, data.dataset, analyzers, batch_size=7, progress=False)
    for site, top, sel in zip(SITES, results[:3], results[3:]):
        mine = saved.sites[site]
        for name in ("values", "image_index", "y", "x"):
            assert torch.equal(getattr(mine.top, name), getattr(top, name)), (site, name)
        assert torch.equal(mine.selectivity.per_class.hist, sel.per_class.hist)
        assert torch.equal(mine.selectivity.per_class.labels.sign, sel.per_class.labels.sign)
        torch.testing.assert_close(mine.selectivity.per_class.mean, sel.per_class.mean)
        acc = sel.per_class.classifier.balanced_accuracy
        torch.testing.assert_close(
            mine.selectivity.per_class.classifier.balanced_accuracy, acc, equal_nan=True
        )
        assert mine.route == "reverse"  # chain_cnn: convolutions, ReLUs and max pools
    # what a unit page shows is these numbers
    card = tiny_atlas.unit("features.4", 3)
    top = results[1]
    assert [r["value"] for r in card.facts["top"]] == top.values[3].tolist()
    page = tiny_atlas.page("features.4", 3).read_text()
    assert f"{top.values[3, 0].item():.4g}" in page
    accuracy = results[4].per_class.classifier.balanced_accuracy[:, 3]
    assert card.facts["best_class"] == CLASSES[int(accuracy.nan_to_num(-1).argmax())]
    assert card.facts["accuracy"] == pytest.approx(float(accuracy.nan_to_num(-1).max()))
    assert "<img" in card._repr_html_() and "data:image/" in card._repr_html_()


def test_correlation_is_pearson_and_merges(class_folder: Path) -> None:
    model, data = _same_data(class_folder)
    whole = UnitCorrelation(SITES[:2])
    (result,) = scan(model.model, data.dataset, [whole], batch_size=5, progress=False)
    from interpret import capture

    images = torch.stack([data.dataset[i][0] for i in range(len(data.dataset))])
    with torch.inference_mode(), capture(model.model, SITES[:2]) as acts:
        model.model(images)
        vectors = torch.cat([acts[s].double().mean((2, 3)) for s in SITES[:2]], 1).numpy()
    expected = np.corrcoef(vectors.T)
    np.testing.assert_allclose(
        result.corr.numpy(), expected, atol=1e-6, equal_nan=True
    )  # float32 spatial means
    halves = [UnitCorrelation(SITES[:2]), UnitCorrelation(SITES[:2])]
    scan(model.model, data.dataset, [halves[0]], progress=False, indices=range(0, 5))
    scan(model.model, data.dataset, [halves[1]], progress=False, indices=range(5, 12))
    halves[0].merge(halves[1])
    merged = halves[0].result()
    assert merged.count == 12
    np.testing.assert_allclose(
        merged.corr.numpy(), expected, atol=1e-6, equal_nan=True
    )  # float32 spatial means


def test_pages_and_rebuild(tiny_atlas) -> None:
    out = tiny_atlas.path
    for site in SITES:
        units = tiny_atlas.data.sites[site].shape[0]
        assert sorted(p.name for p in (out / site).glob("*.html")) == sorted(
            ["index.html", *[f"{u}.html" for u in range(units)]]
        )
    assert (out / "img" / "features.4" / "fv3.webp").is_file()
    assert "window.ATLAS_INDEX=" in (out / "search.js").read_text()
    before = (out / "features.7" / "2.html").read_text()
    (out / "features.7" / "2.html").unlink()
    rebuilt = build(out, rebuild=True)
    assert (out / "features.7" / "2.html").read_text() == before
    assert set(rebuilt.seconds) == {"pages"}  # no scan, no projection
    assert open_atlas(out).unit("features.7", 2).facts == tiny_atlas.unit("features.7", 2).facts


def _build(out: Path, folder: Path, **changes):
    values = dict(sites=SITES[:1], image_size=32, batch_size=5, maximize="none")
    values.update(changes)
    return build(out, "interpret.testing:chain_cnn", [str(folder)], **values)


def test_bad_sites(tmp_path: Path, class_folder: Path) -> None:
    with pytest.raises(ValueError, match=r"No site 'features\.99'.*spatial sites: .*features\.1"):
        _build(tmp_path / "a", class_folder, sites=["features.99"])
    with pytest.raises(ValueError, match=r"'classifier\.2'.*not \(C, h, w\).*features\.1"):
        _build(tmp_path / "a", class_folder, sites=["classifier.2"])
    with pytest.raises(ValueError, match=r"features\.7' has 10 units.*--max-units 10"):
        _build(tmp_path / "a", class_folder, sites=["features.7"], max_units=8)
    assert not (tmp_path / "a").exists()


def test_folder_with_other_files_is_refused(tmp_path: Path, class_folder: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="holds other files"):
        _build(out, class_folder)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_interruption_leaves_nothing_half_written(tmp_path: Path, class_folder: Path) -> None:
    out = tmp_path / "atlas"
    first = _build(out, class_folder)
    page = (out / "features.1" / "0.html").read_text()

    def interrupt(message: str) -> None:
        if message.startswith("scan"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _build(out, class_folder, log=interrupt, sites=SITES)
    assert (out / "features.1" / "0.html").read_text() == page  # the earlier atlas stays
    assert not (out / "features.4").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["atlas"]  # no temporary folder left
    assert first.sites == ("features.1",)


def test_a_constant_unit_says_its_crops_are_ties(tiny_atlas) -> None:
    from interpret.atlas.pages import unit_card

    facts = dict(tiny_atlas.unit(SITES[1], 0).facts)
    assert "are ties" not in unit_card(facts, "s.webp", None, "")
    facts.update(dead=True, std=0.0, min=0.0, max=0.0)
    html = unit_card(facts, "s.webp", None, "")
    assert "are ties" in html and "none (constant unit)" in html
    assert "separates no class" in html and "against the rest" not in html
