"""Participant texts: every string editable per study, Markdown sanitised, consent
with a decline button that is counted and stores nothing else."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from experiment.models import Participant, Study
from experiment.services.studies import StudyError
from experiment.texts import TEXTS, TextError, check_overrides, render_markdown, study_texts
from tests.experiment.participant_client import CSRF


def test_markdown_keeps_links_and_lists_and_drops_scripts():
    html = render_markdown(
        "# Title\n\nSee [the information sheet](https://example.org/info).\n\n"
        "- one\n- two\n\n<script>alert(1)</script> [bad](javascript:alert(1)) "
        '<img src=x onerror="alert(1)">'
    )
    assert "<h2>Title</h2>" in html  # the page owns the h1
    assert 'href="https://example.org/info"' in html and 'target="_blank"' in html
    assert 'rel="noopener noreferrer"' in html
    assert "<li>one</li>" in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html


def test_overrides_are_checked_and_defaults_stay_live():
    kept = check_overrides(
        {"start_button": "Begin", "next_button": TEXTS["next_button"].default, "saving": " "},
        TEXTS,
    )
    assert kept == {"start_button": "Begin"}
    texts = study_texts(kept, TEXTS)
    assert texts["start_button"] == "Begin" and texts["next_button"] == "Next"
    with pytest.raises(TextError, match="unknown study texts"):
        check_overrides({"no_such_text": "x"}, TEXTS)
    with pytest.raises(TextError, match="longer than"):
        check_overrides({"saving": "x" * 20_001}, TEXTS)


def test_study_texts_show_on_the_participant_pages(client, make_study):
    study = make_study(
        consent_text="Read [the sheet](https://example.org/sheet) first.",
        texts={"consent_continue": "Go on", "consent_decline": "No, thanks"},
    )
    page = client.get(f"/s/{study.slug}/").get_data(as_text=True)
    assert '<a href="https://example.org/sheet"' in page
    assert "Go on" in page and "No, thanks" in page
    with pytest.raises(StudyError, match="unknown study texts"):
        make_study(slug="other-one", texts={"colour": "red"})


def test_declining_counts_and_stores_nothing_else(client, make_study, db_session):
    study = make_study()
    page = client.get(f"/s/{study.slug}/?pid=someone")
    token = CSRF.search(page.data).group(1).decode()
    declined = client.post(f"/s/{study.slug}/decline", data={"csrf_token": token})
    assert declined.status_code == 200
    assert "Nothing about you has been stored" in declined.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Study, study.id).declined_count == 1
    participants = db_session.scalar(sa.select(sa.func.count()).select_from(Participant))
    assert participants == 0
