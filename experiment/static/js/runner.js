// glyphlab trial runner: one small ES module, no build step (docs/participant-api.md).
//
// It owns what every response mode shares: preloading every image (Image.decode())
// before onset, timing with requestAnimationFrame and performance.now() (never
// setTimeout for anything on screen), showing sequences frame by frame, and the
// deadline. The network side (fetching trials, posting each answer once with an
// idempotency key, resent unchanged on network errors) is trial_client.js. It shows the
// stimulus as its encoding declares (trial.display: item images, table rows or one
// composite image). What an answer is belongs to the response mode: its template
// (templates/trials/<mode>.html) gives the prompt and buttons, its ES module
// (modes/<mode>.js) says whether items are picked ("none", "one", "many") and mounts its
// keys and buttons on the trial API below, calling finish(answer) with the mode's answer
// JSON. The browser never learns which item is an
// outlier: it knows display positions only.

import { buildFrames, buildGrid, element, fitTo, showFeedback, text } from "./display.js";
import { enterFullscreen, fullscreenButton, measureScreen } from "./screen_info.js";
import { createTrialClient, newIdempotencyKey } from "./trial_client.js";

const api = document.querySelector('meta[name="glyphlab-api"]').content;
const token = document.querySelector('meta[name="glyphlab-token"]').content;
const screen = document.getElementById("runner-screen");
const phaseLabel = document.getElementById("runner-phase");
const countLabel = document.getElementById("runner-count");
const timeBar = document.getElementById("runner-time");
const modesBase = document.querySelector('meta[name="glyphlab-modes"]').content;
const modeModules = new Map();

// A mode's ES module, loaded once; an unknown mode fails the import, loudly.
function modeModule(name) {
  if (!modeModules.has(name)) modeModules.set(name, import(`${modesBase}${encodeURIComponent(name)}.js`));
  return modeModules.get(name);
}

let currentTrialId = null;
let shown = null; // the display of the trial last shown (practice feedback marks it)
const client = createTrialClient({ api, token, onConnection: (state) => notice.update(state) });

