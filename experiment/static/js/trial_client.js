// glyphlab trial client: the runner's network side (docs/participant-api.md).
//
// Everything the runner sends to or fetches from the participant API goes through here:
// what comes next when neither the page nor an answer's reply said it (`GET next?peek=1`,
// no media, no clock), the next trial (`GET next`), the trial's onset (`start`), each
// answer, and the fire-and-forget events. runner.js owns what is on screen; this module
// owns no DOM and reports the connection's state through `onConnection`.
//
// Answers go through a queue that keeps them exactly once: an answer gets its
// idempotency key when it is made, is kept in sessionStorage until the server has
// answered it (so a reload resends it, with the same key), waits for its trial's `start`
// to be acknowledged (the server refuses an answer before `start`), and is resent
// unchanged, with backoff, after a lost connection or a 5xx, until the server answers.
// The next trial rides along in the answer's reply, so the runner posts the answer
// while it shows the fixation cross, and the next onset does not wait on the network.

const BACKOFF_MS = [250, 500, 1000, 2000, 4000];

// Only for retry back-off between network attempts, never for anything on screen.
export function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function newIdempotencyKey() {
  return crypto.randomUUID();
}

// A wait that `cut()` ends early (the participant's "Try again").
function cuttableWait(ms) {
  let cut;
  const done = new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    cut = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, cut };
}

export function createTrialClient({ api, token, onConnection = () => {} }) {
  const storageKey = `glyphlab-pending-answer:${api}`;
  const starts = new Map(); // trial id -> promise of the acknowledged start

  async function call(method, path, body) {
    const response = await fetch(api + path, {
      method,
      credentials: "same-origin",
      headers: { "X-Glyphlab-Token": token, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = {};
    try {
      json = await response.json();
    } catch {
      json = { error: `The server answered ${response.status}.` };
    }
    return { status: response.status, json };
  }

  // `call`, resent after a lost connection or a 5xx until the server answers (< 500);
  // onConnection says what is going on: "lost", "busy" (with retryNow) or "ok".
  async function persistent(method, path, body) {
    let troubled = false;
    for (let attempt = 0; ; attempt += 1) {
      let state;
      try {
        const result = await call(method, path, body);
        if (result.status < 500) {
          if (troubled) onConnection({ state: "ok" });
          return result;
        }
        state = "busy";
      } catch {
        state = "lost"; // fetch failed: no connection, or it broke mid-request
      }
      troubled = true;
      const pause = cuttableWait(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]);
      onConnection({ state, attempt: attempt + 1, retryNow: pause.cut });
      await pause.done;
    }
  }

  function peek() {
    return persistent("GET", "/next?peek=1");
  }

  // The next trial to show: {status, json} as `GET next` answers it.
  function next() {
    return persistent("GET", "/next");
  }

  // The trial's onset: the server checks rt_ms against its clock from here. Sent once
  // per trial (resent until acknowledged); an answer waits for it.
  function start(trialId) {
    if (!starts.has(trialId)) starts.set(trialId, persistent("POST", `/trials/${trialId}/start`, {}));
    return starts.get(trialId);
  }

  function remember(entry) {
    try {
      sessionStorage.setItem(storageKey, JSON.stringify(entry));
    } catch {
      // storage full or disabled: the answer still goes, only a reload cannot resend it
    }
  }

  function forget(key) {
    try {
      const kept = JSON.parse(sessionStorage.getItem(storageKey) || "null");
      if (kept && kept.body.idempotency_key === key) sessionStorage.removeItem(storageKey);
    } catch {
      sessionStorage.removeItem(storageKey);
    }
  }

  // The answer a reload interrupted, if any: {trialId, body}.
  function pendingAnswer() {
    try {
      return JSON.parse(sessionStorage.getItem(storageKey) || "null");
    } catch {
      return null;
    }
  }

  // Post one answer exactly once; resolves with the server's reply {status, json}: 201
  // stored, 200 a resend acknowledged, 4xx refused (the caller decides what then).
  async function submit(trialId, body) {
    remember({ trialId, body });
    for (let tries = 0; ; tries += 1) {
      await start(trialId);
      const result = await persistent("POST", `/trials/${trialId}/answer`, body);
      // 409 "Start the trial ... first": the start went missing (a reload); send it again.
      if (result.status === 409 && /start/i.test(result.json.error || "") && tries < 2) {
        starts.delete(trialId);
        continue;
      }
      forget(body.idempotency_key);
      return result;
    }
  }

  // Send the answer a reload interrupted (same key: stored once); resolves when done.
  async function flush() {
    const pending = pendingAnswer();
    if (pending === null) return null;
    return submit(pending.trialId, pending.body);
  }

  function report(kind, trialId) {
    call("POST", "/events", { kind, trial_id: trialId, t_ms: performance.now() }).catch(() => {});
  }

  return { call, peek, next, start, submit, flush, pendingAnswer, report };
}
