// keypress: during a sequence, the mode's key (trial.keys.press, default Space) or the
// button marks the frame on screen; the answer goes when the sequence ends.
// Answer JSON (analysis/response_modes/keypress.py): {"presses": [{"frame": 4, "t_ms": 2210.5}]}.

export const picks = "none";

export function mount(trial) {
  const presses = [];
  const press = () => {
    if (trial.frame() >= 0 && !trial.sequenceEnded()) presses.push({ frame: trial.frame(), t_ms: trial.now() });
  };
  trial.onKey((event) => {
    if (event.key !== trial.keys.press || trial.sequenceEnded()) return;
    event.preventDefault();
    press();
  });
  trial.view.querySelector('[data-action="press"]').addEventListener("click", press);
  trial.onSequenceEnd(() => trial.finish({ presses }));
}
