"""The exception every user-fixable problem in ``stimuli`` raises.

A bad CSV, a bad config, an unknown encoding name or missing generator weights are the
user's to fix, so they raise :class:`StimulusError`; the CLI prints its message without a
traceback (see ``glyphlab.cli``). Bugs stay ordinary exceptions.
"""

from glyphlab.errors import GlyphlabError


class StimulusError(GlyphlabError):
    """A stimulus problem the user can fix; the message says what to do."""
