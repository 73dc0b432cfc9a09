"""The studio through the site: data in, mapping, preview, views, downloads, saving.

Chernoff faces keep these fast; the neural-face path (generator axes, direct
projection, hand-made axes) is in ``test_studio_faces.py`` and the browser test.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from PIL import Image

from stimuli.encodings.chernoff import FEATURES
from tests.experiment.test_auth import csrf_token, log_in

CSV = (
    "income,age,y,city\n1000,30,1.5,Köln\n2500,41,2.0,Bonn\n900,25,0.5,Köln\n"
    "40000,60,4.0,Ulm\n3000,35,2.5,Bonn\n1200,28,1.0,Ulm\n"
)


@pytest.fixture
def logged_in(client, researcher):
    assert log_in(client).status_code == 302
    return client


def upload(client, body: bytes, name: str = "mine.csv"):
    token = csrf_token(client, "/studio/")
    return client.post(
        "/studio/upload",
        data={"csrf_token": token, "file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def stored(data_dir) -> list:
    return list((data_dir / "studio").rglob("data.csv")) if (data_dir / "studio").exists() else []


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_an_upload_shows_its_table_and_summary(logged_in, data_dir, encoding):
    response = upload(logged_in, CSV.encode(encoding))
    assert response.status_code == 302
    page = logged_in.get(response.location + "?encoding=chernoff").get_data(as_text=True)
    assert "Summary" in page and "Text columns left out: city" in page
    for column in ("income", "age", "y"):
        assert f'data-column="{column}"' in page
    for feature in FEATURES:  # the mapping offers the encoding's own features
        assert f"<option>{feature}</option>" in page
    assert stored(data_dir)[0].read_text(encoding="utf-8").startswith("income,age,y,city")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the file is empty"),
        (b"a,b\n", "a header but no data rows"),
        (b"name,town\nann,bonn\nbob,ulm\n", "no numeric column"),
        (b"x,y\n1,2\n3,oops\n", "row 2 (CSV line 3), column &#39;y&#39; holds &#39;oops&#39;"),
        (b"x,y\n1,2\n,4\n", "row 2 (CSV line 3), column &#39;x&#39; is empty"),
        (b"x,x\n1,2\n", "column names repeat"),
        (b"x,y\n" + b"1,2\n" * 501, "501 rows, over the studio"),
        (b"x,outlier\n1,0\n2,5\n", "row 2, column &#39;outlier&#39; holds &#39;5&#39;"),
    ],
)
def test_a_bad_upload_is_one_message_and_nothing_is_stored(logged_in, data_dir, body, message):
    response = upload(logged_in, body)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Nothing was stored" in page and message in page, page
    assert stored(data_dir) == []


def synthetic(client, **fields):
    token = csrf_token(client, "/studio/")
    form = {"csrf_token": token, "rows": "20", "features": "3", "informative": "2", "noise": "1",
            "seed": "4", "outliers": "2", "kind": "both", "size_sd": "5", **fields}  # fmt: skip
    return client.post("/studio/synthetic", data=form)


def test_synthetic_data_show_their_outliers_to_the_researcher(logged_in):
    response = synthetic(logged_in)
    page = logged_in.get(response.location).get_data(as_text=True)
    assert "2 known outliers" in page and page.count('class="outlier"') == 2
    none = synthetic(logged_in, outliers="0", seed="5")
    assert "0 known outliers" in logged_in.get(none.location).get_data(as_text=True)


def test_bad_synthetic_settings_are_refused(logged_in, data_dir):
    response = synthetic(logged_in, informative="5")
    assert response.status_code == 400 and "informative features" in response.get_data(as_text=True)
    assert stored(data_dir) == []


def chernoff_mapping(**extra) -> dict:
    mapping = {"encoding": "chernoff", "axis_0": "eye_size", "transforms_0": "log",
               "axis_1": "face_width", "axis_2": "mouth_curvature", "frame_ms": "200"}  # fmt: skip
    return {**mapping, **extra}


@pytest.fixture
def dataset(logged_in):
    return upload(logged_in, CSV.encode()).location


def test_the_mapping_says_what_each_column_ends_up_as(logged_in, dataset):
    page = logged_in.get(dataset, query_string=chernoff_mapping()).get_data(as_text=True)
    assert "log → z-score → eye_size" in page and "z-score → face_width" in page
    assert "Save as stimulus set" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"axis_1": "eye_size"}, "columns &#39;income&#39; and &#39;age&#39; are both mapped to"),
        (
            {"transforms_1": "shift(-26), log"},
            "column &#39;age&#39;, row 3 (CSV line 4): log needs",
        ),
        ({"axis_0": "wings"}, "&#39;wings&#39; is not an axis of chernoff"),
        ({"transforms_0": "sqrt"}, "unknown transform"),
        ({"axis_0": "", "axis_1": "", "axis_2": ""}, "map at least one column"),
    ],
)
def test_a_bad_mapping_is_one_message(logged_in, dataset, changes, message):
    response = logged_in.get(dataset, query_string=chernoff_mapping(**changes))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    preview = logged_in.get(dataset + "/preview.png", query_string=chernoff_mapping(**changes))
    assert preview.status_code == 400 and preview.mimetype == "text/plain"


def image(response) -> Image.Image:
    assert response.status_code == 200, response.get_data(as_text=True)
    return Image.open(io.BytesIO(response.data))


def test_preview_views_and_downloads(logged_in, dataset):
    mapping = chernoff_mapping()
    first = image(logged_in.get(dataset + "/preview.png", query_string=mapping))
    changed = image(
        logged_in.get(dataset + "/preview.png", query_string={**mapping, "strength": "3"})
    )
    assert first.size == changed.size and first.tobytes() != changed.tobytes()
    page = logged_in.get(dataset + "/views", query_string={**mapping, "sort": "age"})
    assert "sorted by age" in page.get_data(as_text=True)
    unsorted = image(logged_in.get(dataset + "/grid.png", query_string=mapping))
    by_age = image(logged_in.get(dataset + "/grid.png", query_string={**mapping, "sort": "age"}))
    assert unsorted.size == by_age.size and unsorted.tobytes() != by_age.tobytes()
    video = logged_in.get(dataset + "/sequence.mp4", query_string={**mapping, "sort": "y"})
    assert video.data[4:8] == b"ftyp" and "-chernoff-y.mp4" in video.headers["Content-Disposition"]
    webp = logged_in.get(dataset + "/sequence.webp", query_string={**mapping, "play_ms": "300"})
    with Image.open(io.BytesIO(webp.data)) as animation:
        assert animation.n_frames == 6
    slower = logged_in.get(dataset + "/sequence.webp", query_string={**mapping, "play_ms": "900"})
    assert slower.data != webp.data, "the frame duration is the one asked for"
    archive = zipfile.ZipFile(
        io.BytesIO(
            logged_in.get(dataset + "/images.zip", query_string={**mapping, "sort": "income"}).data
        )
    )
    names = archive.namelist()
    assert names[:3] == ["001-row-003.png", "002-row-001.png", "003-row-006.png"]
    assert "income: log → z-score → eye_size" in archive.read("README.txt").decode()


def test_another_researchers_data_is_not_found(app, logged_in, dataset, db_session):
    from tests.experiment.researcher_data import PASSWORD, add_researcher

    other = add_researcher(db_session)
    other_client = app.test_client()
    log_in(other_client, email=other.email, password=PASSWORD)
    assert other_client.get(dataset).status_code == 404


def test_saving_builds_the_set_in_a_job_and_the_cli_makes_the_same_bytes(
    app, logged_in, dataset, data_dir, tmp_path, db_session
):
    from click.testing import CliRunner

    from glyphlab.cli import main

    mapping = chernoff_mapping()
    token = csrf_token(logged_in, dataset)
    response = logged_in.post(dataset + "/save", data={"csrf_token": token, **mapping})
    assert response.status_code == 302 and "/jobs/" in response.location
    assert logged_in.get(response.location + ".json").json["status"] == "queued"
    assert app.extensions["glyphlab.site"].jobs.run_pending() == 1
    page = logged_in.get(response.location).get_data(as_text=True)
    assert "Create a study from this set" in page and "[[datasets]]" in page
    toml = logged_in.get(response.location + "/config.toml")
    assert str(data_dir) not in toml.get_data(as_text=True), "paths relative to the data folder"
    assert 'csv = "studio/' in toml.get_data(as_text=True)
    (tmp_path / "studio.toml").write_bytes(toml.data)
    result = CliRunner().invoke(
        main,
        [
            "stimuli",
            "generate",
            str(tmp_path / "studio.toml"),
            "--base-dir",
            str(data_dir),
            "--out",
            str(tmp_path / "cli"),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    cli_set = tmp_path / "cli" / result.stdout.strip().rsplit("/", 1)[-1]
    web_set = data_dir / "stimuli" / cli_set.name
    files = sorted(p.relative_to(web_set) for p in web_set.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(cli_set) for p in cli_set.rglob("*") if p.is_file())
    assert any(str(f).startswith("downloads/") for f in files)
    for name in files:
        assert (web_set / name).read_bytes() == (cli_set / name).read_bytes(), name
    study_link = re.search(r'href="([^"]*/dashboard/studies/new\?set=\d+)"', page).group(1)
    new_study = logged_in.get(study_link.replace("&amp;", "&")).get_data(as_text=True)
    chosen = re.search(r"<option[^>]*selected[^>]*>([^<]*)</option>", new_study).group(1)
    assert f"({cli_set.name})" in chosen, "the new study form starts on the saved set"
