"""Job: draw every row of a studio mapping as draft faces, for its views and downloads.

``params``: ``{"config": StimulusSetConfig.to_dict()}`` (paths relative to the site's
data folder, as the studio writes them). The faces are drawn as the studio's preview
draws them (``render.DraftRenderer.render``: MobileStyleGAN drafts) and stored under
``<data dir>/studio/faces/<key>/`` in one rename, so the views page, which polls this
job, composes the grid, sequence, MP4, WebP and zip from files and never runs a
generator itself. A mapping already drawn is not drawn again.
"""

from __future__ import annotations

from typing import Any

from experiment.jobs.runner import JobContext


def run(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    from experiment.studio import render
    from stimuli import StimulusSetConfig

    data_dir = context.config.data_dir
    config = StimulusSetConfig.from_dict(params["config"], base_dir=data_dir)
    folder = render.faces_dir(data_dir, config)
    if (folder / "done").is_file():
        context.log("these faces were drawn before")
        return {"faces": folder.name}

    def on_progress(done: int, total: int) -> None:
        context.progress(0.95 * done / total, f"face {done} of {total}", force=done == total)

    context.progress(0.0, "loading the generator", force=True)
    images = render.DraftRenderer().render(config, None, on_progress=on_progress)
    render.store_faces(data_dir, config, images)
    context.log(f"{len(images)} faces drawn")
    return {"faces": folder.name}
