"""Table 1's sign-change statistic: a literal re-implementation of the formula, a model
blind to a region (answer 0), a hand-derived answer, bad input, hooks and state."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor, nn

from interpret.core import hook_count
from interpret.occlusion import CorrespondenceResult, pairwise_sign_hamming, part_correspondence
from interpret.testing import chain_cnn, seeded


def literal_delta(
    model: nn.Module, site: str, images: Tensor, boxes: Tensor, fill: float
) -> list[float]:
    """Hamming(sign(eps_i), sign(eps_j)) / D for every pair i < j, with Python loops."""
    module = dict(model.named_modules())[site]
    seen: list[Tensor] = []
    handle = module.register_forward_hook(lambda m, i, o: seen.append(o.detach().clone()))
    signs = []
    try:
        with torch.no_grad():
            for i in range(len(images)):
                x = images[i : i + 1].clone()
                seen.clear()
                model(x)
                clean = seen[-1].flatten()
                t, l, b, r = boxes[i].tolist()  # noqa: E741
                x[..., t:b, l:r] = fill
                seen.clear()
                model(x)
                occluded = seen[-1].flatten()
                signs.append([(d > 0) - (d < 0) for d in (clean - occluded).tolist()])
    finally:
        handle.remove()
    out = []
    for i, j in itertools.combinations(range(len(images)), 2):
        mismatches = sum(a != b for a, b in zip(signs[i], signs[j]))
        out.append(mismatches / len(signs[i]))
    return out


def test_statistic_equals_a_literal_reimplementation() -> None:
    model = chain_cnn(seed=6).double()
    images = torch.randn(
        5, 3, 20, 22, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    boxes = torch.tensor(
        [[2, 3, 8, 9], [4, 4, 10, 10], [0, 0, 6, 6], [10, 12, 16, 18], [5, 6, 11, 12]]
    )
    res = part_correspondence(model, images, {"eye": boxes}, ["features.2", "features.5"],
                              fill=0.25, random_draws=3, batch_size=2)  # fmt: skip
    for site in ("features.2", "features.5"):
        expected = torch.tensor(
            literal_delta(model, site, images, boxes, 0.25), dtype=torch.float64
        )
        mean, std = res.statistic("eye", site)
        assert mean == pytest.approx(float(expected.mean()), abs=1e-12)
        assert std == pytest.approx(float(expected.std()), abs=1e-12)
        # the random draws follow the same formula with the random boxes
        draw = res.random_boxes["eye"][1]
        rand = torch.tensor(literal_delta(model, site, images, draw, 0.25), dtype=torch.float64)
        i, j = torch.triu_indices(5, 5, offset=1)
        torch.testing.assert_close(res.random_hamming["eye"][site][1][i, j], rand)


class _BlindToBottom(nn.Module):
    """Zeroes rows 10.. of the input before a conv stack: blind to the bottom half."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        seeded(self, 3)

    def forward(self, x: Tensor) -> Tensor:
        mask = torch.ones_like(x)
        mask[..., 10:, :] = 0
        return self.relu(self.conv(x * mask))


def test_a_model_blind_to_the_region_gives_zero_change() -> None:
    model = _BlindToBottom()
    images = torch.randn(4, 3, 20, 16, generator=torch.Generator().manual_seed(1))
    blind = torch.tensor([12, 2, 18, 8])  # rows 12..18: never seen
    seen = torch.tensor([2, 2, 6, 8])
    res = part_correspondence(model, images, {"blind": blind, "seen": seen}, "conv", random_draws=4)
    assert torch.equal(res.hamming["blind"]["conv"], torch.zeros(4, 4, dtype=torch.float64))
    assert res.statistic("blind", "conv") == (0.0, 0.0)
    assert res.statistic("seen", "conv")[0] > 0.01


