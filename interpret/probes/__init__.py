"""Layer-wise linear probes (Zeiler & Fergus 2013, Sec. 5.2, Table 7).

Features of several sites of a frozen model are collected in one :func:`interpret.scan`
(:class:`FeatureCollector`, pooled as chosen), a linear classifier is cross-validated
per site (:func:`fit_probes`), and the accuracies show how discriminative each layer is.
:func:`layer_probes` does both; :func:`plot_probes` draws the bars,
:meth:`ProbeResult.markdown` the table.
"""

from interpret.probes.features import POOLS, FeatureCollector, ProbeFeatures, pool_features
from interpret.probes.fit import CLASSIFIERS, ProbeResult, fit_probes, layer_probes, make_probe
from interpret.probes.plot import plot_probes

__all__ = [
    "CLASSIFIERS",
    "POOLS",
    "FeatureCollector",
    "ProbeFeatures",
    "ProbeResult",
    "fit_probes",
    "layer_probes",
    "make_probe",
    "plot_probes",
    "pool_features",
]
