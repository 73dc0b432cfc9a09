// What this tab's display is: screen and window size (CSS px), devicePixelRatio and the
// refresh rate measured with requestAnimationFrame over about a second (the median frame
// interval, so one slow frame does not count). Sent once per tab (POST .../api/screen)
// and stored on the browser session; the trial table has them as columns.

export function measureScreen(durationMs = 1000) {
  return new Promise((resolve) => {
    const stamps = [];
    const step = (t) => {
      stamps.push(t);
      if (t - stamps[0] < durationMs) return requestAnimationFrame(step);
      const gaps = stamps.slice(1).map((s, k) => s - stamps[k]).sort((a, b) => a - b);
      const median = gaps.length ? gaps[Math.floor(gaps.length / 2)] : null;
      resolve({
        screen_width: window.screen.width,
        screen_height: window.screen.height,
        window_width: window.innerWidth,
        window_height: window.innerHeight,
        device_pixel_ratio: window.devicePixelRatio || 1,
        refresh_hz: median ? Math.round((1000 / median) * 10) / 10 : null,
      });
    };
    requestAnimationFrame(step);
  });
}

// Full screen, asked for on a click (browsers allow it only then); false where the
// browser has none (iPhone Safari) or refuses. Leaving it is logged by the runner.
export async function enterFullscreen() {
  if (!document.fullscreenEnabled || document.fullscreenElement) return Boolean(document.fullscreenElement);
  try {
    await document.documentElement.requestFullscreen({ navigationUI: "hide" });
    return true;
  } catch {
    return false;
  }
}

// The status bar's "Full screen" button: shown while the page is not in full screen
// (and the browser can do it), so a participant who left it can go back in one click.
export function fullscreenButton(button) {
  if (!button) return;
  const update = () => {
    button.hidden = !document.fullscreenEnabled || Boolean(document.fullscreenElement);
  };
  button.addEventListener("click", () => enterFullscreen());
  document.addEventListener("fullscreenchange", update);
  update();
}
