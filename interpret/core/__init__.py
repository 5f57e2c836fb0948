"""The capture core: sites, hooks, the one-pass scan, accumulators and results."""

from interpret.core.accumulators import Histogram, Reservoir, RunningMoments, TopK, uniform_keys
from interpret.core.analyzer import Analyzer, Batch, bind_sites
from interpret.core.batches import dataset_length, iterate_batches
from interpret.core.capture import (
    Captured,
    StopForward,
    capture,
    checked_forward,
    run_and_capture,
    select_output,
)
from interpret.core.checkpoint import ScanCheckpoint
from interpret.core.distributed import Shard, current_shard, gather_and_merge
from interpret.core.feature_sites import expand_sites, feature_sites
from interpret.core.results import Result, atomic_write, load_result
from interpret.core.scan import model_device, scan
from interpret.core.sites import Site, expand_keys, get_module, list_sites, resolve_sites
from interpret.core.state import HookSet, hook_count, preserved_state
from interpret.core.stats import ActivationStats, ActivationStatsResult, SiteStats

__all__ = [
    "ActivationStats",
    "ActivationStatsResult",
    "SiteStats",
    "Analyzer",
    "Batch",
    "Captured",
    "Histogram",
    "HookSet",
    "Reservoir",
    "Result",
    "ScanCheckpoint",
    "Shard",
    "RunningMoments",
    "Site",
    "StopForward",
    "TopK",
    "atomic_write",
    "bind_sites",
    "capture",
    "checked_forward",
    "current_shard",
    "dataset_length",
    "expand_keys",
    "expand_sites",
    "feature_sites",
    "gather_and_merge",
    "get_module",
    "hook_count",
    "iterate_batches",
    "list_sites",
    "load_result",
    "model_device",
    "preserved_state",
    "resolve_sites",
    "run_and_capture",
    "scan",
    "select_output",
    "uniform_keys",
]
