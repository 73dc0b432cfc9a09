"""``/`` is a landing page that links the researcher login and names no study."""


def test_the_landing_page_links_the_login(client, study):
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'href="/login"' in text and "/s/" in text
    assert study.slug not in text and study.title not in text
