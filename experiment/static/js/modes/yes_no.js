// yes_no: "is there an outlier?" answered with the two buttons or the mode's keys
// (trial.keys.yes / trial.keys.no, default Y / N). Answer JSON: {"present": true}.

export const picks = "none";

export function mount(trial) {
  const { yes, no } = trial.keys;
  trial.onKey((event) => {
    const key = event.key.toLowerCase();
    if (key === yes || key === no) trial.finish({ present: key === yes });
  });
  for (const [action, present] of [["yes", true], ["no", false]]) {
    trial.view.querySelector(`[data-action="${action}"]`).addEventListener("click", () => trial.finish({ present }));
  }
}
