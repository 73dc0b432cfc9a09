// glyphlab trial client: the runner's network side (docs/participant-api.md).
//
// Everything the runner sends to or fetches from the participant API goes through here:
// fetching the next trial, telling the server a trial's onset (`start`), posting each
// answer once with an idempotency key (resent unchanged on network errors and 5xx), and
// the fire-and-forget events. runner.js owns what is on screen; this module owns no DOM.

// Only for retry back-off between network attempts, never for anything on screen.
export function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function newIdempotencyKey() {
  return crypto.randomUUID();
}

export function createTrialClient({ api, token }) {
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

  // The next trial to show: {status, json} as `GET next` answers it.
  function next() {
    return call("GET", "/next");
  }

  // The trial's onset: the server starts its clock for `rt_ms` checks here.
  function start(trialId) {
    return call("POST", `/trials/${trialId}/start`, {}).catch(() => {});
  }

  async function postAnswer(trialId, body) {
    // Same body, same idempotency key on every attempt: the server stores it once.
    for (let attempt = 0; ; attempt += 1) {
      try {
        const result = await call("POST", `/trials/${trialId}/answer`, body);
        if (result.status < 500) return result;
      } catch {
        // network error: fall through to retry
      }
      if (attempt >= 6) throw new Error("Your answer could not be saved. Check the connection and reload.");
      await wait(250 * 2 ** attempt);
    }
  }

  function report(kind, trialId) {
    call("POST", "/events", { kind, trial_id: trialId, t_ms: performance.now() }).catch(() => {});
  }

  return { call, next, start, postAnswer, report };
}
