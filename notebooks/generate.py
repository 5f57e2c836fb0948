"""Write the tutorial notebooks (without outputs) from the cells below.

Run ``python notebooks/generate.py`` after editing; the tests execute every notebook.
Notebooks only call the library: no analysis logic is defined here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

SETUP = """\
import torch

import interpret"""

OWN_MODEL_MD = (
    "md",
    """\
## On your own model

The same calls take your network and your labelled images. Here a randomly initialised
torchvision ResNet-18 stands in for your model and the sample photos for your data;
replace the two lines marked `yours` (comments show the usual forms).""",
)

YOURS = """\
from interpret.data import IMAGENET, ImageFolderDataset, SamplePhotos
from interpret.models import load_model

# yours: load_model("resnet50"), load_model("timm:convnext_tiny"),
#        load_model("my_package.nets:MyNet", checkpoint="weights.pt")
my_model = load_model("resnet18", pretrained=False)
# yours: ImageFolderDataset("my_images/", IMAGENET)  (one folder per class)
my_data = SamplePhotos(IMAGENET)
"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "00_quickstart": [
        (
            "md",
            """\
# Quickstart

`interpret` shows what a convolutional network learned. This notebook loads the bundled
EfficientNet-Lite0 (real ImageNet weights, no download), names its sites, runs one
`scan` over the sample photos and writes a small report.""",
        ),
        (
            "code",
            SETUP
            + """
from interpret.data import EFFICIENTNET_LITE0, SamplePhotos, imagenet_labels
from interpret.models import efficientnet_lite0

model = efficientnet_lite0()
photos = SamplePhotos(EFFICIENTNET_LITE0, names=["chelsea", "coffee", "rocket", "astronaut"])
with torch.no_grad():
    logits = model(photos.stack())
[(name, imagenet_labels()[int(i)]) for name, i in zip(photos.names, logits.argmax(1))]""",
        ),
        ("md", "Sites are qualified module names, as `model.named_modules()` spells them."),
        ("code", "interpret.list_sites(model)[:12]"),
        (
            "md",
            """\
One `scan` feeds every analyzer from one set of hooks. `ActivationStats` is the simplest
analyzer: per-channel statistics of each site.""",
        ),
        (
            "code",
            """\
from interpret.core import ActivationStats
from interpret.deconvnet import TopActivations

stats, top = interpret.scan(
    model, photos, [ActivationStats(["blocks.3", "blocks.5"]), TopActivations("blocks.5", k=3)]
)
site = stats.sites["blocks.5"]
print(site.shape, "mean of channel means:", float(site.mean.mean()))
print("strongest image per channel (first 8):", [photos.names[i] for i in top.image_index[:8, 0]])""",
        ),
        (
            "md",
            "A result at the end of a cell shows as a card: its fields with shapes and ranges.",
        ),
        ("code", "top"),
        (
            "md",
            """\
Results are frozen dataclasses of tensors with `save`/`load`. The same analyzers, all of
them, run from the command line: `interpret report OUT`. Here, from Python, only the
capture summary on four photos:""",
        ),
        (
            "code",
            """\
import tempfile
from pathlib import Path

from interpret.report import ReportConfig, run_report

out = Path(tempfile.mkdtemp()) / "report"
run = run_report(ReportConfig(out=out, analyzers=["summary"], extras=(), progress=False))
sorted(p.name for p in run.out.iterdir())""",
        ),
        (
            "code",
            """\
from IPython.display import Markdown

Markdown(run.markdown.read_text().split("## Capture summary")[1][:1200])""",
        ),
        OWN_MODEL_MD,
        (
            "code",
            YOURS
            + """
print(interpret.list_sites(my_model)[:8])
(my_stats,) = interpret.scan(my_model, my_data, [ActivationStats(["layer2", "layer4"])])
my_stats""",
        ),
    ],
    "01_deconvnet": [
        (
            "md",
            """\
# Deconvnet (Zeiler & Fergus 2013)

The strongest activations of a channel over a dataset, projected back to pixel space.
`TopActivations` finds them during a `scan`; `project_top` projects them. On
EfficientNet-Lite0 the projection takes the *gradient route* (autograd with rectified
backward signals, any architecture).""",
        ),
        (
            "code",
            SETUP
            + """
from interpret.data import EFFICIENTNET_LITE0, SamplePhotos
from interpret.deconvnet import TopActivations, project_top
from interpret.deconvnet.plot import plot_top
from interpret.models import efficientnet_lite0

model = efficientnet_lite0()
photos = SamplePhotos(EFFICIENTNET_LITE0)
(top,) = interpret.scan(model, photos, [TopActivations("blocks.2", k=4)], progress=False)
result = project_top(model, photos, top, channels=[3, 7], route="gradient")
plot_top(result, inverse=lambda x: EFFICIENTNET_LITE0.inverse(x, clamp=True))""",
        ),
        (
            "md",
            """\
The paper's own deconvnet walks a chain network backwards with the *switches* of its
max-pooling layers. A small ZFNet trained for one epoch on the bundled digits:""",
        ),
        (
            "code",
            """\
from interpret.data import Digits
from interpret.models import train_zfnet, zfnet_digits

net = zfnet_digits()
train_zfnet(net, Digits(split="train"), epochs=1, lr=0.02)
test = Digits(split="test")
(top,) = interpret.scan(net, test, [TopActivations("features.5", k=4)], progress=False)
result = project_top(net, test, top, channels=[0, 1], route="reverse")
plot_top(result, inverse=lambda x: test.preprocess.inverse(x, clamp=True))""",
        ),
        OWN_MODEL_MD,
        (
            "code",
            YOURS
            + """
(my_top,) = interpret.scan(my_model, my_data, [TopActivations("layer2", k=4)])
my_result = project_top(my_model, my_data, my_top, channels=[0, 1], route="gradient")
plot_top(my_result, inverse=lambda x: IMAGENET.inverse(x, clamp=True))""",
        ),
    ],
    "02_occlusion": [
        (
            "md",
            """\
# Occlusion sensitivity (Zeiler & Fergus 2013, Fig. 7)

A grey square slides over the image; at each position the network runs again. The maps
show (b) the total activation of the strongest feature map of the last block, (d) the
probability of the correct class and (e) the most probable class.""",
        ),
        (
            "code",
            SETUP
            + """
from interpret.data import EFFICIENTNET_LITE0, SamplePhotos, imagenet_index, imagenet_labels
from interpret.models import efficientnet_lite0
from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.occlusion.plot import plot_sensitivity

model = efficientnet_lite0()
images = SamplePhotos(EFFICIENTNET_LITE0, names=["chelsea"]).stack()
result = occlusion_sensitivity(model, images, Occluder(48, 16), target=imagenet_index("tabby"))
plot_sensitivity(result, images, labels=imagenet_labels(),
                 to_display=lambda x: EFFICIENTNET_LITE0.inverse(x, clamp=True))""",
        ),
        (
            "md",
            """\
`to_pixels()` turns the grid into a per-pixel map with Captum's `Occlusion` averaging
(positive where covering a pixel lowers the probability):""",
        ),
        (
            "code",
            """\
import matplotlib.pyplot as plt

pixels = result.to_pixels("target_prob")
plt.imshow(pixels[0], cmap="magma")
plt.colorbar(label="drop in p(tabby)")
plt.show()""",
        ),
        OWN_MODEL_MD,
        (
            "code",
            YOURS
            + """
my_images = my_data.stack()[:1]
my_result = occlusion_sensitivity(my_model, my_images, Occluder(64, 32), target=0)
plot_sensitivity(my_result, my_images, to_display=lambda x: IMAGENET.inverse(x, clamp=True))""",
        ),
    ],
    "03_activation_maximization": [
        (
            "md",
            """\
# Activation maximization

Images optimised from noise to raise a class logit or a channel (Simonyan 2014,
Yosinski 2015; the `lucid` preset follows Olah 2017: Fourier parameterisation,
decorrelated colour, random jitter, scale and rotation). Few steps here, for speed.""",
        ),
        (
            "code",
            SETUP
            + """
from interpret.data import EFFICIENTNET_LITE0, imagenet_index
from interpret.models import efficientnet_lite0
from interpret.neurons import channel, class_logit, maximize, plot_maximize_grid, preset

model = efficientnet_lite0()
config = preset("lucid", size=96, steps=24)
classes = [imagenet_index("flamingo"), imagenet_index("goldfish")]
result = maximize(model, class_logit(classes), normalize=EFFICIENTNET_LITE0, config=config)
plot_maximize_grid(result, titles=["flamingo", "goldfish"], panel_size=2.5)""",
        ),
        (
            "code",
            """\
channels = maximize(model, channel("blocks.4", [0, 1]), normalize=EFFICIENTNET_LITE0,
                    config=config)
channels.plot(panel_size=2.5)  # a result's main figure""",
        ),
        OWN_MODEL_MD,
        (
            "code",
            YOURS
            + """
my_result = maximize(my_model, channel("layer2", [0, 1]), normalize=IMAGENET,
                     config=preset("lucid", size=64, steps=12))
my_result.plot(panel_size=2.0)""",
        ),
    ],
    "04_selectivity": [
        (
            "md",
            """\
# Neuron selectivity (DeepID2+, Sun, Wang & Tang 2015)

How single neurons respond across classes. Faces versus non-faces from the LFW subset
bundled with scikit-image, through the last feature layer of EfficientNet-Lite0.""",
        ),
        (
            "code",
            SETUP
            + """
from interpret.data import FacesVsNonFaces, Preprocess
from interpret.models import efficientnet_lite0
from interpret.neurons import Selectivity
from interpret.neurons.selectivity.plot import plot_class_means, plot_neuron_histograms

model = efficientnet_lite0()
faces = FacesVsNonFaces(Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=96))
(result,) = interpret.scan(model, faces, [Selectivity("bn2", classes=["non-face", "face"])])
plot_class_means(result, "face")""",
        ),
        (
            "code",
            """\
best, accuracy = result.per_class.best("face", n=4)
print("best single-neuron balanced accuracy:", [round(float(a), 3) for a in accuracy])
plot_neuron_histograms(result, best.tolist(), "face")""",
        ),
        ("md", "The result itself, at the end of a cell: its summary and its main figure."),
        ("code", "result"),
        OWN_MODEL_MD,
        (
            "code",
            YOURS.replace(
                "my_data = SamplePhotos(IMAGENET)",
                "my_data = FacesVsNonFaces(Preprocess(IMAGENET.mean, IMAGENET.std, size=96))",
            )
            + """
(my_result,) = interpret.scan(my_model, my_data,
                              [Selectivity("avgpool", classes=["non-face", "face"])])
plot_class_means(my_result, "face")""",
        ),
    ],
    "05_embeddings": [
        (
            "md",
            """\
# Embeddings

Local activation vectors (patches) of a middle site and whole-image vectors of a deep
site, collected in one scan, laid out with t-SNE, and searched for neighbours.""",
        ),
        (
            "code",
            SETUP
            + """
from interpret.data import EFFICIENTNET_LITE0, SamplePhotos
from interpret.embeddings import ImageEmbeddings, NeighborIndex, PatchEmbeddings, tsne
from interpret.embeddings.plot import plot_neighbors, plot_thumbnail_map
from interpret.models import efficientnet_lite0

model = efficientnet_lite0()
photos = SamplePhotos(EFFICIENTNET_LITE0)
images, patches = interpret.scan(
    model, photos,
    [ImageEmbeddings("bn2", thumbnail_size=48),
     PatchEmbeddings("blocks.3", max_patches=600, model=model, input_size=(224, 224))],
    progress=False,
)
inverse = lambda x: EFFICIENTNET_LITE0.inverse(x.float(), clamp=True)  # noqa: E731
patch_map = tsne(patches.vectors, perplexity=30)
plot_thumbnail_map(patch_map, patches, cells=16, inverse=inverse)""",
        ),
        (
            "code",
            """\
neighbours = NeighborIndex(images).query([photos.names.index("chelsea")], k=5)
plot_neighbors(neighbours, images, inverse=inverse, columns=5)""",
        ),
        OWN_MODEL_MD,
        (
            "code",
            YOURS
            + """
(my_images,) = interpret.scan(my_model, my_data, [ImageEmbeddings("avgpool", thumbnail_size=48)])
my_neighbours = NeighborIndex(my_images).query([0], k=4)
my_inverse = lambda x: IMAGENET.inverse(x.float(), clamp=True)  # noqa: E731
plot_neighbors(my_neighbours, my_images, inverse=my_inverse, columns=4)""",
        ),
    ],
    "06_invariance_probes_filters": [
        (
            "md",
            """\
# Invariance, probes and filter health (Zeiler & Fergus 2013, Fig. 5, Table 7, Fig. 6)""",
        ),
        (
            "code",
            SETUP
            + """
from interpret.data import EFFICIENTNET_LITE0, SamplePhotos
from interpret.invariance import invariance_curves, plot_invariance, rotation, vertical_translation
from interpret.models import efficientnet_lite0

model = efficientnet_lite0()
photos = SamplePhotos(EFFICIENTNET_LITE0, names=["chelsea", "coffee"])
curves = invariance_curves(model, photos.stack(),
                           [vertical_translation([-40, -20, 0, 20, 40]), rotation([0, 90, 180])],
                           ["blocks.1", "bn2"], normalize="reference", image_names=photos.names)
plot_invariance(curves, to_image=lambda x: EFFICIENTNET_LITE0.inverse(x, clamp=True))""",
        ),
        ("md", "Linear probes of each layer of a ZFNet trained briefly on the bundled digits:"),
        (
            "code",
            """\
from interpret.data import Digits
from interpret.models import train_zfnet, zfnet_digits
from interpret.probes import layer_probes, plot_probes

net = zfnet_digits()
train_zfnet(net, Digits(split="train"), epochs=1, lr=0.02)
probes = layer_probes(net, Digits(split="test"), ["features.1", "features.5", "features.13",
                                                 "classifier.5"], folds=3)
plot_probes(probes)""",
        ),
        (
            "md",
            """\
The first-layer filters of EfficientNet-Lite0: RMS, dead filters, aliasing. The result at
the end of the cell shows as a card with its filter grid.""",
        ),
        (
            "code",
            """\
from interpret.filters import filter_health, plot_aliasing

health = filter_health(model, "conv_stem", photos, activity_site="bn1")
health""",
        ),
        OWN_MODEL_MD,
        (
            "code",
            YOURS
            + """
my_health = filter_health(my_model, "conv1", my_data, activity_site="relu")
plot_aliasing(my_health)""",
        ),
    ],
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{i:02d}"
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
