// The studio's mapping form: redraw the preview a moment after any change (the server
// caches renders, so going back to a mapping is instant), show the reason when the
// mapping cannot be drawn, and reload the page when the encoding, generator or mode
// changes (they change the list of axes).
"use strict";

(() => {
  const form = document.getElementById("mapping");
  const image = document.getElementById("preview");
  const problem = document.getElementById("preview-error");
  if (!form || !image) return;
  let timer = null;
  let shown = "";

  const redraw = async () => {
    const query = new URLSearchParams(new FormData(form)).toString();
    if (query === shown) return;
    shown = query;
    image.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`${form.dataset.preview}?${query}`, {
        credentials: "same-origin",
      });
      if (query !== shown) return; // a newer change is on its way
      if (!response.ok) {
        problem.textContent = await response.text();
        problem.hidden = false;
        return;
      }
      const url = URL.createObjectURL(await response.blob());
      const old = image.src;
      image.src = url;
      image.hidden = false;
      image.dataset.query = query;
      problem.hidden = true;
      if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    } catch (error) {
      problem.textContent = "The preview could not be fetched; check the connection.";
      problem.hidden = false;
    } finally {
      image.removeAttribute("aria-busy");
    }
  };

  form.addEventListener("change", (event) => {
    if (event.target.hasAttribute("data-reload")) {
      form.submit();
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(redraw, 300);
  });
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(redraw, 600);
  });
  if (!image.hidden) shown = new URLSearchParams(new FormData(form)).toString();
})();
