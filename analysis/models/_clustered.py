"""A = Lambda'Z'WZ Lambda + I solved through its nesting: block-diagonal part + dense Schur.

In a study, the participant x encoding effects are nested in participants, and a
participant's slopes ``(1 + encoding | participant)`` belong to that participant alone:
ordered by participant, those columns of A form small diagonal blocks (one per
participant, 1 + number of encodings wide), and only the crossed terms (datasets and
dataset x encoding) couple them. So A = [[D, C], [C', E]] with D block diagonal, and

    log det A = sum_j log det D_j + log det S,   S = E - C' D^-1 C   (r x r, dense),

solves go through S, and the entries of A^-1 the Laplace gradient needs (each row's own
columns) are D_j^-1 + G_j S^-1 G_j' within a block (G = D^-1 C), -G S^-1 between a block
and the dense part, and S^-1. The cost per factorisation is O(n_blocks s^2 r + r^3)
instead of O(q^3): with 1,000 participants x 25 datasets (q = 5,125) the dense part has
r = 125 columns. The symbolic structure (which row adds to which entry) is built once.

:func:`cluster_layout` picks the root: the term whose levels, with every term nested in
them, cover the most columns in blocks of at most :data:`MAX_BLOCK`; without one, all
of A is the dense part (r = q), the plain dense Cholesky.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from analysis.models.random_terms import TermMatrix

#: Widest diagonal block the layout accepts (columns per root level).
MAX_BLOCK = 64


@dataclass(frozen=True)
class Layout:
    """Where each global column of A goes: block (id, position) or dense index."""

    n_blocks: int
    size: int
    block_of: np.ndarray  # per column: block id, -1 for dense columns
    position: np.ndarray  # per column: position in its block, or its dense index
    n_dense: int


def _nested_in(inner: TermMatrix, outer: TermMatrix) -> bool:
    """Every level of ``inner`` lies within one level of ``outer``."""
    pairs = pd.DataFrame({"i": inner.codes, "o": outer.codes}).drop_duplicates()
    return not pairs["i"].duplicated().any()


def cluster_layout(matrices: list[TermMatrix], offsets: np.ndarray) -> Layout:
    """The block / dense split of A's columns (module docstring)."""
    q = int(offsets[-1])
    best: tuple[int, int, list[int]] | None = None
    for r, root in enumerate(matrices):
        members = [k for k, tm in enumerate(matrices) if k == r or _nested_in(tm, root)]
        # Columns per root level: each member's levels within it, times its width.
        width = np.zeros(root.n_levels, dtype=int)
        for k in members:
            tm = matrices[k]
            levels = pd.DataFrame({"g": tm.codes, "o": root.codes}).drop_duplicates()
            width += np.bincount(levels["o"], minlength=root.n_levels) * tm.p
        covered = int(width.sum())
        if width.max() <= MAX_BLOCK and (best is None or covered > best[0]):
            best = (covered, r, members)
    block_of = np.full(q, -1)
    position = np.zeros(q, dtype=int)
    if best is None:
        return Layout(0, 0, block_of, np.arange(q), q)
    _, r, members = best
    root = matrices[r]
    fill = np.zeros(root.n_levels, dtype=int)
    for k in members:
        tm = matrices[k]
        level_root = pd.Series(root.codes).groupby(tm.codes).first().to_numpy()
        for level in range(tm.n_levels):
            j = level_root[level]
            columns = offsets[k] + level * tm.p + np.arange(tm.p)
            block_of[columns] = j
            position[columns] = fill[j] + np.arange(tm.p)
            fill[j] += tm.p
    dense = block_of < 0
    position[dense] = np.arange(int(dense.sum()))
    return Layout(root.n_levels, int(fill.max()), block_of, position, int(dense.sum()))


