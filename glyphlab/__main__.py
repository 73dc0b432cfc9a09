"""Allow ``python -m glyphlab``."""

from glyphlab.cli import main

main()
