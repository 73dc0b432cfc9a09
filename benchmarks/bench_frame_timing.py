"""Frame timing of sequences as Chromium presents them: requested vs presented durations.

    .venv/bin/python benchmarks/bench_frame_timing.py [--frame-ms 100 50 33] [--trials 8]

A participant in headless Debian chromium (Playwright) watches keypress sequences of
Chernoff faces; the trial runner times frames with requestAnimationFrame and reports
each frame's presented duration in ``frame_stats``, which the site stores with the
answer. This script reads them back from the database and prints the distribution and
the share of frames within one refresh interval of the request (target >= 99%).
Headless Chromium has no display, so its "refresh" is the compositor's 60 Hz clock.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from playwright.sync_api import sync_playwright

from experiment.models import Response
from experiment.services.studies import StudyParams
from glyphlab.chromium import CHROMIUM, CHROMIUM_ARGS
from glyphlab.site_process import SiteProcess, open_study, site_environment, site_session
from stimuli import StimulusSetConfig, generate_stimulus_set


def sequence_set(folder: Path, trials: int) -> Path:
    common = {"n_items": 10, "n_features": 4, "n_informative": 2}
    config = StimulusSetConfig.from_dict(
        {
            "name": "frame-timing",
            "seed": 3,
            "datasets": [
                # key presses need target-absent trials: half the main datasets have none
                {"role": "main", "count": trials - trials // 2, "n_outliers": 1, **common},
                {"role": "main", "count": max(1, trials // 2), "n_outliers": 0, **common},
                {"role": "practice", "count": 1, "n_outliers": 1, **common},
            ],
            "conditions": [{"encoding": "chernoff", "layout": "sequence"}],
        }
    )
    return generate_stimulus_set(config, folder, progress=False)


def watch(browser, url: str) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(url)
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    for _ in range(200):
        page.locator("#runner-screen button:visible, .debrief-text").first.wait_for(timeout=60_000)
        if page.url.endswith("/debrief"):
            break
        if page.locator("#runner-screen [data-action=press]").count():
            page.locator("#runner-screen [data-action=press]").wait_for(
                state="detached", timeout=60_000
            )
        else:
            page.locator("#runner-screen button").first.click()
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frame-ms", type=int, nargs="+", default=[100, 50, 33])
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        work = Path(tmp)
        set_folder = sequence_set(work / "stimuli", args.trials)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        for frame_ms in args.frame_ms:
            data_dir = work / f"site-{frame_ms}"
            data_dir.mkdir()
            url = f"sqlite:///{data_dir / 'glyphlab.sqlite3'}"
            params = StudyParams(
                title=f"frames {frame_ms}",
                encodings=("chernoff",),
                layouts=("sequence",),
                response_modes=("keypress",),
                trials_per_participant=args.trials,
                practice_trials=1,
                attention_checks=0,
                frame_ms=frame_ms,
                deadline_ms=60_000,
            )
            slug, _ = open_study(url, set_folder, params, email="frames@glyphlab.local")
            with SiteProcess(site_environment(data_dir), log_path=work / "site.log") as site:
                watch(browser, f"{site.url}/s/{slug}/?pid=frames")
            with site_session(url) as session:
                stats = session.scalars(sa.select(Response.frame_stats)).all()
            durations = np.concatenate([s["durations_ms"] for s in stats if s])
            refresh = float(np.median([s["refresh_ms"] for s in stats if s]))
            within = np.mean(np.abs(durations - frame_ms) <= refresh * 1.05)
            p = np.percentile(durations, [0, 1, 50, 99, 100])
            print(
                f"requested {frame_ms:4d} ms: {durations.size} frames, refresh {refresh:.1f} ms, "
                f"mean {durations.mean():.2f} sd {durations.std():.2f}, "
                f"min/p1/p50/p99/max {'/'.join(f'{v:.1f}' for v in p)} ms, "
                f"within one refresh {100 * within:.1f}%"
            )
        browser.close()


if __name__ == "__main__":
    main()
