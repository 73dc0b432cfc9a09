"""The studio: a researcher's own data turned into faces in the browser, then a set.

Data in (``data.py``: a CSV upload or ``synthetic.py``'s form), a mapping of columns to
named axes with per-column transforms or direct projection (``mapping.py``, axes read
from the registries by ``axes.py``), draft renders with a cache (``render.py``), the
mapping as the CLI's ``StimulusSetConfig`` and TOML (``build.py``), and directions made
by hand with the truth-table method (``hand_axes.py``). Pages are in ``blueprint.py``;
building a set or a direction is a background job (``experiment.jobs``).
"""
