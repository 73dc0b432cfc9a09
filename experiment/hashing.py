"""Keyed hashes: external ids and media tokens the site can recompute but nobody can guess.

Plain Python (no Flask), so services can use it: external participant ids, media
tokens, and the login throttle's and trusted browsers' keys.
"""

from __future__ import annotations

import hashlib
import hmac


def keyed_hash(secret_key: str, *parts: object) -> str:
    """HMAC-SHA256 of the parts (hex); used for external ids and media tokens."""
    message = "\x1f".join(str(part) for part in parts).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()
