r"""The level-dot model of Eq. (1) and its exact samplers.

A level :math:`|0\rangle` (energy ``eps0``) is coupled by a random vector
:math:`W` to an N-state dot :math:`H` drawn from a Wigner-Dyson ensemble (GUE,
GOE, GSE), or to a Poisson bath, or to user-given bath levels.  One realisation
is summarised by the eigenvalues :math:`e_a` of the full Hamiltonian and the
weights :math:`w_a = |\langle a|0\rangle|^2`, from which
:math:`P(t) = |\sum_a w_a e^{-i e_a t}|^2` (Eq. 2) follows with
:func:`fgrkern.survival_probability`.

Conventions (shared by the whole package)
-----------------------------------------
* ``n`` (N) counts the dot's *states*.  For GSE, N is even: N/2 Kramers
  doublets, and the level :math:`|0\rangle` is a doublet too; the initial state is
  :math:`|0,\uparrow\rangle` and weights are summed over each Kramers pair, so a
  realisation has M = N/2 + 1 (eigenvalue, weight) pairs instead of N + 1.
* :math:`\langle|H_{kl}|^2\rangle = \lambda^2/N` (per matrix element between
  states), so the dot spectrum is a semicircle of radius :math:`2\lambda` with
  density of states :math:`\nu = N/(\pi\lambda)` at the band centre.
* :math:`\langle|W_k|^2\rangle = g\lambda^2/N`, so
  :math:`\langle\sum_k|W_k|^2\rangle = g\lambda^2` (quaternion norm for GSE);
  :math:`\gamma = gN`, Golden Rule rate :math:`\Gamma = 2g\lambda` (Eq. 3), FGR
  decay :math:`e^{-4\gamma\tau}` with :math:`\tau = t/t_H`,
  :math:`t_H = 2\pi\nu = 2N/\lambda`.
* W is complex (GUE), real (GOE) or quaternion (GSE); a Poisson or user-given
  bath keeps the coupling statistics of the chosen class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from . import _sampler
from ._parallel import check_stop
from ._validation import (
    as_float_array,
    as_generator,
    check_allocation,
    check_positive_int,
    check_real_scalar,
    parse_symmetry,
)

__all__ = ["LevelDotModel", "Spectrum"]

_BETA = {"GOE": 1, "GUE": 2, "GSE": 4}
_BATHS = {"wigner-dyson": "wigner-dyson", "wd": "wigner-dyson", "poisson": "poisson"}
_METHODS = ("secular", "dense")
# Random numbers per block of rows of the secular path: bounds the scratch memory
# (O(L) per realisation) without affecting the result, which is drawn row by row.
_CHUNK_ELEMENTS = 1 << 18
# Pole terms (rows * L^2) per block: a block is one compiled call (dsterf, then
# the secular solver, ~10 L^2 operations per row) without a signal check, so
# this bounds the Ctrl-C latency to ~0.1 s whatever N is (down to one row).
# Blocks of >= 8 rows up to L ~ 1400 let the dot spectra run in interleaved lanes.
_CHUNK_WORK = 1 << 24


@dataclass(frozen=True)
class Spectrum:
    r"""Eigenpairs of ``size`` realisations of the level-dot Hamiltonian.

    Attributes
    ----------
    energies : ndarray, shape (size, M)
        Eigenvalues :math:`e_a` (units of :math:`\lambda`'s energy), ascending in
        each row.  M = N + 1, or N/2 + 1 Kramers doublets for GSE.
    weights : ndarray, shape (size, M)
        :math:`w_a = |\langle a|0\rangle|^2` (summed over the Kramers pair for
        GSE); every row sums to 1.
    """

    energies: np.ndarray
    weights: np.ndarray

    @property
    def size(self) -> int:
        """Number of realisations (rows)."""
        return int(self.energies.shape[0])

    def ipr(self) -> np.ndarray:
        r"""Per realisation :math:`\sum_a w_a^2 = \lim_{t\to\infty}` of the
        time-averaged :math:`P(t)`; its mean is :math:`P_{res}` (Eq. 4)."""
        return np.einsum("ij,ij->i", self.weights, self.weights)


class LevelDotModel:
    r"""Random-matrix model of a level coupled to an N-state dot, Eq. (1).

    Parameters
    ----------
    n : int
        Number of dot *states* N (even for GSE: N/2 Kramers doublets).
    g : float
        Dimensionless coupling, :math:`\langle|W_k|^2\rangle = g\lambda^2/N`
        (>= 0); :math:`\gamma = gN`.
    symmetry : {"GUE", "GOE", "GSE"} or {"U", "O", "S"}
        Wigner-Dyson class of the dot and of the coupling (case-insensitive).
    lam : float
        Energy scale :math:`\lambda > 0`: the dot's semicircle has radius
        :math:`2\lambda`.
    eps0 : float
        Energy of the level :math:`|0\rangle` (any finite value, also outside
        the band).
    bath : "wigner-dyson", "poisson" or array_like
        ``"wigner-dyson"``: Gaussian ensemble of ``symmetry``.  ``"poisson"``:
        i.i.d. levels from the same semicircle (same :math:`\nu`, no level
        correlations).  An array: fixed bath levels (e.g. a many-body spectrum),
        one per distinct level: N values, or N/2 doublet energies for GSE.  The
        couplings stay random with the statistics of ``symmetry``.  For a
        given bath, ``nu``, ``gamma`` and ``heisenberg_time`` are still the
        nominal values defined by ``n`` and ``lam``.

    Notes
    -----
    ``sample(method="secular")`` uses the invariance of the Gaussian ensembles:
    in the dot eigenbasis the Hamiltonian is an arrowhead matrix whose coupling
    vector is a fresh Gaussian vector independent of the dot spectrum, and the
    spectrum itself is that of the Dumitriu-Edelman tridiagonal
    :math:`\beta`-Hermite matrix.  The secular equation is solved exactly
    (offsets from the nearest pole and weights to relative accuracy), O(N^2)
    time and O(N) memory per realisation.  ``method="dense"`` diagonalises
    the full (N+1)- or (N+2)-dimensional matrix with LAPACK (O(N^3)): the
    ground truth the secular path is tested against.
    """

    def __init__(
        self,
        n: int,
        g: float,
        symmetry: str = "GUE",
        lam: float = 1.0,
        eps0: float = 0.0,
        bath: str | Any = "wigner-dyson",
    ) -> None:
        n = check_positive_int(n, "n")
        g = check_real_scalar(g, "g")
        if g < 0:
            raise ValueError(f"g must be >= 0, got {g}")
        symmetry = parse_symmetry(symmetry)
        lam = check_real_scalar(lam, "lam")
        if not lam > 0:
            raise ValueError(f"lam must be > 0, got {lam}")
        eps0 = check_real_scalar(eps0, "eps0")
        if symmetry == "GSE" and n % 2:
            raise ValueError(f"n counts states and must be even for GSE (Kramers doublets), got {n}")
        n_levels = n // 2 if symmetry == "GSE" else n
        levels = None
        if isinstance(bath, str):
            key = bath.strip().lower()
            if key not in _BATHS:
                raise ValueError(
                    f"unknown bath {bath!r}: expected 'wigner-dyson', 'poisson' or an array of levels"
                )
            bath_kind = _BATHS[key]
        else:
            levels = as_float_array(bath, "bath")
            if levels.ndim != 1 or levels.shape[0] != n_levels:
                what = f"n/2 = {n_levels} doublet energies" if symmetry == "GSE" else f"n = {n} levels"
                raise ValueError(f"bath array must be one-dimensional with {what}, got shape {levels.shape}")
            levels = np.sort(levels)
            levels.setflags(write=False)
            bath_kind = "given"
        self._n = n
        self._g = g
        self._symmetry = symmetry
        self._lam = lam
        self._eps0 = eps0
        self._bath = bath_kind
        self._levels = levels
        self._n_levels = n_levels

    # -- parameters -----------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of dot states N."""
        return self._n

    @property
    def g(self) -> float:
        r"""Dimensionless coupling g, :math:`\langle|W_k|^2\rangle = g\lambda^2/N`."""
        return self._g

    @property
    def symmetry(self) -> str:
        """Symmetry class, one of "GUE", "GOE", "GSE"."""
        return self._symmetry

    @property
    def beta(self) -> int:
        """Dyson index: 1 (GOE), 2 (GUE), 4 (GSE)."""
        return _BETA[self._symmetry]

    @property
    def lam(self) -> float:
        r"""Energy scale :math:`\lambda` (semicircle radius :math:`2\lambda`)."""
        return self._lam

    @property
    def eps0(self) -> float:
        r"""Energy of the level :math:`|0\rangle`."""
        return self._eps0

    @property
    def bath(self) -> str:
        """ "wigner-dyson", "poisson" or "given" (levels in :attr:`bath_levels`)."""
        return self._bath

    @property
    def bath_levels(self) -> np.ndarray | None:
        """The user-given bath levels (sorted, read-only), else None."""
        return self._levels

    @property
    def n_levels(self) -> int:
        """Distinct dot levels L: N, or N/2 Kramers doublets for GSE."""
        return self._n_levels

    @property
    def n_eigen(self) -> int:
        """Eigenpairs per realisation M = L + 1."""
        return self._n_levels + 1

    # -- derived scales -------------------------------------------------------
    @property
    def gamma(self) -> float:
        r""":math:`\gamma = gN` (the paper's coupling parameter)."""
        return self._g * self._n

    @property
    def nu(self) -> float:
        r"""Density of states at the band centre, :math:`\nu = N/(\pi\lambda)` (states per energy)."""
        return self._n / (math.pi * self._lam)

    @property
    def heisenberg_time(self) -> float:
        r"""Heisenberg time :math:`t_H = 2\pi\nu = 2N/\lambda` (hbar = 1)."""
        return 2.0 * self._n / self._lam

    @property
    def golden_rule_rate(self) -> float:
        r"""Golden Rule rate :math:`\Gamma = 2\pi\nu\langle|W|^2\rangle = 2g\lambda`, Eq. (3)."""
        return 2.0 * self._g * self._lam

    def t_from_tau(self, tau: Any) -> np.ndarray | float:
        r"""Physical time :math:`t = \tau t_H` from rescaled time :math:`\tau` (broadcasts)."""
        arr = as_float_array(tau, "tau")
        t_h = self.heisenberg_time
        if math.isinf(t_h):
            raise ValueError(f"lam = {self._lam!r} is so small that t_H = 2N/lam overflows float64")
        with np.errstate(over="ignore"):
            out = arr * t_h
        if not np.all(np.isfinite(out)):
            big = float(np.max(np.abs(arr)))
            raise ValueError(f"tau = {big!r} gives a time t = tau * t_H (t_H = {t_h!r}) beyond the double range")
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        bath = self._bath if self._levels is None else f"<{self._n_levels} given levels>"
        return (
            f"LevelDotModel(n={self._n}, g={self._g!r}, symmetry={self._symmetry!r}, "
            f"lam={self._lam!r}, eps0={self._eps0!r}, bath={bath!r})"
        )

    # -- sampling -------------------------------------------------------------
    def dense_dimension(self) -> int:
        """Dimension of the dense Hamiltonian: N + 1 (N + 2 for GSE)."""
        return self._n + (2 if self._symmetry == "GSE" else 1)

    def sample(
        self,
        size: int,
        rng: Any = None,
        method: Literal["secular", "dense"] = "secular",
    ) -> Spectrum:
        r"""Draw ``size`` independent realisations.

        Parameters
        ----------
        size : int
            Number of realisations (>= 0).
        rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
            Source of randomness (numpy's global state is never used).  A
            Generator is used and advanced in place; the result is a
            deterministic function of its state.
        method : {"secular", "dense"}
            ``"secular"`` (default): exact O(N^2) arrowhead sampler.
            ``"dense"``: LAPACK diagonalisation of the full matrix, O(N^3).
            Both sample the same distribution.  The dense path resolves
            energies only to ~1e-16 of the largest one (LAPACK's absolute
            accuracy), so level structure finer than that (e.g. a level
            on a bath level next to bath levels 1e15 times larger) is lost
            there; the secular path keeps it down to ~1e-154 of the
            largest energy and raises ValueError beyond.

        Returns
        -------
        Spectrum
            ``energies`` and ``weights`` of shape (size, M), M = N + 1
            (N/2 + 1 for GSE).

        Raises
        ------
        ValueError
            Bad ``size``/``method``, or a request needing more memory than is
            available (free memory and container limits; checked before
            allocating, :class:`MemoryError` as well).
        """
        size = check_positive_int(size, "size", minimum=0)
        if not isinstance(method, str) or method.strip().lower() not in _METHODS:
            raise ValueError(f"unknown method {method!r}: expected 'secular' or 'dense'")
        method = method.strip().lower()
        M, L = self.n_eigen, self._n_levels
        out_bytes = 2.0 * 8.0 * size * M
        # Checked for size = 0 too (simulate's probe): one realisation needs O(N)
        # (secular) or O(N^2) (dense) scratch whatever the output size.
        if method == "dense":
            D = self.dense_dimension()
            elem = 8 if self._symmetry == "GOE" else 16
            # matrix, eigenvectors, noise and numpy temporaries of the construction
            check_allocation(out_bytes + 6.0 * elem * D * D, f"method='dense' with n = {self._n} (a {D} x {D} matrix)")
        else:
            # per block: dot diagonal, off-diagonal, coupling draws and z^2 (4 L
            # doubles a row), plus the solver's 5 L + 4 words of scratch
            check_allocation(out_bytes + 8.0 * (4.0 * self._secular_block(size) * L + 5.0 * L + 4.0),
                             f"sample(size={size}) with n = {self._n} (M = {M} eigenpairs per realisation)")
        gen = as_generator(rng)
        energies = np.empty((size, M))
        weights = np.empty((size, M))
        if method == "secular":
            self._sample_secular(gen, energies, weights)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                self._sample_dense(gen, energies, weights)
            if not (np.all(np.isfinite(energies)) and np.all(np.isfinite(weights))):
                raise ValueError(self._range_message(self._g))
        return Spectrum(energies, weights)

    # The secular path works in units of energy u (a power of two near the largest
    # of lam, |eps0| and the given bath levels): scaling by u is exact, the weights
    # are scale invariant, and lam**2 or g lam^2 are never formed in absolute
    # units, where they over- or underflow long before the energies do.  u depends
    # on g only when g (lam/u)^2 > 2^800 (g > ~1e240); the dot is then still drawn
    # in the g = 0 unit and rescaled by a power of two, so several couplings share
    # bitwise the same draws.
    def _secular_unit(self, g_max: float) -> float:
        """Energy unit of the secular path (a power of two)."""
        big = max(self._lam, abs(self._eps0))
        if self._levels is not None and self._levels.size:
            big = max(big, float(np.max(np.abs(self._levels))))
        exp = math.frexp(big)[1] - 1  # 2^exp <= big < 2^(exp + 1)
        # then the coupling energy sqrt(g) lam sets the scale; ~log2 of the
        # coupling factor g (lam/u)^2 from exponents (the factor may over- or underflow)
        c_exp = math.frexp(g_max)[1] + 2 * (math.frexp(self._lam)[1] - exp) - self._n_levels.bit_length()
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
            raise ValueError(self._range_message(g_max))
        return math.ldexp(1.0, exp)

    def _energy_bound(self, g: float) -> float:
        """A generous bound on |e| of any realisation (for overflow checks before sampling).

        Weyl: |e| <= max(|eps0|, max |dot level|) + ||W||; the dot levels
        stay within ~2 lam (semicircle; Poisson and given levels exactly
        within theirs) and ||W||^2 ~ g lam^2; factors of 4 and 10 leave room
        for finite-N fluctuations.
        """
        dot = 4.0 * self._lam
        if self._levels is not None and self._levels.size:
            dot = float(np.max(np.abs(self._levels)))
        with np.errstate(over="ignore"):
            return max(abs(self._eps0), dot) + 10.0 * math.sqrt(g) * self._lam

    def _range_message(self, g: float) -> str:
        return (f"an eigenvalue exceeds the floating-point range (lam = {self._lam!r}, eps0 = {self._eps0!r}, "
                f"g = {g!r}: max(2 lam, |eps0|, sqrt(g) lam) must stay below ~1e308)")

    # The coupling of the level to dot level mu in the dot eigenbasis:
    # |W'_mu|^2 ~ (g lam^2 / L) chi^2_beta / beta = (g lam^2 / L) Gamma(beta/2) / (beta/2).
    def _coupling_scale(self, g: float, unit: float) -> float:
        """Factor turning Gamma(beta/2) draws into |W'_mu|^2 / unit^2 for coupling strength g."""
        r = self._lam / unit
        return g * r * r / self._n_levels / (0.5 * self.beta)

    def _secular_draws(self, gen: np.random.Generator, rows: int, unit: float) -> tuple[np.ndarray, np.ndarray]:
        """All the randomness of ``rows`` secular realisations, which does not depend on g.

        Returns the sorted dot levels (poles) in units of ``unit``, shape (rows,
        L) (or (1, L) for a user-given bath), and the unit coupling draws
        Gamma(beta/2), shape (rows, L), to be multiplied by
        ``_coupling_scale(g, unit)``.  Draws go realisation by realisation
        (dot, then couplings), so a sample does not depend on chunking and a
        shorter sample is a prefix of a longer one.
        """
        L, beta = self._n_levels, self.beta
        half_beta = 0.5 * beta
        draws = np.empty((rows, L))
        if self._bath == "wigner-dyson":
            # Dumitriu-Edelman: diagonal N(0, 1), off-diagonal b_k^2 ~ Gamma(beta k / 2),
            # k = L-1 .. 1; eigenvalue density ~ |Delta|^beta exp(-sum x^2 / 2), which is
            # the dense ensemble's after scaling by 2 lam / sqrt(2 beta L) (radius 2 lam).
            shapes = 0.5 * beta * np.arange(L - 1, 0, -1, dtype=np.float64)
            scale = 2.0 * (self._lam / unit) / math.sqrt(2.0 * beta * L)
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
            _sampler.tridiag_eigvals_rows(diag, off)
            return diag, draws
        if self._bath == "poisson":
            poles = np.empty((rows, L))
            for i in range(rows):
                self._draw_poisson_levels(gen, poles[i], unit)
                gen.standard_gamma(half_beta, out=draws[i])
            poles.sort(axis=1)
            return poles, draws
        for i in range(rows):
            gen.standard_gamma(half_beta, out=draws[i])
        return np.ascontiguousarray(self._levels[None, :] / unit), draws

    def _secular_block(self, size: int) -> int:
        """Rows per compiled call of the secular path (>= 1; does not change the numbers)."""
        L = self._n_levels
        return max(1, min(size, _CHUNK_ELEMENTS // L, _CHUNK_WORK // (L * L)))

    def _sample_secular(self, gen: np.random.Generator, energies: np.ndarray, weights: np.ndarray) -> None:
        self._sample_secular_couplings(gen, [self._g], [(energies, weights)])

    def _sample_secular_couplings(self, gen: np.random.Generator, gs: Sequence[float],
                                  outs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Secular realisations for several couplings g on common random numbers.

        The dot spectrum (the expensive dsterf part) and the coupling draws are
        made once per realisation; only the arrowhead equation is solved per g.
        ``outs[k]`` receives (energies, weights) for ``gs[k]``; for each g the
        numbers equal those of ``sample`` on a model with that g and the same rng.
        """
        size = outs[0][0].shape[0]
        chunk = self._secular_block(size)
        # The dot is drawn in the g-independent unit u0; a coupling so large
        # that it needs a larger unit u (g > ~1e240) gets the poles rescaled
        # by the power of two u0/u (exact).  Each g thus sees the same
        # numbers whichever other couplings share the call: a run with
        # several g equals separate runs bitwise.
        u0 = self._secular_unit(0.0)
        units = [self._secular_unit(float(g)) for g in gs]
        factors = [self._coupling_scale(float(g), u) for g, u in zip(gs, units)]
        for start in range(0, size, chunk):
            check_stop()  # a caller (simulate) that no longer wants the result stops us here
            stop = min(size, start + chunk)
            poles0, draws = self._secular_draws(gen, stop - start, u0)
            for g, u, c, (energies, weights) in zip(gs, units, factors, outs):
                check_stop()
                poles = poles0 if u == u0 else poles0 * (u0 / u)
                e = energies[start:stop]
                _sampler.arrowhead_rows(poles, draws * c, self._eps0 / u, e, weights[start:stop])
                with np.errstate(over="ignore"):
                    e *= u
                if not np.all(np.isfinite(e)):
                    raise ValueError(self._range_message(float(g)))

    def _draw_poisson_levels(self, gen: np.random.Generator, out: np.ndarray, unit: float = 1.0) -> None:
        # x = 2B - 1 with B ~ Beta(3/2, 3/2) has density (2/pi) sqrt(1 - x^2): the semicircle.
        lam = self._lam / unit
        out[:] = gen.beta(1.5, 1.5, size=out.shape[0])
        out *= 4.0 * lam
        out -= 2.0 * lam

    def _dense_dot(self, gen: np.random.Generator, kind: str) -> tuple[np.ndarray, ...]:
        """The dot block(s) of one realisation (in the order the random numbers are drawn)."""
        L = self._n_levels
        s = self._lam / math.sqrt(self._n)  # <|H_kl|^2> = lam^2 / N per state pair
        if self._bath != "wigner-dyson":
            if self._bath == "poisson":
                lev = np.empty(L)
                self._draw_poisson_levels(gen, lev)
            else:
                lev = np.array(self._levels)
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

    def _sample_dense(self, gen: np.random.Generator, energies: np.ndarray, weights: np.ndarray) -> None:
        kind = self._symmetry
        L, n = self._n_levels, self._n
        sw = math.sqrt(self._g / n) * self._lam  # <|W_k|^2> = g lam^2 / N per state pair
        D = self.dense_dimension()
        ev = np.empty(D)
        w0 = np.empty(D)
        for r in range(energies.shape[0]):
            check_stop()
            blocks = self._dense_dot(gen, kind)
            if kind == "GOE":
                h = np.empty((D, D))
                w = sw * gen.standard_normal(L)
                h[0, 0] = self._eps0
                h[0, 1:] = w
                h[1:, 0] = w
                h[1:, 1:] = blocks[0]
                _sampler.syevr_first_row(h, ev, w0)
            elif kind == "GUE":
                h = np.empty((D, D), np.complex128)
                w = sw * _complex_normal(gen, L)
                h[0, 0] = self._eps0
                h[0, 1:] = w.conj()
                h[1:, 0] = w
                h[1:, 1:] = blocks[0]
                _sampler.heevr_first_row(h, ev, w0)
            else:
                wa = sw * _complex_normal(gen, L)
                wb = sw * _complex_normal(gen, L)
                a = np.empty((L + 1, L + 1), np.complex128)
                b = np.zeros((L + 1, L + 1), np.complex128)
                a[0, 0] = self._eps0
                a[0, 1:] = wa
                a[1:, 0] = wa.conj()
                a[1:, 1:] = blocks[0]
                b[0, 1:] = wb
                b[1:, 0] = -wb
                b[1:, 1:] = blocks[1]
                h = np.block([[a, b], [-b.conj(), a.conj()]])
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


def _complex_normal(gen: np.random.Generator, shape: Any) -> np.ndarray:
    """Complex Gaussian with E|z|^2 = 1 (real and imaginary parts of variance 1/2)."""
    x = gen.standard_normal(np.append(shape, 2))
    return x.view(np.complex128).reshape(shape) / math.sqrt(2.0)
