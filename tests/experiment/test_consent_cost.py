"""What a consent costs the server: an open study's enrolment design is made once per
process (its conditions and design never change once it has been open), a draft's each
time, and a consent reads neither the conditions nor the set's row through the ORM."""

from __future__ import annotations

import sqlalchemy as sa

from experiment.models import StudyStatus
from experiment.services.plans import PlanCache
from experiment.services.studies import set_status
from experiment.stimulus_sets import load
from tests.experiment.participant_client import Participant


def test_an_open_studys_design_is_made_once_and_a_drafts_every_time(
    make_study, db_session, stimulus_set
):
    cache = PlanCache()
    loaded = load(stimulus_set)
    draft = make_study(open_=False)
    assert cache.enrolment(draft, loaded) is not cache.enrolment(draft, loaded)
    set_status(draft, StudyStatus.open)
    db_session.commit()
    first = cache.enrolment(draft, loaded)
    assert cache.enrolment(draft, loaded) is first
    assert first.condition_ids == {
        (c.encoding, c.layout, c.response_mode): c.id for c in draft.conditions
    }
    # another loaded copy of the set (a new process's, a moved folder's) is never served
    # a design made from a different object
    assert cache.enrolment(draft, load(stimulus_set)) is not first


def test_a_second_consent_reads_no_conditions_and_no_set_row(app, client, study, connection):
    Participant(app.test_client()).consent()  # the first makes the design
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        Participant(client).consent()
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)
    consent = statements[statements.index(next(s for s in statements if "FROM study" in s)) :]
    assert not [s for s in consent if "FROM condition" in s]
    assert not [s for s in consent if "FROM stimulus_set" in s and "stimulus_set.set_id" in s]
    assert sum(s.startswith("INSERT INTO trial") for s in consent) == 1  # one executemany
    assert sum(s.startswith("INSERT INTO participant") for s in consent) == 1
