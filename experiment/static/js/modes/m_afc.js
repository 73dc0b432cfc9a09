// m_afc: one click (or Enter on one item) chooses the outlier and answers at once.
// Answer JSON (analysis/response_modes/m_afc.py): {"position": 3} or {"click": {"x": .., "y": ..}}.

export const picks = "one";

export function mount(trial) {
  trial.onPick((mark) => trial.finish(trial.display === "composite" ? { click: mark } : { position: mark }));
}
