"""Private: the two exact samplers of the level-dot model (secular arrowhead and dense LAPACK).

Functions of a :class:`fgrkern.model.LevelDotModel` ``m`` (its public
parameters only) writing realisations into caller-owned arrays.  The secular
path works in units of energy u (a power of two near the largest of lam,
|eps0| and the given bath levels): scaling by u is exact, the weights are
scale invariant, and lam**2 or g lam^2 are never formed in absolute units,
where they over- or underflow long before the energies do.  u depends on g
only when g (lam/u)^2 > 2^800 (g > ~1e240); the dot is then still drawn in
the g = 0 unit and rescaled by a power of two, so several couplings share
bitwise the same draws.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from . import _sampler
from ._parallel import check_stop

if TYPE_CHECKING:
    from .model import LevelDotModel

# Random numbers per block of rows of the secular path: bounds the scratch memory
# (O(L) per realisation) without affecting the result, which is drawn row by row.
# Blocks of >= 16 rows (up to L ~ 16000) fill the vector lanes of the dot spectra.
_CHUNK_ELEMENTS = 1 << 18
# Pole terms (rows * L^2) per compiled call of the secular solver (~10 L^2
# operations a row) and, per slice of the dot spectra, QL/QR steps
# (_sampler._STERF_SLICE): between calls the stop flag (Ctrl-C, a failed
# worker) is checked, which bounds the reaction time to ~0.1 s whatever N is.
_CHUNK_WORK = 1 << 24


def range_message(m: "LevelDotModel", g: float) -> str:
    return (f"an eigenvalue exceeds the floating-point range (lam = {m.lam!r}, eps0 = {m.eps0!r}, "
            f"g = {g!r}: max(2 lam, |eps0|, sqrt(g) lam) must stay below ~1e308)")


def secular_unit(m: "LevelDotModel", g_max: float) -> float:
    """Energy unit of the secular path (a power of two)."""
    big = max(m.lam, abs(m.eps0))
    if m.bath_levels is not None and m.bath_levels.size:
        big = max(big, float(np.max(np.abs(m.bath_levels))))
    exp = math.frexp(big)[1] - 1  # 2^exp <= big < 2^(exp + 1)
    # then the coupling energy sqrt(g) lam sets the scale; ~log2 of the
    # coupling factor g (lam/u)^2 from exponents (the factor may over- or underflow)
    c_exp = math.frexp(g_max)[1] + 2 * (math.frexp(m.lam)[1] - exp) - m.n_levels.bit_length()
    if c_exp > 800:
        exp += (c_exp + 1) // 2
    elif g_max > 0.0 and c_exp < -1000:
        # The factor would underflow (couplings ~1e-150 of the largest energy
        # or less) and the couplings vanish, also where they mix levels closer
        # than |W| (a level on a pole next to one at 1e200).  A smaller unit
        # keeps it normal while the energies stay below 2^1000 units; the
        # solver then keeps or refuses (ValueError) a relevant coupling.
        exp -= min((-1000 - c_exp + 1) // 2, 1000, exp + 1022)
    if exp > 1023:
        raise ValueError(range_message(m, g_max))
    return math.ldexp(1.0, exp)


def energy_bound(m: "LevelDotModel", g: float) -> float:
    """A generous bound on |e| of any realisation (for overflow checks before sampling).

    Weyl: |e| <= max(|eps0|, max |dot level|) + ||W||; the dot levels stay
    within ~2 lam (semicircle; Poisson and given levels exactly within
    theirs) and ||W||^2 ~ g lam^2; factors of 4 and 10 leave room for
    finite-N fluctuations.
    """
    dot = 4.0 * m.lam
    if m.bath_levels is not None and m.bath_levels.size:
        dot = float(np.max(np.abs(m.bath_levels)))
    with np.errstate(over="ignore"):
        return max(abs(m.eps0), dot) + 10.0 * math.sqrt(g) * m.lam


def secular_block(m: "LevelDotModel", size: int) -> int:
    """Rows per block of the secular path (>= 1; does not change the numbers)."""
    return max(1, min(size, _CHUNK_ELEMENTS // m.n_levels))


def _solve_rows(m: "LevelDotModel") -> int:
    """Rows per compiled call of the secular solver (>= 1; does not change the numbers).

    One call passes over the poles once per gap for all couplings (~30 L^2
    operations a row) and iterates each coupling's roots on the gap's window.
    """
    L = m.n_levels
    return max(1, _CHUNK_WORK // (L * L))


# The coupling of the level to dot level mu in the dot eigenbasis:
# |W'_mu|^2 ~ (g lam^2 / L) chi^2_beta / beta = (g lam^2 / L) Gamma(beta/2) / (beta/2).
def _coupling_scale(m: "LevelDotModel", g: float, unit: float) -> float:
    """Factor turning Gamma(beta/2) draws into |W'_mu|^2 / unit^2 for coupling strength g."""
    r = m.lam / unit
    return g * r * r / m.n_levels / (0.5 * m.beta)


