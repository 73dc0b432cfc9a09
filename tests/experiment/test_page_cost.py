"""What the participant pages cost the server: an open study's record (title, texts,
response modes, ...) is read once per process, its status and set folder in every
request; a draft's is read afresh each time, since a draft can be edited."""

from __future__ import annotations

from experiment.models import StudyStatus
from experiment.services.studies import set_status
from tests.experiment.conftest import statements
from tests.experiment.participant_client import Participant


def test_an_open_study_is_read_once_and_its_status_every_time(
    app, client, study, db_session, connection
):
    first = Participant(app.test_client())
    first.consent()
    with statements(connection) as seen:
        assert client.get("/s/site-test/").status_code == 200
        first.open_runner()
    assert not [s for s in seen if "FROM condition" in s or "consent_text" in s]
    assert sum("FROM study" in s for s in seen) == 2  # one small read per page
    set_status(study, StudyStatus.closed)
    db_session.commit()
    closed = app.test_client().get("/s/site-test/")
    assert closed.status_code == 410 and b"closed" in closed.data
    first.open_runner()  # an enrolled participant still continues
    set_status(study, StudyStatus.open)
    db_session.commit()
    assert app.test_client().get("/s/site-test/").status_code == 200


def test_a_draft_is_read_afresh(client, make_study, db_session):
    draft = make_study(open_=False, slug="draft-study", title="First title")
    assert "First title" in client.get("/s/draft-study/").text
    draft.title = "Second title"
    db_session.commit()
    assert "Second title" in client.get("/s/draft-study/").text
