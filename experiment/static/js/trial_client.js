// glyphlab trial client: the runner's network side (docs/participant-api.md).
//
// Everything the runner sends to or fetches from the participant API goes through here:
// what comes next when neither the page nor an answer's reply said it (`GET next?peek=1`,
// no media, no clock), the next trial (`GET next`), each answer, and the fire-and-forget
// events. runner.js owns what is on screen; this module owns no DOM and reports the
// connection's state through `onConnection`.
//
// Answers go through a queue that keeps them exactly once: an answer gets its
// idempotency key when it is made, is kept in sessionStorage until the server has
// answered it (so a reload resends it, with the same key), and is resent unchanged,
// with backoff, after a lost connection or a 5xx, until the server answers.
// The next trial rides along in the answer's reply, so the runner posts the answer
// while it shows the fixation cross, and the next onset does not wait on the network.
// No request marks the onset: every reply says when its request was sent (`sentAt`, on
// performance.now()'s clock), and the answer reports the onset as the time from sending
// the request that brought its trial (`onset_after_request_ms`); the server, which knows
// when that request arrived, puts the onset on its own clock from that.

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

  // One request; resolves with {status, json, sentAt}.
  async function call(method, path, body) {
    const sentAt = performance.now();
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
    return { status: response.status, json, sentAt };
  }

  // `call`, resent after a lost connection or a 5xx until the server answers (< 500),
  // with the `sentAt` of the attempt answered; onConnection says what is going on:
  // "lost", "busy" (with retryNow) or "ok".
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
    const result = await persistent("POST", `/trials/${trialId}/answer`, body);
    forget(body.idempotency_key);
    return result;
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

  return { call, peek, next, submit, flush, pendingAnswer, report };
}