def _secular_draws(m: "LevelDotModel", gen: np.random.Generator, rows: int,
                   unit: float) -> tuple[np.ndarray, np.ndarray]:
    """All the randomness of ``rows`` secular realisations, which does not depend on g.

    Returns the sorted dot levels (poles) in units of ``unit``, shape (rows,
    L) (or (1, L) for a user-given bath), and the unit coupling draws
    Gamma(beta/2), shape (rows, L), to be multiplied by ``_coupling_scale``.
    Draws go realisation by realisation (dot, then couplings), so a sample
    does not depend on chunking and a shorter sample is a prefix of a longer one.
    """
    L, beta = m.n_levels, m.beta
    half_beta = 0.5 * beta
    draws = np.empty((rows, L))
    if m.bath == "wigner-dyson":
        # Dumitriu-Edelman: diagonal N(0, 1), off-diagonal b_k^2 ~ Gamma(beta k / 2),
        # k = L-1 .. 1; eigenvalue density ~ |Delta|^beta exp(-sum x^2 / 2), which is
        # the dense ensemble's after scaling by 2 lam / sqrt(2 beta L) (radius 2 lam).
        shapes = 0.5 * beta * np.arange(L - 1, 0, -1, dtype=np.float64)
        scale = 2.0 * (m.lam / unit) / math.sqrt(2.0 * beta * L)
        diag = np.empty((rows, L))
        off = np.zeros((rows, L))
        for i in range(rows):
            gen.standard_normal(out=diag[i])
            if L > 1:
                gen.standard_gamma(shapes, out=off[i, : L - 1])
            gen.standard_gamma(half_beta, out=draws[i])
        diag *= scale
        np.sqrt(off, out=off)
        off *= scale
        _sampler.tridiag_eigvals_rows(diag, off, check=check_stop)
        return diag, draws
    if m.bath == "poisson":
        poles = np.empty((rows, L))
        for i in range(rows):
            _draw_poisson_levels(m, gen, poles[i], unit)
            gen.standard_gamma(half_beta, out=draws[i])
        poles.sort(axis=1)
        return poles, draws
    assert m.bath_levels is not None
    for i in range(rows):
        gen.standard_gamma(half_beta, out=draws[i])
    return np.ascontiguousarray(m.bath_levels[None, :] / unit), draws


