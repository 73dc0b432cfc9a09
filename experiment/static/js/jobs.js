// A job's page: poll its JSON every second while it is queued or running, move the
// progress bar, show the message, log and error; reload once it finishes (its result).
"use strict";

(() => {
  for (const box of document.querySelectorAll(".job[data-src]")) {
    if (["done", "failed"].includes(box.dataset.status)) continue;
    const show = (job) => {
      const status = box.querySelector(".job-status");
      status.textContent = job.status;
      status.className = `status job-status status-${job.status}`;
      box.querySelector(".job-message").textContent = job.message;
      const bar = box.querySelector(".job-bar");
      bar.value = job.progress;
      bar.textContent = `${Math.round(100 * job.progress)}%`;
      box.querySelector(".job-log pre").textContent = job.log;
      const error = box.querySelector(".job-error");
      error.textContent = job.error || "";
      error.hidden = !job.error;
    };
    const poll = async () => {
      try {
        const response = await fetch(box.dataset.src, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (response.ok) {
          const job = await response.json();
          show(job);
          if (job.finished) {
            window.location.reload();
            return;
          }
        }
      } catch (error) {
        // offline for a moment: try again
      }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 500);
  }
})();
