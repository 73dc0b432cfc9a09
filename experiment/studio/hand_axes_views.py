"""The studio's "make an axis by hand" page: random faces to tick, then a job.

Routes are added to the studio blueprint (same login). The faces come from
``manual_axes.bank_faces`` (cached); ticking and naming posts a ``hand_axis`` job,
whose page shows the new axis's strip.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from experiment import site
from experiment.db import get_session
from experiment.jobs import submit
from experiment.studio import axes, manual_axes, render
from experiment.studio.blueprint import bp
from experiment.studio.data import StudioError
from glyphlab.errors import GlyphlabError

DEFAULT_FACES = 24
MAX_FACES = 60


def _bank_args(values) -> tuple[str, int, int]:
    backends = next(c for c in axes.encodings() if c.latent).generators
    backend = values.get("backend") or backends[0]
    if backend not in backends:
        abort(404)
    try:
        n = min(max(int(values.get("n") or DEFAULT_FACES), 4), MAX_FACES)
        seed = min(max(int(values.get("seed") or 0), 0), 2**31)
    except ValueError:
        abort(400)
    return backend, n, seed


@bp.get("/axes")
def hand_axis():
    backend, n, seed = _bank_args(request.args)
    backends = next(c for c in axes.encodings() if c.latent).generators
    return render_template(
        "studio/hand_axis.html",
        backend=backend,
        backends=backends,
        n=n,
        seed=seed,
        existing=axes.manual_axes(site().config.data_dir, backend),
        error=request.args.get("error"),
    )


@bp.get("/axes/face/<backend>/<int:seed>/<int:n>/<int:index>.png")
def bank_face(backend: str, seed: int, n: int, index: int) -> Response:
    backend, n, seed = _bank_args({"backend": backend, "n": n, "seed": seed})
    if not 0 <= index < n:
        abort(404)
    image = manual_axes.bank_faces(backend, n, seed)[index]
    return Response(
        render.png(image), mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


@bp.post("/axes")
def start_hand_axis() -> Response:
    backend, n, seed = _bank_args(request.form)
    ticked: list[int] = []
    try:
        ticked = sorted({int(i) for i in request.form.getlist("ticked") if 0 <= int(i) < n})
        name = manual_axes.check_name(request.form.get("name") or "", backend)
        manual_axes.labels_frame(name, n, set(ticked))  # the same check the job makes
    except (GlyphlabError, ValueError) as error:
        message = str(error) if isinstance(error, StudioError) else "ticks must be face numbers"
        return render_template(
            "studio/hand_axis.html",
            backend=backend,
            backends=next(c for c in axes.encodings() if c.latent).generators,
            n=n,
            seed=seed,
            existing=axes.manual_axes(site().config.data_dir, backend),
            error=message,
            ticked=set(ticked),
        ), 400
    job = submit(
        get_session(),
        site().jobs,
        kind="hand_axis",
        params={"backend": backend, "n": n, "seed": seed, "name": name, "ticked": ticked},
        researcher_id=current_user.id,
    )
    return redirect(url_for("jobs.job", job_id=job.id))
