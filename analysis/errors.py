"""The analysis package's user-facing error.

Imports nothing but :mod:`glyphlab.errors`, so every analysis module (and ``import
analysis``) can use it without pulling in pandas or scipy.
"""

from glyphlab.errors import GlyphlabError


class AnalysisError(GlyphlabError):
    """Bad analysis input (trial table, model specification); the message says what to do."""
