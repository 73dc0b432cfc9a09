"""The studio's pages: data in, mapping with a live preview, views, downloads, saving.

Every route needs a logged-in researcher (the dashboard's login) and sees only the
researcher's own datasets. The mapping travels as query parameters (``mapping.to_query``)
so the preview, the views and the downloads are plain GETs that the browser and the
draft cache can reuse; saving is a POST that queues the stimulus-set job. The preview
(8 rows) is drawn in the request; every row of a neural-face mapping is drawn by a
``studio_faces`` job, which the views page starts and follows. A bad upload
or mapping answers 400 with its one message, and nothing is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from experiment import site
from experiment.db import get_session
from experiment.jobs import submit
from experiment.models import Job, JobStatus
from experiment.studio import axes, build, render
from experiment.studio import data as studio_data
from experiment.studio.mapping import PROJECT, column_outcomes, parse_mapping, to_query
from experiment.studio.synthetic import SyntheticParams, synthetic_csv
from glyphlab.errors import GlyphlabError

bp = Blueprint("studio", __name__, url_prefix="/studio")
RENDERER_KEY = "glyphlab.studio.renderer"
MAX_TABLE_ROWS = 100


@bp.before_request
@login_required
def _require_login() -> None:
    """Every studio route needs a researcher."""


def _renderer() -> render.DraftRenderer:
    return current_app.extensions[RENDERER_KEY]


def _data(key: str) -> studio_data.StudioData:
    try:
        return studio_data.load(site().config.data_dir, current_user.id, key)
    except studio_data.StudioError:
        abort(404)


def _index(error: str | None = None, status: int = 200):
    data_dir = site().config.data_dir
    return render_template(
        "studio/index.html",
        datasets=studio_data.researcher_datasets(data_dir, current_user.id),
        synthetic=request.form if error else {},
        error=error,
        max_rows=studio_data.MAX_ROWS,
        max_columns=studio_data.MAX_COLUMNS,
        max_kib=site().config.max_body_bytes // 1024,
    ), status


@bp.get("/")
def index():
    return _index()


def _stored(raw: bytes, name: str, source: str) -> Response:
    stored = studio_data.store_csv(
        site().config.data_dir, current_user.id, raw, name=name, source=source
    )
    return redirect(url_for("studio.dataset", key=stored.key))


@bp.post("/upload")
def upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _index("choose a CSV file to upload", 400)
    try:
        return _stored(upload.read(), upload.filename, "upload")
    except GlyphlabError as error:
        return _index(f"{upload.filename}: {error}", 400)


def _synthetic_params(form) -> SyntheticParams:
    def number(name: str, kind=int, default=None):
        text = (form.get(name) or "").strip()
        if not text:
            return default
        try:
            return kind(text)
        except ValueError:
            message = f"{name.replace('_', ' ')}: {text!r} is not a number"
            raise studio_data.StudioError(message) from None

    share = number("outlier_share", float)
    return SyntheticParams(
        rows=number("rows", default=24),
        features=number("features", default=3),
        informative=number("informative", default=2),
        noise=number("noise", float, 1.0),
        seed=number("seed", default=1),
        outliers=None if share is not None else number("outliers", default=0),
        outlier_share=share,
        kind=form.get("kind") or "vertical",
        size_sd=number("size_sd", float, 4.0),
    )


@bp.post("/synthetic")
def synthetic():
    try:
        params = _synthetic_params(request.form)
        name = f"synthetic {params.rows}x{params.features} seed {params.seed}"
        return _stored(synthetic_csv(params), name, "synthetic")
    except GlyphlabError as error:
        return _index(f"synthetic data: {error}", 400)


def _mapping(data: studio_data.StudioData, values):
    mapping = parse_mapping(values, data, site().config.data_dir)
    return mapping, build.stimulus_set_config(mapping, data, site().config.data_dir)


@bp.get("/d/<key>")
def dataset(key: str):
    data = _data(key)
    frame = data.frame()
    mapping = error = None
    if any(name.startswith("axis_") for name in request.args):
        try:
            mapping, _ = _mapping(data, request.args)
        except GlyphlabError as problem:
            error = str(problem)
    data_dir = site().config.data_dir
    choices = axes.encodings()
    chosen = request.args.get("encoding") or choices[0].name
    current = next((c for c in choices if c.name == chosen), choices[0])
    generator = request.args.get("generator") or (current.generators or (None,))[0]
    return render_template(
        "studio/data.html",
        data=data,
        rows=frame.head(MAX_TABLE_ROWS).to_dict("records"),
        n_rows=len(frame),
        outliers=set(data.outliers()),
        summary=studio_data.summary(data),
        choices=choices,
        current=current,
        generator=generator,
        axis_names=axes.available(current.name, generator, data_dir),
        project=PROJECT,
        values=request.args,
        mapping=mapping,
        outcomes=column_outcomes(mapping) if mapping else {},
        query=to_query(mapping, data) if mapping else {},
        error=error,
    ), 400 if error else 200


def _image_route(key: str):
    """(data, mapping, config, images) for an image route, or a 400 with the reason."""
    data = _data(key)
    try:
        mapping, config = _mapping(data, request.args)
    except GlyphlabError as error:
        abort(Response(str(error), status=400, mimetype="text/plain"))
    return data, mapping, config


def _order(data: studio_data.StudioData, n: int) -> list[int]:
    column = request.args.get("sort") or ""
    if column and column not in data.numeric:
        abort(Response(f"cannot sort by {column!r}: no such numeric column", 400))
    values = data.frame()[column].to_numpy() if column else None
    return render.display_rows(values, n, descending=request.args.get("desc") == "1")


def _play_ms(default: int) -> int:
    try:
        value = int(request.args.get("play_ms") or default)
    except ValueError:
        value = default
    return min(max(value, 50), 10_000)


def _file(body: bytes, mimetype: str, download: str | None = None) -> Response:
    headers = {"Cache-Control": "private, max-age=600"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return Response(body, mimetype=mimetype, headers=headers)


@bp.get("/d/<key>/preview.png")
def preview(key: str) -> Response:
    _, _, config = _image_route(key)
    images = _renderer().images(config, limit=render.PREVIEW_ROWS)
    return _file(render.grid_png(images, range(len(images))), "image/png")


def _all_images(config) -> list | None:
    """Every row's images: drawn here for feature encodings, by the ``studio_faces``
    job for neural faces (None until it has finished)."""
    if not render.drawn_in_worker(config):
        return _renderer().images(config)
    return _renderer().stored(site().config.data_dir, config)


def _faces_job(config, *, retry: bool):
    """The job drawing ``config``'s faces: a queued or running one, the last one if it
    failed (its reason is shown; ``retry`` starts a new one), else a new one."""
    session, key = get_session(), render.faces_key(config)
    recent = session.scalars(
        sa.select(Job)
        .where(Job.kind == "studio_faces", Job.researcher_id == current_user.id)
        .order_by(Job.id.desc())
        .limit(50)
    )
    last = next((job for job in recent if job.params.get("dedupe_key") == key), None)
    if last is not None and last.status is JobStatus.failed and not retry:
        return last
    return submit(
        session,
        site().jobs,
        kind="studio_faces",
        params={"config": config.to_dict()},
        researcher_id=current_user.id,
        dedupe_key=key,
    )


@bp.get("/d/<key>/views")
def views(key: str):
    data, mapping, config = _image_route(key)
    job = None
    if _all_images(config) is None:
        job = _faces_job(config, retry=request.args.get("retry") == "1")
    if request.args.get("retry"):  # the page reloads itself: it must not retry again
        again = {k: v for k, v in request.args.items() if k != "retry"}
        return redirect(url_for("studio.views", key=key, **again))
    return render_template(
        "studio/views.html",
        job=job,
        data=data,
        mapping=mapping,
        outcomes=column_outcomes(mapping),
        query=to_query(mapping, data),
        sort=request.args.get("sort") or "",
        desc=request.args.get("desc") == "1",
        play_ms=_play_ms(mapping.frame_ms),
        set_id=config.set_id,
    )


@bp.get("/d/<key>/<any(grid, sequence, images):view>.<any(png, webp, mp4, zip):ext>")
def view_file(key: str, view: str, ext: str) -> Response:
    data, mapping, config = _image_route(key)
    images = _all_images(config)
    if images is None:
        message = "the faces are still being drawn; open the views page to follow the job"
        return Response(message, status=409, mimetype="text/plain")
    order = _order(data, len(images))
    stem = f"glyphlab-{data.key[:8]}-{mapping.encoding}-{request.args.get('sort') or 'rows'}"
    if (view, ext) == ("grid", "png"):
        return _file(render.grid_png(images, order), "image/png")
    if (view, ext) == ("sequence", "webp"):
        body = render.sequence_webp(images, order, _play_ms(mapping.frame_ms))
        return _file(body, "image/webp", f"{stem}.webp" if request.args.get("dl") else None)
    if (view, ext) == ("sequence", "mp4"):
        body = render.sequence_mp4(images, order, _play_ms(mapping.frame_ms))
        return _file(body, "video/mp4", f"{stem}.mp4")
    if (view, ext) == ("images", "zip"):
        readme = "\n".join(f"{c}: {o}" for c, o in column_outcomes(mapping).items())
        return _file(
            render.images_zip(images, order, readme + "\n"), "application/zip", f"{stem}.zip"
        )
    abort(404)


@bp.get("/d/<key>/config.toml")
def config_toml(key: str) -> Response:
    _, _, config = _image_route(key)
    return _file(build.toml_text(config).encode(), "application/toml", f"{config.set_id}.toml")


@bp.post("/d/<key>/save")
def save(key: str) -> Response:
    data = _data(key)
    try:
        _, config = _mapping(data, request.form)
    except GlyphlabError as error:
        return Response(str(error), status=400, mimetype="text/plain")
    job = submit(
        get_session(),
        site().jobs,
        kind="stimulus_set",
        params={"config": config.to_dict(), "toml": build.toml_text(config)},
        researcher_id=current_user.id,
        dedupe_key=config.set_id,
    )
    return redirect(url_for("jobs.job", job_id=job.id))


def init_app(app: Flask) -> None:
    from experiment.studio import hand_axes_views  # noqa: F401  (its routes join ``bp``)

    app.extensions[RENDERER_KEY] = render.DraftRenderer()
    app.register_blueprint(bp)
