"""The analysis report: ``write_report(trials, out_dir, ReportConfig(...))``."""

from analysis.report.builder import ReportConfig, ReportResult, write_report

__all__ = ["ReportConfig", "ReportResult", "write_report"]
