// Researcher dashboard: move focus to a form's error summary, and refresh a study's
// progress figures from progress.json every 10 s while the page is visible.
"use strict";

(() => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  const section = document.getElementById("progress");
  if (!section || !section.dataset.src) return;

  const accuracyText = (value) =>
    value && value.answered
      ? `${Math.round(100 * value.proportion)}% (${value.correct}/${value.answered})`
      : "—";

  const show = (data) => {
    for (const cell of section.querySelectorAll("dd[data-key]")) {
      const value = data[cell.dataset.key];
      const first = cell.firstChild;
      const text = typeof value === "object" ? accuracyText(value) : String(value);
      if (first && first.nodeType === Node.TEXT_NODE) first.textContent = text + " ";
      else cell.prepend(text + " ");
    }
    for (const cell of section.querySelectorAll("td[data-encoding]")) {
      cell.textContent = accuracyText(data.accuracy_by_encoding[cell.dataset.encoding]);
    }
    const stamp = document.getElementById("progress-updated");
    if (stamp) stamp.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  };

  const refresh = async () => {
    if (document.visibilityState !== "visible") return;
    try {
      const response = await fetch(section.dataset.src, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) show(await response.json());
    } catch (error) {
      // offline for a moment: keep the last figures and try again next time
    }
  };
  setInterval(refresh, 10000);
})();