def sample_secular(m: "LevelDotModel", gen: np.random.Generator, gs: Sequence[float],
                   energies: np.ndarray, weights: np.ndarray) -> None:
    """Secular realisations for several couplings g on common random numbers.

    The dot spectrum (the expensive dsterf part) and the coupling draws are
    made once per realisation; only the arrowhead equation is solved per g.
    ``energies[k]``, ``weights[k]`` (C-contiguous arrays of shape (G, size,
    M)) receive the rows for ``gs[k]``; for each g the numbers equal those of
    a model with that g alone and the same rng.
    """
    size = energies.shape[1]
    chunk = secular_block(m, size)
    per_call = _solve_rows(m)
    # The dot is drawn in the g-independent unit u0; a coupling so large that
    # it needs a larger unit u (g > ~1e240) gets the poles rescaled by the
    # power of two u0/u (exact).  Couplings of one unit share the solver's
    # pass over the poles (z2 = factor * draws); each g sees the same numbers
    # whichever other couplings share the call.
    u0 = secular_unit(m, 0.0)
    units = [secular_unit(m, float(g)) for g in gs]
    groups: dict[float, list[int]] = {}
    for k, u in enumerate(units):
        groups.setdefault(u, []).append(k)
    M = m.n_levels + 1
    for start in range(0, size, chunk):
        check_stop()  # a caller (simulate) that no longer wants the result stops us here
        stop = min(size, start + chunk)
        poles0, draws = _secular_draws(m, gen, stop - start, u0)
        for u, ks in groups.items():
            poles = poles0 if u == u0 else poles0 * (u0 / u)
            factors = np.array([_coupling_scale(m, float(gs[k]), u) for k in ks])
            # the solver's output for all couplings of the group: rows per call
            # also bounded by _CHUNK_ELEMENTS (G x rows x M doubles, twice)
            step = max(1, min(per_call, _CHUNK_ELEMENTS // (len(ks) * M)))
            # a group of consecutive couplings is solved straight into the
            # outputs (a copy through fresh G x rows x M blocks cost page
            # faults on every chunk: 4 per coupling and realisation)
            direct = ks == list(range(ks[0], ks[0] + len(ks)))
            for r0 in range(start, stop, step):
                check_stop()
                r1 = min(stop, r0 + step)
                if direct:
                    e = energies[ks[0]:ks[0] + len(ks), r0:r1]
                    w = weights[ks[0]:ks[0] + len(ks), r0:r1]
                else:
                    e = np.empty((len(ks), r1 - r0, M))
                    w = np.empty((len(ks), r1 - r0, M))
                _sampler.arrowhead_rows_scaled(poles if poles.shape[0] == 1 else poles[r0 - start:r1 - start],
                                               draws[r0 - start:r1 - start], factors, m.eps0 / u, e, w)
                if u != 1.0:
                    with np.errstate(over="ignore"):
                        e *= u
                for i, k in enumerate(ks):
                    if not np.all(np.isfinite(e[i])):
                        raise ValueError(range_message(m, float(gs[k])))
                    if not direct:
                        energies[k, r0:r1] = e[i]
                        weights[k, r0:r1] = w[i]


def _draw_poisson_levels(m: "LevelDotModel", gen: np.random.Generator, out: np.ndarray, unit: float = 1.0) -> None:
    # x = 2B - 1 with B ~ Beta(3/2, 3/2) has density (2/pi) sqrt(1 - x^2): the semicircle.
    lam = m.lam / unit
    out[:] = gen.beta(1.5, 1.5, size=out.shape[0])
    out *= 4.0 * lam
    out -= 2.0 * lam


def _dense_dot(m: "LevelDotModel", gen: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The dot block(s) of one realisation (in the order the random numbers are drawn)."""
    L, kind = m.n_levels, m.symmetry
    s = m.lam / math.sqrt(m.n)  # <|H_kl|^2> = lam^2 / N per state pair
    if m.bath != "wigner-dyson":
        if m.bath == "poisson":
            lev = np.empty(L)
            _draw_poisson_levels(m, gen, lev)
        else:
            lev = np.array(m.bath_levels)
        if kind == "GSE":
            return (np.diag(lev).astype(np.complex128), np.zeros((L, L), np.complex128))
        return (np.diag(lev).astype(np.complex128 if kind == "GUE" else np.float64),)
    if kind == "GOE":
        a = gen.standard_normal((L, L))
        return (s * (a + a.T) / math.sqrt(2.0),)  # off-diagonal var s^2, diagonal 2 s^2
    p = _complex_normal(gen, (L, L))
    if kind == "GUE":
        return (s * (p + p.conj().T) / math.sqrt(2.0),)  # off-diagonal E|H|^2 = s^2, diagonal s^2
    q = _complex_normal(gen, (L, L))
    # quaternion blocks [[a, b], [-b*, a*]]: a hermitian, b antisymmetric, E|a|^2 = E|b|^2 = s^2
    return (s * (p + p.conj().T) / math.sqrt(2.0), s * (q - q.T) / math.sqrt(2.0))


def _dense_matrix(m: "LevelDotModel", gen: np.random.Generator, sw: float) -> np.ndarray:
    """The full Hamiltonian of one realisation (level first), coupling std ``sw`` per state pair."""
    kind, L, D = m.symmetry, m.n_levels, m.dense_dimension()
    blocks = _dense_dot(m, gen)
    if kind == "GOE":
        h = np.empty((D, D))
        w = sw * gen.standard_normal(L)
        h[0, 0] = m.eps0
        h[0, 1:] = w
        h[1:, 0] = w
        h[1:, 1:] = blocks[0]
        return h
    if kind == "GUE":
        h = np.empty((D, D), np.complex128)
        w = sw * _complex_normal(gen, L)
        h[0, 0] = m.eps0
        h[0, 1:] = w.conj()
        h[1:, 0] = w
        h[1:, 1:] = blocks[0]
        return h
    wa = sw * _complex_normal(gen, L)
    wb = sw * _complex_normal(gen, L)
    a = np.empty((L + 1, L + 1), np.complex128)
    b = np.zeros((L + 1, L + 1), np.complex128)
    a[0, 0] = m.eps0
    a[0, 1:] = wa
    a[1:, 0] = wa.conj()
    a[1:, 1:] = blocks[0]
    b[0, 1:] = wb
    b[1:, 0] = -wb
    b[1:, 1:] = blocks[1]
    return np.block([[a, b], [-b.conj(), a.conj()]])


def sample_dense(m: "LevelDotModel", gen: np.random.Generator, energies: np.ndarray, weights: np.ndarray) -> None:
    """Dense realisations of ``m`` (LAPACK eigenpairs of the full matrix) into the given rows."""
    kind = m.symmetry
    sw = math.sqrt(m.g / m.n) * m.lam  # <|W_k|^2> = g lam^2 / N per state pair
    D = m.dense_dimension()
    ev = np.empty(D)
    w0 = np.empty(D)
    for r in range(energies.shape[0]):
        check_stop()
        h = _dense_matrix(m, gen, sw)
        if kind == "GOE":
            _sampler.syevr_first_row(h, ev, w0)
        else:
            _sampler.heevr_first_row(h, ev, w0)
        if kind == "GSE":
            # Kramers pairs are exactly degenerate: merge each pair; the summed
            # weight is the basis-independent projector element.
            energies[r] = 0.5 * (ev[0::2] + ev[1::2])
            weights[r] = w0[0::2] + w0[1::2]
        else:
            energies[r] = ev
            weights[r] = w0
        # LAPACK normalises the eigenvectors only to ~1e-13 (the first row
        # sums to 1 within that, so P(0) - 1 would show at that level):
        # the weights of a row sum to 1 exactly up to rounding.
        weights[r] /= weights[r].sum()


def _complex_normal(gen: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
    """Complex Gaussian with E|z|^2 = 1 (real and imaginary parts of variance 1/2)."""
    x = gen.standard_normal(np.append(shape, 2))
    return x.view(np.complex128).reshape(shape) / math.sqrt(2.0)
