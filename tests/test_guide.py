"""Every code block of the "use it on your model" guide runs, in order, in one folder.

The guide (``docs/your-model.md``) is run as a reader would paste it: ``bash`` blocks in a
shell, ``python`` blocks one after another in one namespace, and a ``python`` block whose
first line is ``# NAME.py`` written to that file (a script a later block launches). The
folder holds what the guide assumes the reader has: ``photos/`` with one folder per class
(six crops of a scikit-image photo each). Nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "your-model.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SCRIPT = re.compile(r"# ([\w-]+\.py)\n")


def guide_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def _photos(folder: Path) -> None:
    import numpy as np
    import skimage.data
    from PIL import Image

    classes = {"cat": skimage.data.chelsea(), "dog": skimage.data.astronaut()}
    for name, photo in classes.items():
        (folder / name).mkdir(parents=True)
        h, w = photo.shape[:2]
        for i in range(6):  # six per class: the probes' 5-fold cross-validation needs five
            top, left = (i // 3) * h // 3, (i % 3) * w // 6
            crop = np.ascontiguousarray(photo[top : top + 2 * h // 3, left : left + 2 * w // 3])
            Image.fromarray(crop).resize((120, 100)).save(folder / name / f"{i:04d}.jpg")


def small(code: str) -> str:
    """The guide's report commands at 64 pixels (the model's 224 otherwise): the same
    sections on the same data, in seconds rather than minutes on a CPU."""
    return re.sub(
        r"^(interpret (?:report|atlas) .*)$", r"\1 --image-size 64", code, flags=re.MULTILINE
    )


def _shell_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "1")
    env.pop("MPLBACKEND", None)
    return env


def test_guide_has_every_kind_of_block() -> None:
    blocks = guide_blocks(GUIDE.read_text())
    languages = [lang for lang, _ in blocks]
    assert set(languages) <= {"python", "bash", "text"}, languages
    bash = [code for lang, code in blocks if lang == "bash"]
    assert any(code.startswith("interpret report ") for code in bash)
    assert any(code.startswith("torchrun ") for code in bash)
    scripts = [code for lang, code in blocks if lang == "python" and SCRIPT.match(code)]
    assert len(scripts) == 1 and "init_process_group" in scripts[0]
    for lang, code in blocks:
        if lang == "python":
            compile(code, str(GUIDE), "exec")
    # The report section names what the analyzers use: the user's classes, not ImageNet's.
    assert "--data photos/" in GUIDE.read_text()


def test_block_parser_sees_every_fence() -> None:
    text = "x\n```python\na = 1\n```\ny\n```bash\necho hi\n```\n"
    assert guide_blocks(text) == [("python", "a = 1\n"), ("bash", "echo hi\n")]
    assert small("interpret report out/ --data x/\ntorchrun a.py\n") == (
        "interpret report out/ --data x/ --image-size 64\ntorchrun a.py\n"
    )
    assert len(guide_blocks(GUIDE.read_text())) == GUIDE.read_text().count("\n```") // 2


@pytest.mark.slow
def test_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt
    import torch

    _photos(tmp_path / "photos")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__guide__"}
    env = _shell_env()
    for number, (lang, code) in enumerate(guide_blocks(GUIDE.read_text())):
        where = f"block {number}: {code.splitlines()[0]}"
        if lang == "bash":
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", small(code)],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert run.returncode == 0, f"{where}\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
        elif lang == "python" and (script := SCRIPT.match(code)):
            (tmp_path / script.group(1)).write_text(code)
        elif lang == "python":
            with torch.random.fork_rng():
                torch.manual_seed(0)
                exec(compile(code, f"{GUIDE.name} {where}", "exec"), namespace)
    plt.close("all")
    # What the blocks say they write is there.
    report = tmp_path / "pets-report"
    assert (report / "index.html").is_file() and list((report / "figures").glob("*.png"))
    html = (report / "index.html").read_text()
    assert "cat" in html and "dog" in html
    assert (tmp_path / "pets-occlusion" / "index.html").is_file()
    for name in ("top9-layer3.png", "selectivity.png", "occlusion.png", "layer3-units.png"):
        assert (tmp_path / name).stat().st_size > 5_000, name
    assert (tmp_path / "top-sharded.pt").is_file() and not list(tmp_path.glob("scan.ckpt*"))
    assert namespace["classes"] == ("cat", "dog") or list(namespace["classes"]) == ["cat", "dog"]
