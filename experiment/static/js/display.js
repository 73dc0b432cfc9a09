// glyphlab trial display: builds what a trial shows (item images, table rows, one plot
// image, sequence frames), sizes it to the room it has, and marks outliers after a
// practice answer. No network and no timing here (runner.js owns those).
//
// Whether items can be picked is the response mode's declaration (``picks`` in
// modes/<mode>.js: "none", "one" or "many"); with "none" items are plain pictures and
// rows, not buttons, and the plot takes no clicks. Everything is sized to fit the
// ``.stimulus`` box, which the page's CSS sizes to the viewport: nothing scrolls.

export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const GAP_PX = 8;

// Columns that make n cells of aspect ``ratio`` (width / height) biggest in a w x h box.
export function bestColumns(n, width, height, ratio = 1) {
  let best = { columns: 1, cell: 0 };
  for (let columns = 1; columns <= n; columns += 1) {
    const rows = Math.ceil(n / columns);
    const cellWidth = Math.min((width - GAP_PX * (columns - 1)) / columns, (ratio * (height - GAP_PX * (rows - 1))) / rows);
    if (cellWidth > best.cell + 0.5) best = { columns, cell: cellWidth };
  }
  return best;
}

// Sizes an items grid to its box: the column count that makes the items biggest, every
// item the same size, the whole grid centred.
function fitItems(grid, n, width, height) {
  const { columns, cell } = bestColumns(n, width, height);
  const size = Math.max(24, Math.min(360, Math.floor(cell)));
  grid.style.setProperty("--columns", String(columns));
  grid.style.gridTemplateColumns = `repeat(${columns}, ${size}px)`;
  grid.style.gridAutoRows = `${size}px`;
}

// A table scaled (font size, so padding too) until it fits its box, never above 1.15x.
function fitTable(wrap, width, height) {
  const table = wrap.firstElementChild;
  table.style.fontSize = "16px";
  const natural = { width: table.offsetWidth, height: table.offsetHeight };
  if (!natural.width || !natural.height) return;
  const scale = Math.min(1.15, width / natural.width, height / natural.height);
  table.style.fontSize = `${Math.max(7, Math.floor(16 * scale * 10) / 10)}px`;
}

// One image scaled to fit its box, keeping its aspect ratio.
function fitImage(image, width, height, natural = image) {
  const w = natural.naturalWidth || image.naturalWidth || 1;
  const h = natural.naturalHeight || image.naturalHeight || 1;
  const scale = Math.min(3, width / w, height / h);
  image.style.width = `${Math.floor(w * scale)}px`;
  image.style.height = `${Math.floor(h * scale)}px`;
}

// Calls ``fit(width, height)`` with the content box of ``box`` now and on every resize.
export function fitTo(box, fit) {
  const run = () => {
    const style = getComputedStyle(box);
    const width = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = box.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    if (width > 0 && height > 0) fit(width, height);
  };
  const observer = new ResizeObserver(run);
  observer.observe(box);
  run();
  return () => observer.disconnect();
}

