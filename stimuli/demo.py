"""``demo_config()``: a small set with every runnable encoding, grids and one sequence.

Small enough to generate in well under 30 s on 2 cores, so the site demo and the tests
can make a real set on the fly.
"""

from __future__ import annotations

from stimuli.config import StimulusSetConfig

#: Encodings in the order the demo shows them (only those registered and runnable).
PREFERRED = ("gan_face", "chernoff", "table", "plot")


def runnable_encodings() -> list[str]:
    """The encodings the demo uses: those registered whose dependencies are installed."""
    from stimuli.encodings import ENCODINGS

    return [n for n in PREFERRED if n in ENCODINGS and ENCODINGS[n].unavailable_reason() is None]


def demo_config(*, seed: int = 20261123) -> StimulusSetConfig:
    """6 main datasets with one outlier and 2 with none (yes/no and key-press studies
    need target-absent trials), 2 practice and 1 attention-check dataset of 12 items;
    each runnable encoding as a grid, plus Chernoff faces as a sequence for the main
    datasets."""
    names = runnable_encodings()
    conditions = [{"encoding": name, "layout": "grid"} for name in names]
    conditions.append({"encoding": "chernoff", "layout": "sequence", "roles": ["main"]})
    common = {"n_items": 12, "n_features": 4, "n_informative": 2, "noise": 1.0}
    return StimulusSetConfig.from_dict(
        {
            "name": "demo",
            "seed": seed,
            "order": "random",
            "frame_ms": 700,
            "datasets": [
                {"role": "main", "count": 6, "n_outliers": 1, "magnitude_sd": 4.0, **common},
                {"role": "main", "count": 2, "n_outliers": 0, **common},
                {"role": "practice", "count": 2, "n_outliers": 1, "magnitude_sd": 6.0, **common},
                {"role": "attention_check", **common},
            ],
            "conditions": conditions,
            # y (the last column) drives the smile, the most salient Chernoff feature.
            # The demo is a quick preview, so its neural faces come from the small DCGAN
            # (~0.01 s a face); study sets default to MobileStyleGAN (~0.25 s a face on
            # 2 cores), see stimuli/examples/neural_faces.toml.
            "encoding_params": {
                "gan_face": {"backend": "dcgan64"},
                "chernoff": {
                    "features": [
                        "eye_size",
                        "brow_slant",
                        "face_width",
                        "eye_spacing",
                        "mouth_curvature",
                    ]
                },
            },
        }
    )
