"""The one exception type for errors a user can cause.

Every package raises a subclass of :class:`GlyphlabError` for bad input (a bad CSV, a
bad config, missing weights, a malformed request). The CLI prints the message without a
traceback and the site answers 4xx with it, so the message must say what to do.
This module imports nothing so that every package may depend on it.
"""


class GlyphlabError(Exception):
    """A problem the user can fix; ``str(error)`` tells them how."""
