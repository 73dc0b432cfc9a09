// rate_1_7 (test-only plugin): a number key 1..7 or a button answers {"rating": n}.

export const picks = "none";

export function mount(trial) {
  trial.onKey((event) => {
    if (event.key in trial.keys) trial.finish({ rating: Number(event.key) });
  });
  for (const button of trial.view.querySelectorAll("[data-rating]")) {
    button.addEventListener("click", () => trial.finish({ rating: Number(button.dataset.rating) }));
  }
}
