"""Tiny deterministic models and a zoo of awkward ones, for tests (ours and yours)."""

from interpret.testing.zoo import (
    BranchNet,
    DictOutputNet,
    FunctionalReluNet,
    InplaceReluNet,
    ResidualNet,
    ReusedReluNet,
    TupleBlockNet,
    ZooEntry,
    awkward_zoo,
    chain_cnn,
    seeded,
)

__all__ = [
    "BranchNet",
    "DictOutputNet",
    "FunctionalReluNet",
    "InplaceReluNet",
    "ResidualNet",
    "ReusedReluNet",
    "TupleBlockNet",
    "ZooEntry",
    "awkward_zoo",
    "chain_cnn",
    "seeded",
]
