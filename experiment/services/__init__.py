"""Service layer: functions that take a ``Session`` and plain values, never the request."""
