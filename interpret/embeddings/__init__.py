"""Embeddings: local activation patches and whole images, PCA / t-SNE / UMAP, neighbours.

Collect vectors during :func:`interpret.scan` with :class:`PatchEmbeddings` (local
``k x k`` neighbourhoods of a conv site, each with its image, position and receptive-field
box) or :class:`ImageEmbeddings` (one vector per image), reduce them with :func:`pca`,
:func:`tsne` or :func:`umap`, search them with :func:`nearest`, and draw them with
``interpret.embeddings.plot``.
"""

from interpret.embeddings.embedding import Embedding
from interpret.embeddings.fields import FieldGrid, gradient_fields, site_fields
from interpret.embeddings.images import ImageEmbeddings, ImageEmbeddingsResult
from interpret.embeddings.neighbors import (
    NeighborIndex,
    Neighbors,
    knn_accuracy,
    knn_preservation,
    nearest,
)
from interpret.embeddings.patches import PatchEmbeddings, PatchEmbeddingsResult
from interpret.embeddings.pca import IncrementalPCA, PCAResult, pca
from interpret.embeddings.tsne import TSNE, tsne
from interpret.embeddings.umap_embedding import UMAP, umap, warm_up_umap

__all__ = [
    "TSNE",
    "UMAP",
    "Embedding",
    "FieldGrid",
    "ImageEmbeddings",
    "ImageEmbeddingsResult",
    "IncrementalPCA",
    "NeighborIndex",
    "Neighbors",
    "PCAResult",
    "PatchEmbeddings",
    "PatchEmbeddingsResult",
    "gradient_fields",
    "knn_accuracy",
    "knn_preservation",
    "nearest",
    "pca",
    "site_fields",
    "tsne",
    "umap",
    "warm_up_umap",
]
