"""Anonymised Psych-DS export of a trial table (see :mod:`analysis.export.psychds`)."""

from analysis.export.anonymise import AnonymityError
from analysis.export.check import check_psychds
from analysis.export.psychds import ExportConfig, export_psychds

__all__ = ["AnonymityError", "ExportConfig", "check_psychds", "export_psychds"]