// Builds the stimulus for a grid: returns {root, marked(), setOnPick(callback), fit(w, h),
// markTruth(truth)}. A mark is a display position, or a click {x, y} in image pixels on
// a composite image. ``picks`` (the mode's): "many" toggles marks, "one" reports each
// pick, "none" shows the items as they are (no buttons, nothing to click).
export function buildGrid(trial, images, picks) {
  const selectable = picks === "one" || picks === "many";
  const multi = picks === "many";
  const marks = new Set();
  const cells = [];
  let onPick = () => {};
  const toggle = (position, node) => {
    if (!multi) return onPick(position);
    if (marks.has(position)) marks.delete(position);
    else marks.add(position);
    node.setAttribute("aria-pressed", String(marks.has(position)));
  };
  let root;
  if (trial.display === "images") {
    root = element("div", { class: "items-grid" });
    for (const { position, src } of trial.images) {
      const cell = selectable
        ? element("button", { type: "button", class: "item", "aria-label": `Item ${position + 1}` })
        : element("div", { class: "item static", role: "img", "aria-label": `Item ${position + 1}` });
      if (multi) cell.setAttribute("aria-pressed", "false");
      cell.append(images.get(src).cloneNode());
      if (selectable) cell.addEventListener("click", () => toggle(position, cell));
      cells.push(cell);
      root.append(cell);
    }
    const fit = (width, height) => fitItems(root, trial.images.length, width, height);
    return {
      root,
      fit,
      marked: () => [...marks].sort((a, b) => a - b),
      setOnPick: (f) => (onPick = f),
      markTruth: (truth) => truth.positions.forEach((p) => cells[p] && cells[p].classList.add("is-odd")),
    };
  }
  if (trial.display === "rows") {
    const lead = selectable ? [element("th", { text: "" })] : [];
    const head = element("tr", {}, [...lead, ...trial.rows.columns.map((c) => element("th", { text: c }))]);
    const body = element("tbody");
    trial.rows.rows.forEach((row, position) => {
      const values = row.map((cell) => element("td", { text: cell }));
      let tr;
      if (selectable) {
        const button = element("button", { type: "button", class: "secondary pick", text: multi ? "Mark" : "Pick", "aria-label": `Row ${position + 1}` });
        tr = element("tr", {}, [element("td", { class: "pick-cell" }, [button]), ...values]);
        if (multi) tr.setAttribute("aria-pressed", "false");
        button.addEventListener("click", () => {
          toggle(position, tr);
          if (multi) button.setAttribute("aria-pressed", tr.getAttribute("aria-pressed"));
        });
      } else {
        tr = element("tr", {}, values);
      }
      cells.push(tr);
      body.append(tr);
    });
    root = element("div", { class: "table-wrap" }, [element("table", { class: "stimulus-table" }, [element("thead", {}, [head]), body])]);
    return {
      root,
      fit: (width, height) => fitTable(root, width, height),
      marked: () => [...marks].sort((a, b) => a - b),
      setOnPick: (f) => (onPick = f),
      markTruth: (truth) => truth.positions.forEach((p) => cells[p] && cells[p].classList.add("is-odd")),
    };
  }
  const original = images.get(trial.composite.src);
  const image = original.cloneNode();
  root = element("div", { class: `plot-wrap${selectable ? " selectable" : ""}` }, [image]);
  const place = (node, x, y) => {
    node.style.left = `${(100 * x) / original.naturalWidth}%`;
    node.style.top = `${(100 * y) / original.naturalHeight}%`;
  };
  const clicks = [];
  const common = {
    root,
    fit: (width, height) => fitImage(image, width, height, original),
    setOnPick: (f) => (onPick = f),
    marked: () => clicks.map(({ x, y }) => ({ x, y })),
    markTruth: (truth) => {
      for (const { x, y } of truth.points || []) {
        const ring = element("span", { class: "plot-odd" });
        place(ring, x, y);
        root.append(ring);
      }
    },
  };
  if (!selectable) {
    image.alt = "Scatter plot of the data.";
    return common;
  }
  image.alt = "Scatter plot of the data. Click the points that do not fit, or use the arrow keys to move the cross and Enter to mark.";
  image.tabIndex = 0;
  const pick = (x, y) => {
    if (!multi) return onPick({ x, y });
    const near = clicks.findIndex((c) => Math.hypot(c.x - x, c.y - y) < 12);
    if (near >= 0) {
      clicks[near].mark.remove();
      clicks.splice(near, 1);
      return;
    }
    const mark = element("span", { class: "plot-mark" });
    place(mark, x, y);
    root.append(mark);
    clicks.push({ x, y, mark });
  };
  image.addEventListener("click", (event) => {
    const box = image.getBoundingClientRect();
    pick(((event.clientX - box.left) * image.naturalWidth) / box.width, ((event.clientY - box.top) * image.naturalHeight) / box.height);
  });
  // Keyboard: a cross moved with the arrow keys (Shift = fine steps), Enter/Space marks.
  const cursor = element("span", { class: "plot-cursor hidden" });
  root.append(cursor);
  let cx = image.naturalWidth / 2;
  let cy = image.naturalHeight / 2;
  image.addEventListener("focus", () => {
    cursor.classList.remove("hidden");
    place(cursor, cx, cy);
  });
  image.addEventListener("blur", () => cursor.classList.add("hidden"));
  image.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 2 : 12;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      event.preventDefault();
      cx = Math.min(image.naturalWidth, Math.max(0, cx + moves[event.key][0]));
      cy = Math.min(image.naturalHeight, Math.max(0, cy + moves[event.key][1]));
      place(cursor, cx, cy);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      pick(cx, cy);
    }
  });
  return common;
}

// Frames of a sequence: one image per frame (every encoding's sequences are images),
// shown one at a time in a box of fixed size, so nothing moves when the sequence ends.
export function buildFrames(trial, images) {
  const frame = element("div", { class: "frame", "aria-live": "off" });
  const originals = trial.images.map(({ src }) => images.get(src));
  const frames = originals.map((image) => image.cloneNode());
  let size = null;
  const fit = (width, height) => {
    size = { width, height };
    frames.forEach((image, k) => fitImage(image, width, height, originals[k]));
  };
  // The odd frames after a practice answer: shown side by side, outlined.
  const markTruth = (truth) => {
    const odd = truth.positions.map((p) => frames[p]).filter(Boolean);
    const row = element("div", { class: "items-grid" });
    for (const image of odd) row.append(element("div", { class: "item static is-odd" }, [image]));
    frame.replaceChildren(row);
    if (size) fitItems(row, odd.length, size.width, size.height);
  };
  return { root: frame, frames, fit, markTruth };
}

// The study's participant texts (templates/participant/run.html), by key.
let texts = null;
export function text(key) {
  if (texts === null) {
    const node = document.getElementById("runner-texts");
    texts = node ? JSON.parse(node.textContent) : {};
  }
  return texts[key] ?? key;
}

// Practice feedback: right or wrong, the same display again with the odd item(s)
// outlined, and why they are odd in plain words (the answer's reply brings ``odd``, the
// outliers' display positions or plot points, only for practice trials); then Next.
export async function showFeedback(screen, feedback, shown) {
  const { correct, message } = feedback;
  const parts = [element("p", { class: `feedback ${correct ? "correct" : "wrong"}`, role: "status", text: message })];
  let stopFitting = () => {};
  let slot = null;
  if (shown && feedback.odd) {
    shown.markTruth(feedback.odd);
    slot = element("div", { class: "feedback-display" }, [shown.root]);
    slot.inert = true; // shown to look at: nothing in it answers any more
    parts.push(slot);
  }
  if (feedback.why) parts.push(element("p", { class: "why", text: feedback.why }));
  const button = element("button", { type: "button", text: text("next_button") });
  parts.push(element("div", { class: "answer-bar" }, [button]));
  screen.replaceChildren(...parts);
  if (slot) stopFitting = fitTo(slot, shown.fit);
  button.focus({ preventScroll: true });
  await new Promise((resolve) => button.addEventListener("click", resolve, { once: true }));
  stopFitting();
}
