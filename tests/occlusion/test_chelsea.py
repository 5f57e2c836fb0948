"""The bundled EfficientNet-Lite0 on ``skimage.data.chelsea()``: covering the cat's face
lowers the cat probability, covering the background does not (Fig. 7 (d) on a real photo).

Face landmarks, read off the 451x300 photo: eyes near (row, col) (110, 170) and
(135, 315), nose near (245, 265); the blurred background is the strip right of col 380.
Resized (not cropped) to 224x224: right eye (101, 156), left eye (82, 84), nose (183, 132),
background cols >= 190.
"""

from __future__ import annotations

from interpret.occlusion import Occluder, occlusion_sensitivity

CAT_CLASSES = slice(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
RIGHT_EYE, LEFT_EYE, NOSE = (101, 156), (82, 84), (183, 132)


def _contains(box: list[int], point: tuple[int, int]) -> bool:
    top, left, bottom, right = box
    return top <= point[0] < bottom and left <= point[1] < right


def test_covering_the_face_lowers_the_cat_probability_and_background_does_not(lite0, chelsea):
    res = occlusion_sensitivity(lite0, chelsea, Occluder(80, 32, fill="gray"), keep_logits=True,
                                incremental=True)  # fmt: skip
    assert int(res.target) in range(281, 286)  # the clean top-1 is a cat (Egyptian cat)
    clean = float(res.clean_target_prob[0])
    prob = res.target_prob[0]
    boxes = res.boxes()
    cells = [(i, j) for i in range(prob.shape[0]) for j in range(prob.shape[1])]
    on_eye = [c for c in cells if _contains(boxes[c].tolist(), RIGHT_EYE)]
    background = [
        c for c in cells if boxes[c][1] >= 160 and (boxes[c][0] >= 150 or boxes[c][2] <= 80)
    ]
    assert on_eye and background
    assert min(float(prob[c]) for c in on_eye) < clean - 0.12
    assert all(float(prob[c]) > clean - 0.05 for c in background)
    # the position that hurts most covers a facial landmark
    worst = boxes.view(-1, 4)[int(prob.argmin())].tolist()
    assert any(_contains(worst, p) for p in (RIGHT_EYE, LEFT_EYE, NOSE))
    # summed over the five cat classes the drop is small (the face fills the frame and
    # fur is everywhere) but still largest at the face
    cats = res.logits[0].softmax(-1)[..., CAT_CLASSES].sum(-1)
    assert float(cats.view(-1)[int(prob.argmin())]) < min(float(cats[c]) for c in background)
    assert all(label in range(281, 286) for label in res.top_label.unique().tolist())
