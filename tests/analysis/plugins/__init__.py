"""Statistics that only the tests register: proof that a plugin needs no change elsewhere."""
