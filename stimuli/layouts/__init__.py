"""Layouts: how a stimulus's items are shown (a grid at once, or a sequence of frames)."""

LAYOUTS = ("grid", "sequence")
