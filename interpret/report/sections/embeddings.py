"""Embeddings of images and local patches (t-SNE maps) and nearest neighbours."""

from __future__ import annotations

from typing import Any

from interpret.embeddings import (
    Embedding,
    ImageEmbeddings,
    NeighborIndex,
    PatchEmbeddings,
    pca,
    tsne,
)
from interpret.report.sections import register
from interpret.report.sections._common import display_inverse
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params


def _layout(vectors: Any, params: dict[str, Any], seed: int) -> Embedding:
    """t-SNE of ``vectors`` (perplexity lowered for small sets), PCA below 8 points."""
    n = len(vectors)
    if n < 8:
        fit = pca(vectors, 2, seed=seed)
        return Embedding(fit.transform(vectors).float(), None, "PCA", {}, 0.0)
    perplexity = min(params["perplexity"], 0.99 * (n - 1) / 3)
    return tsne(vectors, perplexity=perplexity, seed=seed, n_iter=params["tsne_iter"])


@register
class EmbeddingsSection(Section):
    name = "embeddings"
    title = "Embeddings: image map, patch map and neighbours"
    paper = (
        "van der Maaten & Hinton (2008), t-SNE; the image and patch maps of Karpathy's "
        "CNN codes and of Zeiler & Fergus's patch analysis"
    )
    description = (
        "How the network organises what it sees: every image as one vector of a deep site "
        "and local activation vectors (patches) of a middle site, each laid out in two "
        "dimensions with t-SNE and drawn at their positions, and the images nearest to a "
        "query in feature space."
    )
    defaults: dict[str, Any] = {
        "image_site": None,
        "patch_site": None,
        "max_patches": 1500,
        "per_image": 40,
        "perplexity": 30.0,
        "query": None,
        "neighbours": 6,
        "tsne_iter": 500,
        "max_images": 1000,
    }
    version = 2

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        if params["image_site"] is None:
            params["image_site"] = ctx.pick_sites("main", (1.0,))[0]
        if params["patch_site"] is None:
            params["patch_site"] = ctx.pick_sites("main", (0.5,))[0]
        names = ctx.source("main").data.item_names
        if params["query"] is None:
            params["query"] = "chelsea" if "chelsea" in names else names[0]
        elif params["query"] not in names:
            raise ValueError(f"embeddings query {params['query']!r} is not an image of the data.")
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        src = ctx.source("main")
        size = tuple(src.data.dataset[0][0].shape[-2:])
        return {
            "main": [
                ImageEmbeddings(
                    params["image_site"],
                    max_images=params["max_images"],
                    thumbnail_size=48,
                    seed=ctx.config.seed,
                ),
                PatchEmbeddings(
                    params["patch_site"],
                    max_patches=params["max_patches"],
                    per_image=params["per_image"],
                    sampling="stratified",
                    model=src.model.model,
                    input_size=size,
                    thumbnail_size=32,
                    seed=ctx.config.seed,
                ),
            ]
        }

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        images, patches = streamed["main"]
        with ctx.stage("t-SNE"):
            image_map = _layout(images.vectors, params, ctx.config.seed)
            patch_map = _layout(patches.vectors, params, ctx.config.seed)
        n = len(images.image_index)
        names = list(ctx.source("main").data.item_names)
        kept = images.image_index.tolist()
        wanted = names.index(params["query"])
        row = kept.index(wanted) if wanted in kept else 0  # a sampled-out query: the first kept
        k = min(params["neighbours"], n)
        neighbours = NeighborIndex(images).query([row], k=k)
        return Bundle(
            {
                "images": images,
                "patches": patches,
                "image_map": image_map,
                "patch_map": patch_map,
                "neighbours": neighbours,
            },
            {"query": names[kept[row]]},
        )

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        from interpret.embeddings.plot import plot_neighbors, plot_scatter, plot_thumbnail_map

        inverse = display_inverse(ctx.source("main").model.preprocess)
        p = result.parts
        cells = max(6, min(16, round(len(p["images"].image_index) ** 0.5 * 1.5)))
        figures = []
        classes = ctx.data_classes("main")
        if p["images"].labels is not None and classes:
            figures.append(
                Figure(
                    "Images by class",
                    plot_scatter(p["image_map"], p["images"].labels, class_names=list(classes)),
                    f"Every image as its pooled {p['images'].site} vector, laid out by "
                    "t-SNE and coloured by its class in the data: classes the site separates "
                    "form their own clusters.",
                )
            )
        return figures + [
            Figure(
                "Image map",
                plot_thumbnail_map(p["image_map"], p["images"], cells=cells, inverse=inverse),
                f"Every image as its pooled {p['images'].site} vector, laid out by t-SNE; "
                "each cell shows the image nearest its centre.",
            ),
            Figure(
                "Patch map",
                plot_thumbnail_map(p["patch_map"], p["patches"], cells=20, inverse=inverse),
                f"{len(p['patches'].image_index)} local activation vectors of "
                f"{p['patches'].site} (sampled at random), laid out by t-SNE; each shows "
                "the receptive field it sees.",
            ),
            Figure(
                "Nearest images",
                plot_neighbors(
                    p["neighbours"], p["images"], inverse=inverse, columns=p["neighbours"].k
                ),
                f"The images nearest to {result.info['query']} in {p['images'].site} space "
                "(euclidean); the query itself comes first at distance 0.",
            ),
        ]

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        names = ctx.source("main").data.item_names
        nb, images = result.parts["neighbours"], result.parts["images"]
        classes = ctx.data_classes("main")
        labels = images.labels
        rows = []
        for rank, (row, dist) in enumerate(zip(nb.indices[0].tolist(), nb.distances[0].tolist())):
            label = int(labels[row]) if labels is not None else -1
            name = classes[label] if 0 <= label < len(classes) else "-"
            rows.append([rank, names[int(images.image_index[row])], name, dist])
        query = result.info["query"]
        return [Table(f"Neighbours of {query}", ["rank", "image", "class", "distance"], rows)]