class ClusteredStructure:
    """The symbolic part, once per fit: where each row's column pairs add into D, C, E
    and where B = A^-1's entries at each row's columns are read from."""

    def __init__(self, layout: Layout, cols: np.ndarray) -> None:
        self.layout = layout
        nb, s, r = layout.n_blocks, layout.size, layout.n_dense
        self.sizes = (nb * s * s, nb * s * r, r * r)
        starts = np.cumsum([0, *self.sizes])
        block, pos = layout.block_of[cols], layout.position[cols]  # (n, w)
        a_block, b_block = block[:, :, None], block[:, None, :]
        a_pos, b_pos = pos[:, :, None], pos[:, None, :]
        in_d = (a_block >= 0) & (b_block >= 0)
        in_c = (a_block >= 0) & (b_block < 0)
        in_e = (a_block < 0) & (b_block < 0)
        shape = np.broadcast_shapes(a_block.shape, b_block.shape)
        target = np.full(shape, -1)
        target = np.where(in_d, starts[0] + (a_block * s + a_pos) * s + b_pos, target)
        target = np.where(in_c, starts[1] + (a_block * s + a_pos) * r + b_pos, target)
        target = np.where(in_e, starts[2] + a_pos * r + b_pos, target)
        # Reading B: (dense, block) pairs read the transposed off-diagonal entry.
        in_ct = (a_block < 0) & (b_block >= 0)
        read = np.where(in_ct, starts[1] + (b_block * s + b_pos) * r + a_pos, target)
        # Each unordered pair once: the upper triangle (and diagonal) of D and E, which
        # system() mirrors; C's (block, dense) pairs are one-sided already.
        w = cols.shape[1]
        upper = np.triu(np.ones((w, w), dtype=bool))[None, :, :]
        keep = (target >= 0) & (in_c | upper)
        self.rows, self.first, self.second = np.nonzero(keep)
        self.target = target[keep]
        self.read = read.reshape(shape)
        self.total = int(starts[-1])
        # Short blocks are padded: their unused positions keep A's identity (x stays 0).
        blocks = layout.block_of >= 0
        self.block_columns = np.flatnonzero(blocks)
        self.block_index = (layout.block_of[blocks], layout.position[blocks])
        self.dense_columns = np.flatnonzero(~blocks)
        self.dense_index = layout.position[~blocks]

    def pair_products(self, values: np.ndarray) -> np.ndarray:
        """values[i, a] values[i, b] for every kept pair (fixed while theta is)."""
        return values[self.rows, self.first] * values[self.rows, self.second]

    def system(self, weights: np.ndarray, products: np.ndarray) -> ClusteredSystem:
        """A = Lambda'Z'WZ Lambda + I from the row weights W, factorised."""
        values = np.bincount(self.target, weights[self.rows] * products, self.total)
        nb, s, r = self.layout.n_blocks, self.layout.size, self.layout.n_dense
        d_size, c_size, _ = self.sizes
        D = values[:d_size].reshape(nb, s, s)
        D = D + np.swapaxes(D, 1, 2) - D * np.eye(s)[None, :, :] + np.eye(s)[None, :, :]
        C = values[d_size : d_size + c_size].reshape(nb, s, r)
        E = values[d_size + c_size :].reshape(r, r)
        E = E + E.T - np.diag(np.diag(E)) + np.eye(r)
        return ClusteredSystem(self, D, C, E)


class ClusteredSystem:
    """A factorised: batched D_j^-1, G = D^-1 C, and the Cholesky factor of S."""

    def __init__(self, structure: ClusteredStructure, D: np.ndarray, C: np.ndarray, E):
        self.structure = structure
        nb, s = D.shape[:2]
        self.q = structure.layout.block_of.size
        self.logdet = 0.0
        if nb:
            chol = np.linalg.cholesky(D)
            self.logdet += 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
            eye = np.broadcast_to(np.eye(s), D.shape)
            L_inv = np.linalg.solve(chol, eye)
            self.D_inv = np.swapaxes(L_inv, 1, 2) @ L_inv
            self.G = self.D_inv @ C
            S = E - C.reshape(nb * s, -1).T @ self.G.reshape(nb * s, -1)
        else:
            self.D_inv = np.zeros((0, s, s))
            self.G = np.zeros((0, s, E.shape[0]))
            S = E
        self.rest = S.shape[0]
        if self.rest:
            self.S = linalg.cho_factor(S, lower=True)
            self.logdet += 2.0 * float(np.sum(np.log(np.diag(self.S[0]))))

    def _split(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        st = self.structure
        nb, s = st.layout.n_blocks, st.layout.size
        b1 = np.zeros((nb, s, *b.shape[1:]))
        b1[st.block_index] = b[st.block_columns]
        b2 = np.zeros((self.rest, *b.shape[1:]))
        b2[st.dense_index] = b[st.dense_columns]
        return b1, b2

    def _join(self, x1: np.ndarray, x2: np.ndarray, like: np.ndarray) -> np.ndarray:
        st = self.structure
        out = np.empty_like(like, dtype=float)
        out[st.block_columns] = x1[st.block_index]
        out[st.dense_columns] = x2[st.dense_index]
        return out

    def solve(self, b: np.ndarray) -> np.ndarray:
        """A^-1 b for a vector or a (q, k) matrix."""
        b1, b2 = self._split(b)
        vector = b.ndim == 1
        if vector:
            b1, b2 = b1[..., None], b2[:, None]
        x2 = b2
        if self.rest:
            rhs = b2 - np.einsum("jsr,jsk->rk", self.G, b1)
            x2 = linalg.cho_solve(self.S, rhs)
        x1 = self.D_inv @ b1 - self.G @ x2 if self.G.shape[0] else b1
        if vector:
            x1, x2 = x1[..., 0], x2[:, 0]
        return self._join(x1, x2, b)

    def row_blocks(self) -> np.ndarray:
        """B[cols_i, cols_i] for every row i (n x w x w), B = A^-1."""
        st = self.structure
        S_inv = linalg.cho_solve(self.S, np.eye(self.rest)) if self.rest else np.zeros((0, 0))
        GS = self.G @ S_inv  # (nb, s, r)
        B11 = self.D_inv + GS @ np.swapaxes(self.G, 1, 2)
        buffer = np.concatenate([B11.ravel(), -GS.ravel(), S_inv.ravel()])
        return buffer[st.read]
