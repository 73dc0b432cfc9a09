// Consent page: while the browser window is smaller than the study's minimum, say so
// and hold the Continue button back; it comes back as soon as the window is enlarged.
"use strict";

(() => {
  const note = document.querySelector(".screen-too-small");
  const form = document.querySelector(".consent-form");
  if (!note || !form) return;
  const need = { width: Number(note.dataset.minWidth), height: Number(note.dataset.minHeight) };
  const button = form.querySelector("button[type=submit]");

  const check = () => {
    const width = window.innerWidth;
    const height = window.innerHeight;
    const small = width < need.width || height < need.height;
    note.hidden = !small;
    button.disabled = small;
    if (small) {
      note.textContent = note.dataset.text
        .replace("{have}", `${width} × ${height}`)
        .replace("{need}", `${need.width} × ${need.height}`);
    }
  };
  window.addEventListener("resize", check);
  check();
})();
