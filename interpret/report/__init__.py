"""Reports: every analyzer on one model and dataset, as HTML, Markdown and saved results.

``interpret report OUT`` (see :mod:`interpret.report.cli`) or :func:`run_report` in
Python. Each analyzer is a *section* (:mod:`interpret.report.sections`): streaming
analyzers of all sections share one :func:`interpret.scan` per model and dataset; results
are saved under ``OUT/results/`` and reused when the inputs have not changed; the report
is built beside ``OUT`` and moved into place only when complete.
"""

from interpret.data.resolve import resolve_data
from interpret.models.resolve import LoadedModel, resolve_model
from interpret.report.config import ReportConfig, load_config_file
from interpret.report.context import ReportContext, Source
from interpret.report.pipeline import ReportRun, SectionRecord, run_report, versions
from interpret.report.sections import Figure, Section, Table, available, register

__all__ = [
    "Figure",
    "LoadedModel",
    "ReportConfig",
    "ReportContext",
    "ReportRun",
    "Section",
    "SectionRecord",
    "Source",
    "Table",
    "available",
    "load_config_file",
    "register",
    "resolve_data",
    "resolve_model",
    "run_report",
    "versions",
]
