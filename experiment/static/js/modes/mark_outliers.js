// mark_outliers: every odd item is marked (click, or Tab + Enter), then Submit answers.
// Answer JSON (analysis/response_modes/mark_outliers.py): {"positions": [..]} or, on a
// composite image, {"clicks": [{"x": .., "y": ..}]}.

export const picks = "many";

export function mount(trial) {
  const submit = trial.view.querySelector('[data-action="submit"]');
  submit.addEventListener("click", () => {
    const marks = trial.marked();
    trial.finish(trial.display === "composite" ? { clicks: marks } : { positions: marks });
  });
}
