"""Data sources: synthetic regression data with planted outliers, and CSV files."""
