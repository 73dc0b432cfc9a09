"""glyphlab: measure how well people read data drawn as faces.

This small package is the composition root: the version, the one project exception
type and the command line. The real work lives in the three libraries ``stimuli``,
``experiment`` and ``analysis`` (see DESIGN.md).
"""

__version__ = "0.1.0"