class _Identity(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.inp(x).mean(dim=(2, 3))


def test_hand_derived_answer_on_the_input_itself() -> None:
    # eps_i = x_i - 0 inside the box and 0 outside; with constant images of sign s_i the
    # signs differ, for images of opposite sign, on the box's C*h*w of C*H*W elements.
    values = torch.tensor([1.0, 2.0, -1.0, 3.0])
    images = values.view(4, 1, 1, 1).expand(4, 2, 10, 10).clone()
    res = part_correspondence(_Identity(), images, {"nose": [2, 2, 7, 6]}, "inp", fill=0.0,
                              random_draws=2)  # fmt: skip
    fraction = (5 * 4) / (10 * 10)
    expected = (
        torch.tensor([[0, 0, 1, 0], [0, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=torch.float64)
        * fraction
    )
    torch.testing.assert_close(res.hamming["nose"]["inp"], expected)
    # pairs: 3 of 6 differ -> mean fraction / 2
    assert res.statistic("nose", "inp")[0] == pytest.approx(fraction / 2)


def test_pairwise_sign_hamming_counts_zero_as_its_own_sign() -> None:
    eps = torch.tensor([[1.0, -2.0, 0.0, 0.0], [3.0, 0.0, 0.0, -1.0]])
    torch.testing.assert_close(
        pairwise_sign_hamming(eps), torch.tensor([[0.0, 0.5], [0.5, 0.0]], dtype=torch.float64)
    )


def test_random_boxes_have_the_part_sizes_and_stay_inside() -> None:
    images = torch.randn(3, 3, 15, 19)
    boxes = torch.tensor([[0, 0, 4, 5], [3, 3, 9, 8], [10, 11, 15, 19]])
    res = part_correspondence(chain_cnn(), images, {"p": boxes}, "features.1", random_draws=20,
                              seed=7)  # fmt: skip
    rb = res.random_boxes["p"]
    assert rb.shape == (20, 3, 4)
    assert torch.equal(rb[..., 2:] - rb[..., :2], (boxes[:, 2:] - boxes[:, :2]).expand(20, 3, 2))
    assert (rb[..., :2] >= 0).all() and (rb[..., 2] <= 15).all() and (rb[..., 3] <= 19).all()
    assert len(torch.unique(rb[:, 0, :2], dim=0)) > 5  # positions really vary
    again = part_correspondence(chain_cnn(), images, {"p": boxes}, "features.1", random_draws=20,
                                seed=7)  # fmt: skip
    assert torch.equal(again.random_boxes["p"], rb)


def test_table_is_long_form_and_round_trips(tmp_path) -> None:
    images = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    parts = {"right eye": [2, 2, 6, 6], "nose": [8, 6, 12, 10]}
    res = part_correspondence(chain_cnn(), images, parts, ["features.2", "features.5"],
                              random_draws=3)  # fmt: skip
    rows = res.to_frame().to_dict("records")
    assert [(r["part"], r["site"]) for r in rows] == [
        ("right eye", "features.2"), ("right eye", "features.5"),
        ("nose", "features.2"), ("nose", "features.5"),
    ]  # fmt: skip
    first = rows[0]
    assert first["mean"] == res.statistic("right eye", "features.2")[0]
    assert first["random_mean"] == res.random_statistic("right eye", "features.2")[0]
    assert first["images"] == 3 and first["random_draws"] == 3
    loaded = CorrespondenceResult.load(res.save(tmp_path / "c.pt"))
    assert loaded.to_frame().to_dict("records") == rows
    with pytest.warns(DeprecationWarning, match=r"use \.to_frame\(\)"):
        old = res.table()
    assert old.equals(res.to_frame())


@pytest.mark.parametrize(
    ("images", "parts", "sites", "match"),
    [
        (torch.randn(3, 3, 16, 16), {"eye": [10, 10, 18, 14]}, "features.1", "outside"),
        (torch.randn(3, 3, 16, 16), {"eye": [-1, 0, 4, 4]}, "features.1", "outside"),
        (torch.randn(3, 3, 16, 16), {"eye": [4, 4, 4, 8]}, "features.1", "empty"),
        (torch.randn(3, 3, 16, 16), {"eye": [[0, 0, 4, 4]] * 2}, "features.1", r"\(N=3, 4\)"),
        (torch.randn(1, 3, 16, 16), {"eye": [0, 0, 4, 4]}, "features.1", "N >= 2"),
        (torch.randn(3, 3, 16, 16), {}, "features.1", "at least one part"),
        (torch.randn(3, 3, 16, 16), {"eye": [0, 0, 4, 4]}, "featurs.1", "Closest"),
    ],
)
def test_bad_input_fails_clearly(images, parts, sites, match) -> None:
    with pytest.raises(ValueError, match=match):
        part_correspondence(chain_cnn(), images, parts, sites)


def test_no_hook_left_and_state_restored() -> None:
    model = chain_cnn().train()
    before = hook_count(model)
    part_correspondence(model, torch.randn(2, 3, 16, 16), {"p": [0, 0, 4, 4]}, "features.1",
                        random_draws=1)  # fmt: skip
    assert hook_count(model) == before and model.training
    with pytest.raises(ValueError):
        part_correspondence(model, torch.randn(2, 3, 16, 16), {"p": [0, 0, 40, 4]}, "features.1")
    assert hook_count(model) == before and model.training


def test_shared_random_placement_puts_every_box_at_the_same_place() -> None:
    images = torch.randn(4, 3, 16, 16)
    res = part_correspondence(chain_cnn(), images, {"p": [2, 2, 6, 7]}, "features.1",
                              random_draws=5, random_placement="shared")  # fmt: skip
    rb = res.random_boxes["p"]
    assert torch.equal(rb, rb[:, :1].expand_as(rb))
    assert res.random_placement == "shared"
    with pytest.raises(ValueError, match="random_placement"):
        part_correspondence(chain_cnn(), images, {"p": [2, 2, 6, 7]}, "features.1",
                            random_placement="same")  # fmt: skip


class _FailsLater(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = chain_cnn()
        self.calls = 0

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("boom")
        return self.net(x)


def test_hooks_removed_and_state_restored_after_a_failure_mid_way() -> None:
    model = _FailsLater().train()
    model.net.features[0].weight.requires_grad_(False)
    with pytest.raises(ValueError, match="boom"):
        part_correspondence(model, torch.randn(2, 3, 16, 16), {"p": [0, 0, 4, 4]},
                            "net.features.1", random_draws=2, batch_size=1)  # fmt: skip
    assert hook_count(model) == 0 and model.training and model.net.training
    assert not model.net.features[0].weight.requires_grad
    assert model.net.features[3].weight.requires_grad