function report(kind) {
  client.report(kind, currentTrialId);
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

// Between trials: a fixation cross over the page, while the answer is posted and the
// next trial (which its reply carries) is fetched and decoded; the next onset is the
// frame nearest the fixation's scheduled end. Each onset's delay after that end (from
// requestAnimationFrame timestamps) is kept in window.glyphlabTiming and sent in the
// answer's frame_stats.
window.glyphlabTiming = [];
let lastOnset = null; // {t, notBefore} of the trial on screen
const fixation = (() => {
  const cross = document.createElement("div");
  cross.className = "fixation";
  cross.setAttribute("aria-hidden", "true");
  Object.assign(cross.style, {
    position: "fixed", inset: "0", display: "none", alignItems: "center", justifyContent: "center",
    fontSize: "3rem", lineHeight: "1", zIndex: "20", userSelect: "none",
  });
  document.body.append(cross);
  return {
    // Resolves with the timestamp of the frame that shows the cross.
    show(withCross) {
      cross.textContent = withCross ? "+" : "";
      const background = getComputedStyle(document.body).backgroundColor;
      cross.style.background = !background || background === "rgba(0, 0, 0, 0)" ? "#fff" : background;
      cross.style.display = "flex";
      return nextFrame();
    },
    hide() {
      cross.style.display = "none";
    },
  };
})();

// "Connection lost, retrying…" (and "Try again" when the server is busy), shown while
// trial_client.js resends.
const notice = (() => {
  const box = document.createElement("div");
  box.className = "connection-notice";
  box.setAttribute("role", "status");
  Object.assign(box.style, {
    position: "fixed", left: "50%", bottom: "1.5rem", transform: "translateX(-50%)", zIndex: "30",
    padding: "0.6rem 1rem", borderRadius: "0.4rem", background: "#fff4d6", color: "#222",
    border: "1px solid #c9a227", display: "none", gap: "0.8rem", alignItems: "center",
  });
  const words = document.createElement("span");
  const again = document.createElement("button");
  again.type = "button";
  again.textContent = "Try again";
  box.append(words, again);
  document.body.append(box);
  let retryNow = () => {};
  again.addEventListener("click", () => retryNow());
  return {
    update({ state, retryNow: retry }) {
      if (state === "ok") {
        box.style.display = "none";
        return;
      }
      retryNow = retry || (() => {});
      words.textContent = state === "lost" ? "Connection lost, retrying…" : "The server is busy. Retrying…";
      again.hidden = state !== "busy";
      box.style.display = "flex";
    },
  };
})();

async function showFixation(ms) {
  const shownAt = fixation.show(ms > 0);
  screen.replaceChildren(); // the last trial is gone; the next is built under the cross
  return (await shownAt) + ms;
}

// Resolves when the image has loaded; rejects if it cannot be loaded at all.
function loaded(image) {
  if (image.complete) {
    return image.naturalWidth > 0 ? Promise.resolve() : Promise.reject(new Error("an image could not be loaded"));
  }
  return new Promise((resolve, reject) => {
    image.addEventListener("load", resolve, { once: true });
    image.addEventListener("error", () => reject(new Error("an image could not be loaded")), { once: true });
  });
}

async function preload(urls) {
  const images = new Map();
  await Promise.all(
    urls.map(async (url) => {
      const image = new Image();
      image.src = url;
      image.alt = "";
      // decode() gets the pixels ready before onset, but Chromium sometimes rejects it
      // for an image that loads and shows fine: then the load event is enough.
      await image.decode().catch(() => loaded(image));
      images.set(url, image);
    }),
  );
  return images;
}

function message(text, role = "status") {
  screen.replaceChildren(element("p", { class: "message", role, text }));
}

// The status bar's "Practice" / "Main trials": set at each trial, and at the pause
// before the first, which would otherwise still say "Loading…".
function showPhase(phase) {
  phaseLabel.textContent = phase === "practice" ? text("phase_practice") : text("phase_main");
}

async function pause(text, label) {
  const button = element("button", { type: "button", text: label });
  screen.replaceChildren(element("p", { class: "message", text }), button);
  button.focus();
  await new Promise((resolve) => button.addEventListener("click", resolve, { once: true }));
}

// Durations of the frames that were shown in full: a frame cut short by an answer
// (``end`` null: the sequence had not ended) says nothing about presentation timing.
function frameStats(presented, end, requested, deltas) {
  const times = end === null ? presented : [...presented, end];
  const durations = times.slice(1).map((t, k) => t - times[k]);
  const sorted = [...deltas].sort((a, b) => a - b);
  const refresh = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 16.7;
  const mean = durations.reduce((a, b) => a + b, 0) / (durations.length || 1);
  const sd = Math.sqrt(durations.reduce((a, d) => a + (d - mean) ** 2, 0) / (durations.length || 1));
  const within = durations.filter((d) => Math.abs(d - requested) <= refresh * 1.05).length;
  const round = (v) => Math.round(v * 100) / 100;
  return {
    n_frames: durations.length,
    requested_ms: requested,
    refresh_ms: round(refresh),
    mean_ms: round(mean),
    sd_ms: round(sd),
    min_ms: round(Math.min(...durations)),
    max_ms: round(Math.max(...durations)),
    within_one_refresh: durations.length ? round(within / durations.length) : null,
    durations_ms: durations.slice(0, 200).map(round),
  };
}

async function runTrial(trial, notBefore = 0) {
  const mode = await modeModule(trial.response_mode);
  const template = document.getElementById(`mode-${trial.response_mode}`);
  if (!template) throw new Error(`this page has no template for response mode ${trial.response_mode}`);
  const view = template.content.cloneNode(true);
  const slot = view.querySelector(".stimulus");
  const keys = trial.keys || {};
  const urls = trial.display === "composite" ? [trial.composite.src] : (trial.images || []).map((i) => i.src);
  const images = await preload(urls);
  for (const kbd of view.querySelectorAll("kbd[data-key]")) {
    const key = keys[kbd.dataset.key] || "";
    kbd.textContent = key === " " ? "Space" : key.toUpperCase();
  }
  const sequence = trial.layout === "sequence";
  const grid = sequence ? null : buildGrid(trial, images, mode.picks);
  const seq = sequence ? buildFrames(trial, images) : null;
  shown = grid || seq;
  slot.append(shown.root);
  slot.classList.add("pending"); // laid out (and sized) but not visible before onset
  screen.replaceChildren(view);
  const stopFitting = fitTo(slot, shown.fit);
  showPhase(trial.phase);
  countLabel.textContent = text("screen_count").replace("{number}", trial.number).replace("{of}", trial.of);

  return new Promise((resolve) => {
    let onset = null;
    let finished = false;
    const presented = [];
    const deltas = [];
    const keyHandlers = [];
    const endHandlers = [];
    let shownFrame = -1;
    let sequenceEnd = null;
    const deadline = Math.min(trial.deadline_ms, trial.time_left_ms);

    const finish = (answer) => {
      if (finished || onset === null) return;
      finished = true;
      const now = performance.now();
      stopFitting();
      document.removeEventListener("keydown", onKey);
      const body = {
        idempotency_key: newIdempotencyKey(),
        rt_ms: Math.round((now - onset) * 10) / 10,
        timed_out: answer === null,
        frame_stats: sequence ? frameStats(presented, sequenceEnd, trial.frame_ms, deltas) : null,
      };
      if (answer !== null) body.response = answer;
      resolve(body);
    };
    const onKey = (event) => {
      if (event.repeat || onset === null) return;
      for (const handler of keyHandlers) handler(event);
    };
    document.addEventListener("keydown", onKey);
    // What a mode module sees of the trial (see the header comment).
    mode.mount({
      display: trial.display,
      keys,
      params: trial.params || {},
      view: screen,
      finish,
      marked: () => (grid ? grid.marked() : []),
      onPick: (callback) => grid && grid.setOnPick((mark) => onset !== null && callback(mark)),
      onKey: (handler) => keyHandlers.push(handler),
      onSequenceEnd: (handler) => endHandlers.push(handler),
      frame: () => shownFrame,
      sequenceEnded: () => sequenceEnd !== null,
      now: () => Math.round((performance.now() - onset) * 10) / 10,
    });

    let last = null;
    const tick = (t) => {
      if (finished) return;
      if (last !== null) deltas.push(t - last);
      last = t;
      if (onset === null) {
        // Still in the fixation: onset is the frame nearest its scheduled end.
        const refresh = deltas.length ? Math.min(deltas[deltas.length - 1], 50) : 16.7;
        if (t < notBefore - refresh / 2) return requestAnimationFrame(tick);
        fixation.hide();
        lastOnset = { t, notBefore };
      }
      if (onset === null) {
        onset = t;
        slot.classList.remove("pending");
      }
      const elapsed = t - onset;
      if (sequence && sequenceEnd === null) {
        // Change frame on the refresh nearest the requested boundary (half a refresh early).
        const refresh = deltas.length ? deltas[deltas.length - 1] : 16.7;
        const due = Math.floor((elapsed + refresh / 2) / trial.frame_ms);
        if (due !== shownFrame) {
          if (due >= seq.frames.length) {
            sequenceEnd = t;
            seq.root.replaceChildren(element("p", { class: "message", text: text("end_of_sequence") }));
            for (const handler of endHandlers) handler();
            if (finished) return;
          } else {
            seq.root.replaceChildren(seq.frames[due]);
            presented.push(t);
            shownFrame = due;
          }
        }
      }
      timeBar.value = Math.max(0, 1 - elapsed / deadline);
      if (elapsed >= deadline) return finish(null);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const first = screen.querySelector(".stimulus button, [data-action]");
    if (first) first.focus({ preventScroll: true });
  });
}

// What the answer records of the onset timing (with the sequence statistics, if any),
// and the onset itself for the server's clock: the time from sending the request that
// brought the trial (`sentAt`) to the onset (trial_client.js).
function withOnsetTiming(body, trial, notBefore, sentAt) {
  const round = (v) => Math.round(v * 100) / 100;
  const timing = { fixation_ms: trial.fixation_ms ?? 0, onset_delay_ms: lastOnset && notBefore ? round(lastOnset.t - notBefore) : null };
  window.glyphlabTiming.push({ trial: trial.id, phase: trial.phase, scheduled: notBefore, onset: lastOnset ? lastOnset.t : null, ...timing });
  const onset = lastOnset ? { onset_after_request_ms: round(Math.max(0, lastOnset.t - sentAt)) } : {};
  return { ...body, ...onset, frame_stats: { ...(body.frame_stats || {}), ...timing } };
}

async function main() {
  window.addEventListener("blur", () => report("blur"));
  window.addEventListener("focus", () => report("focus"));
  document.addEventListener("visibilitychange", () => report(document.hidden ? "visibility_hidden" : "visibility_visible"));
  document.addEventListener("fullscreenchange", () => report(document.fullscreenElement ? "fullscreen_enter" : "fullscreen_exit"));
  fullscreenButton(document.getElementById("runner-fullscreen"));
  // An answer a reload interrupted goes first, with its own idempotency key (stored once).
  const resent = await client.flush();
  if (resent && resent.json.finished) return window.location.assign(resent.json.next_url);
  let lastPhase = null;
  let upcoming = null; // {trial, notBefore, sentAt}: the next trial, when its fixation ends, and when the request that brought it was sent
  // What comes next, as a peek says it: the page brings the first (unless a resent
  // answer just moved on), a practice answer's reply the one after it; else we ask.
  let coming = resent ? null : JSON.parse(document.getElementById("runner-coming").textContent);
  for (;;) {
    if (upcoming === null) {
      // Nothing fetched yet: the trial's media come only after any pause (its deadline
      // counts from their delivery), during the fixation.
      let peek = { status: 200, json: coming };
      coming = null;
      if (peek.json === null) peek = await client.peek();
      if (peek.status !== 200) return message(peek.json.error, "alert");
      if (peek.json.done) return window.location.assign(peek.json.next_url);
      if (peek.json.response_mode) modeModule(peek.json.response_mode).catch(() => {}); // loads meanwhile
      if (lastPhase === null) {
        showPhase(peek.json.phase);
        await pause(text(peek.json.phase === "practice" ? "practice_intro" : "main_intro"), text("start_button"));
        // On the Start click (browsers allow full screen only then); the screen is measured
        // as the trials will be shown, in full screen where the browser went there.
        enterFullscreen()
          .then(() => measureScreen())
          .then((info) => client.call("POST", "/screen", info))
          .catch(() => {});
      } else if (lastPhase === "practice" && peek.json.phase === "main") {
        await pause(text("practice_done"), text("start_button"));
      }
      const notBefore = await showFixation(peek.json.fixation_ms ?? 0);
      const next = await client.next();
      if (next.status !== 200) return message(next.json.error, "alert");
      if (next.json.done) return window.location.assign(next.json.next_url);
      upcoming = { trial: next.json.trial, notBefore, sentAt: next.sentAt };
    }
    const { trial, notBefore, sentAt } = upcoming;
    upcoming = null;
    lastPhase = trial.phase;
    currentTrialId = trial.id;
    lastOnset = null;
    const body = withOnsetTiming(await runTrial(trial, notBefore), trial, notBefore, sentAt);
    // Main trials: the fixation starts now, and the answer goes meanwhile; practice
    // answers wait for their feedback.
    const nextOnset = trial.phase === "practice" ? null : await showFixation(trial.fixation_ms ?? 0);
    if (nextOnset === null) message("Saving…");
    const saved = await client.submit(trial.id, body);
    if (saved.status === 409) continue; // answered elsewhere or out of order: /next decides
    if (saved.status >= 400) {
      // Refused (it says why): nothing was stored, so the trial can be answered again.
      fixation.hide();
      await pause(`Your answer was not accepted: ${saved.json.error} Please answer this screen again.`, "Answer again");
      upcoming = { trial, notBefore: 0, sentAt };
      continue;
    }
    if (saved.json.feedback) {
      await showFeedback(screen, saved.json.feedback, shown);
      screen.replaceChildren(); // gone at the click; the next trial comes after the fixation
    }
    if (saved.json.finished) return window.location.assign(saved.json.next_url);
    coming = saved.json.coming ?? null;
    if (saved.json.next) upcoming = { trial: saved.json.next, notBefore: nextOnset ?? 0, sentAt: saved.sentAt };
    else if (nextOnset !== null) {
      // A resend's reply carries no trial: fetch it, still within the fixation.
      const next = await client.next();
      if (next.status !== 200) return message(next.json.error, "alert");
      if (next.json.done) return window.location.assign(next.json.next_url);
      upcoming = { trial: next.json.trial, notBefore: nextOnset, sentAt: next.sentAt };
    }
  }
}

main().catch((error) => {
  fixation.hide();
  phaseLabel.textContent = "Stopped";
  const button = element("button", { type: "button", text: "Reload" });
  screen.replaceChildren(
    element("p", { class: "message", role: "alert", text: `Something went wrong: ${error.message}. Reload the page to continue where you were.` }),
    button,
  );
  button.addEventListener("click", () => window.location.reload(), { once: true });
});
