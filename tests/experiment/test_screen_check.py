"""Phones are refused with a polite page unless the study allows them; the consent page
carries the study's smallest window for screen-check.js."""

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"


def test_a_phone_gets_a_polite_page_unless_phones_are_allowed(client, make_study):
    study = make_study()
    refused = client.get(f"/s/{study.slug}/", headers={"User-Agent": PHONE})
    assert refused.status_code == 200
    assert "needs a larger screen" in refused.get_data(as_text=True)
    assert 'name="consent"' not in refused.get_data(as_text=True)
    desktop = client.get(f"/s/{study.slug}/", headers={"User-Agent": DESKTOP})
    assert 'name="consent"' in desktop.get_data(as_text=True)
    phones = make_study(slug="phones-welcome", allow_phones=True)
    welcome = client.get(f"/s/{phones.slug}/", headers={"User-Agent": PHONE})
    assert 'name="consent"' in welcome.get_data(as_text=True)


def test_the_consent_page_carries_the_smallest_window(client, make_study):
    study = make_study(min_viewport_width=1280, min_viewport_height=720)
    page = client.get(f"/s/{study.slug}/").get_data(as_text=True)
    assert 'data-min-width="1280"' in page and 'data-min-height="720"' in page
    assert "js/screen-check.js" in page
