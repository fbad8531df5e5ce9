r"""The level-dot model of Eq. (1): its parameters, its scales and what ``simulate`` needs from a model.

A level :math:`|0\rangle` (energy ``eps0``) is coupled by a random vector
:math:`W` to an N-state dot :math:`H` drawn from a Wigner-Dyson ensemble (GUE,
GOE, GSE), or to a Poisson bath, or to user-given bath levels.  One realisation
is summarised by the eigenvalues :math:`e_a` of the full Hamiltonian and the
weights :math:`w_a = |\langle a|0\rangle|^2`, from which
:math:`P(t) = |\sum_a w_a e^{-i e_a t}|^2` (Eq. 2) follows with
:func:`fgrkern.survival_probability`.

The conventions (N counts states, GSE doublets, normalisation of H and W,
:math:`\gamma = gN`, :math:`\tau = t/t_H`) are stated once, in
docs/theory/conventions.md.  The samplers live in :mod:`fgrkern._samplers`
(derivation: docs/theory/sampler.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal, Protocol, Union, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from . import _samplers
from ._validation import (
    as_float_array,
    as_generator,
    check_allocation,
    check_positive_int,
    check_real_scalar,
    parse_method,
    parse_symmetry,
)

__all__ = ["BATH_NAMES", "LevelDotModel", "SampleableModel", "Spectrum", "SpectrumLike", "heisenberg_time",
           "parse_bath_name"]

#: What ``rng`` arguments accept (numpy's global state is never used).
RNGLike = Union[None, int, np.random.SeedSequence, np.random.Generator]

_BETA = {"GOE": 1, "GUE": 2, "GSE": 4}
#: Bath names accepted by ``LevelDotModel(bath=...)`` and ``fgrkern simulate --bath``, with their aliases.
BATH_NAMES: dict[str, str] = {"wigner-dyson": "wigner-dyson", "wd": "wigner-dyson", "poisson": "poisson"}


def parse_bath_name(name: str) -> str | None:
    """The canonical bath name ("wigner-dyson" or "poisson") for ``name`` (case-insensitive), else None.

    Raises TypeError for a ``name`` that is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"bath name must be a string, got {type(name).__name__}")
    return BATH_NAMES.get(name.strip().lower())


def heisenberg_time(n: int, lam: float = 1.0) -> float:
    r"""Heisenberg time :math:`t_H = 2\pi\nu = 2N/\lambda` (hbar = 1) of N dot states.

    ``n`` >= 1 dot states, ``lam`` > 0 (units of energy; :math:`t_H` in the
    inverse unit).  ValueError/TypeError naming the argument otherwise, and
    ValueError when :math:`t_H` overflows float64 (``lam`` below ~2N/1.8e308).
    """
    n = check_positive_int(n, "n", maximum=2**53)
    lam = check_real_scalar(lam, "lam")
    if not lam > 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    return _finite(2.0 * n / lam, f"t_H = 2N/lam (N = {n}, lam = {lam!r})")


def _finite(value: float, what: str) -> float:
    """``value``, or ValueError naming ``what`` when it overflowed to inf."""
    if math.isinf(value):
        raise ValueError(f"{what} overflows float64")
    return value


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
        time-averaged :math:`P(t)`; its mean is :math:`P_{res}` (Eq. 4).

        The inverse participation ratio of :math:`|0\rangle` in the
        eigenbasis, the quantity whose ensemble mean :func:`fgrkern.simulate`
        reports as ``p_res``.

        Returns
        -------
        ndarray, shape (size,)
            :math:`\sum_a w_a^2` of each row of ``weights`` (dimensionless,
            in (0, 1] for weights summing to 1).
        """
        return np.einsum("ij,ij->i", self.weights, self.weights)


class SpectrumLike(Protocol):
    """What ``simulate`` reads from a sample: two (size, M) arrays (see :class:`Spectrum`)."""

    @property
    def energies(self) -> np.ndarray: ...

    @property
    def weights(self) -> np.ndarray: ...


@runtime_checkable
class SampleableModel(Protocol):
    """What :func:`fgrkern.simulate` needs from a model; :class:`LevelDotModel` is one.

    A user model plugs in by providing these four methods (no base class):
    ``sample`` draws realisations as a deterministic function of ``rng``,
    ``t_from_tau`` maps rescaled times to the model's time unit, ``with_g``
    returns the same model with another coupling (used by ``simulate(g=...)``)
    and ``to_dict`` describes it as JSON (recorded in results and checkpoint
    fingerprints; include "g" and "gamma" to have them in the result).
    """

    # method: the Literal, not str, so that LevelDotModel (which accepts only
    # these two) is a SampleableModel for type checkers; a model taking any str
    # is one too (parameters are contravariant).
    def sample(self, size: int, rng: RNGLike = None,
               method: Literal["secular", "dense"] = "secular") -> SpectrumLike:
        r"""Draw ``size`` independent realisations as eigenvalues and weights.

        :func:`fgrkern.simulate` calls it once per chunk as
        ``sample(size, rng=numpy.random.default_rng(seed_sequence),
        method=method)``, possibly from several threads at once on the same
        object (the default executor) or on a pickled copy in another
        process: it must not depend on shared mutable state.

        Parameters
        ----------
        size : int
            Number of realisations (>= 1 from ``simulate``).
        rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
            Source of randomness; ``simulate`` passes a fresh Generator per
            chunk.  The output must be a deterministic function of it (that
            is what makes a seeded run reproducible and resumable).  With
            ``simulate(g=[...])`` the same stream is replayed for every
            coupling (on ``with_g(g)``), so the draws should consume it
            identically for every g to give common random numbers.
        method : str
            The ``method`` given to ``simulate``, already normalised to
            ``"secular"`` or ``"dense"``; a model with a single sampler may
            ignore it.

        Returns
        -------
        SpectrumLike
            Any object with attributes ``energies`` and ``weights``: real,
            finite arrays of shape (size, M) (M eigenpairs per
            realisation).  ``energies`` are the eigenvalues
            :math:`e_a` in the inverse unit of :meth:`t_from_tau`'s times
            (hbar = 1); ``weights`` are :math:`w_a = |\langle a|0\rangle|^2
            \ge 0`, each row summing to 1 (they are not renormalised, so
            :math:`P(0) = (\sum_a w_a)^2`).  :class:`Spectrum` is one.

        Raises
        ------
        Exception
            Any exception aborts the run: ``simulate`` raises
            :class:`~fgrkern.SimulationError` with it chained (as it does
            when the rows returned are not ``size`` or the arrays are
            rejected by :func:`fgrkern.survival_probability`).
        """
        ...

    def t_from_tau(self, tau: ArrayLike) -> np.ndarray | float:
        r"""Times :math:`t` in the model's unit from rescaled times :math:`\tau = t/t_H`.

        Called once by :func:`fgrkern.simulate`, before any sampling, to
        turn its ``tau`` grid into the times at which :math:`P(t)` is
        evaluated and stored as ``result.t``.

        Parameters
        ----------
        tau : array_like, shape (T,)
            ``simulate`` passes a one-dimensional float64 array of
            non-negative, strictly increasing values.

        Returns
        -------
        ndarray or float
            :math:`t = \tau\, t_H`, array_like of the same shape as ``tau``
            (``simulate`` raises ``ValueError`` otherwise), in the inverse
            unit of the energies returned by :meth:`sample` (hbar = 1).

        Raises
        ------
        ValueError, TypeError
            For ``tau`` it cannot convert; ``simulate`` passes such errors
            on to its caller unchanged.
        """
        ...

    def with_g(self, g: float) -> "SampleableModel":
        """The same model with coupling ``g`` (all other parameters unchanged).

        ``simulate(g=...)`` calls it for every coupling given: to sample
        that coupling (re-seeded with the chunk's random stream) and to
        record its ``to_dict()`` in the result.

        Parameters
        ----------
        g : float
            Coupling, a finite Python float >= 0 (as checked by
            ``simulate``).

        Returns
        -------
        SampleableModel
            A model following this protocol; the original is not modified.
        """
        ...

    def to_dict(self) -> dict[str, object]:
        """JSON description of the model, recorded in results and checkpoints.

        ``simulate`` stores it in ``result.metadata["model"]`` and in the
        checkpoint fingerprint (a checkpoint is reused only for an equal
        description), and reads ``"g"`` and ``"gamma"`` from it (from
        ``with_g(g).to_dict()`` for each coupling given with ``g=``) for
        ``result.g`` and ``result.gamma`` (NaN when absent or not numbers).

        Returns
        -------
        dict
            JSON-serialisable, with string keys.  :meth:`SimulationResult.load
            <fgrkern.SimulationResult.load>` and checkpoint resumption accept
            it only with a string ``"class"`` and, if present, an ``"n"``
            that is a positive integer.  It should determine the
            realisations: two models with equal descriptions must sample the
            same distribution.
        """
        ...


@dataclass(frozen=True, eq=False, repr=False)
class LevelDotModel:
    r"""Random-matrix model of a level coupled to an N-state dot, Eq. (1).

    Parameters
    ----------
    n : int
        Number of dot *states* N (even for GSE: N/2 Kramers doublets), at
        most :math:`2^{53}` (a float exactly).
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

    Attributes besides the parameters: ``bath`` is normalised to
    "wigner-dyson", "poisson" or "given" (levels in ``bath_levels``, sorted
    and read-only); ``n_levels``, ``n_eigen`` and the derived scales are
    properties.  Instances are immutable: :meth:`with_g` gives a copy with
    another coupling.

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


    n: int
    g: float
    symmetry: str = "GUE"
    lam: float = 1.0
    eps0: float = 0.0
    bath: Union[str, ArrayLike] = "wigner-dyson"
    bath_levels: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # gamma = g N, t_H and the theory's scales are floats: N must be one exactly
        n = check_positive_int(self.n, "n", maximum=2**53)
        g = check_real_scalar(self.g, "g")
        if g < 0:
            raise ValueError(f"g must be >= 0, got {g}")
        symmetry = parse_symmetry(self.symmetry)
        lam = check_real_scalar(self.lam, "lam")
        if not lam > 0:
            raise ValueError(f"lam must be > 0, got {lam}")
        eps0 = check_real_scalar(self.eps0, "eps0")
        if symmetry == "GSE" and n % 2:
            raise ValueError(f"n counts states and must be even for GSE (Kramers doublets), got {n}")
        bath, levels = _parse_bath(self.bath, n, symmetry)
        for name, value in (("n", n), ("g", g), ("symmetry", symmetry), ("lam", lam), ("eps0", eps0),
                            ("bath", bath), ("bath_levels", levels)):
            object.__setattr__(self, name, value)  # frozen: normalised values are set once, here

    # -- structure and derived scales ----------------------------------------
    @property
    def beta(self) -> int:
        """Dyson index: 1 (GOE), 2 (GUE), 4 (GSE)."""
        return _BETA[self.symmetry]

    @property
    def n_levels(self) -> int:
        """Distinct dot levels L: N, or N/2 Kramers doublets for GSE."""
        return self.n // 2 if self.symmetry == "GSE" else self.n

    @property
    def n_eigen(self) -> int:
        """Eigenpairs per realisation M = L + 1."""
        return self.n_levels + 1

    @property
    def gamma(self) -> float:
        r""":math:`\gamma = gN` (the paper's coupling parameter); ValueError if it overflows float64."""
        return _finite(self.g * self.n, f"gamma = g N (g = {self.g!r}, N = {self.n})")

    @property
    def nu(self) -> float:
        r"""Density of states at the band centre, :math:`\nu = N/(\pi\lambda)` (states per energy).

        ValueError if it overflows float64 (a tiny ``lam``).
        """
        return _finite(self.n / (math.pi * self.lam), f"nu = N/(pi lam) (N = {self.n}, lam = {self.lam!r})")

    @property
    def heisenberg_time(self) -> float:
        r"""Heisenberg time :math:`t_H = 2\pi\nu = 2N/\lambda` (hbar = 1); ValueError if it overflows float64."""
        return heisenberg_time(self.n, self.lam)

    @property
    def golden_rule_rate(self) -> float:
        r"""Golden Rule rate :math:`\Gamma = 2\pi\nu\langle|W|^2\rangle = 2g\lambda`, Eq. (3); ValueError if it overflows."""
        return _finite(2.0 * self.g * self.lam, f"the Golden Rule rate 2 g lam (g = {self.g!r}, lam = {self.lam!r})")

    def dense_dimension(self) -> int:
        """Dimension of the dense Hamiltonian: N + 1 (N + 2 for GSE)."""
        return self.n + (2 if self.symmetry == "GSE" else 1)

    # -- the SampleableModel protocol -----------------------------------------
    def t_from_tau(self, tau: ArrayLike) -> np.ndarray | float:
        r"""Physical time :math:`t = \tau t_H` from rescaled time :math:`\tau` (broadcasts).

        Parameters
        ----------
        tau : array_like
            Rescaled times :math:`\tau = t/t_H`, finite real numbers of any
            shape (negative values are converted too).

        Returns
        -------
        ndarray or float
            :math:`t = \tau\, t_H` with :math:`t_H = 2N/\lambda`, in the
            inverse of ``lam``'s energy unit (hbar = 1): a float for a
            scalar ``tau``, else a float64 array of its shape.

        Raises
        ------
        ValueError
            NaN or infinite ``tau``; :math:`t_H` overflowing float64 (a
            tiny ``lam``); or a product :math:`\tau t_H` beyond the double
            range.
        TypeError
            ``tau`` not real numbers (complex, boolean, string, object).
        """
        arr = as_float_array(tau, "tau")
        t_h = self.heisenberg_time  # ValueError if t_H = 2N/lam overflows (a tiny lam)
        with np.errstate(over="ignore"):
            out = arr * t_h
        if not np.all(np.isfinite(out)):
            big = float(np.max(np.abs(arr)))
            raise ValueError(f"tau = {big!r} gives a time t = tau * t_H (t_H = {t_h!r}) beyond the double range")
        return float(out) if out.ndim == 0 else out

    def with_g(self, g: float) -> "LevelDotModel":
        r"""The same model (same class and other parameters) with coupling ``g``.

        Given bath levels are carried over as they are.

        Parameters
        ----------
        g : float
            Dimensionless coupling, :math:`\langle|W_k|^2\rangle = g\lambda^2/N`;
            finite and >= 0 (:math:`\gamma = gN`).

        Returns
        -------
        LevelDotModel
            A new instance of ``type(self)``, validated like the constructor.

        Raises
        ------
        ValueError
            ``g`` negative or not finite.
        TypeError
            ``g`` not a real number.
        """
        return dataclasses.replace(self, g=g, bath=self.bath if self.bath_levels is None else self.bath_levels)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable description: class, parameters and derived scales (exact floats).

        Never raises: a derived scale that overflows float64 (which its
        property refuses) is recorded as inf.
        """
        return {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "n": self.n, "g": self.g, "symmetry": self.symmetry, "lam": self.lam, "eps0": self.eps0,
            "bath": self.bath,
            "bath_levels": None if self.bath_levels is None else [float(v) for v in self.bath_levels],
            "gamma": self.g * self.n, "nu": self.n / (math.pi * self.lam), "heisenberg_time": 2.0 * self.n / self.lam,
        }

    # eq=False above: the generated __eq__ would compare bath_levels arrays element-wise (ambiguous truth
    # value), so equality and hash are by value here, levels compared as exact float64 bytes.
    def _key(self) -> tuple[object, ...]:
        levels = None if self.bath_levels is None else self.bath_levels.tobytes()
        return (type(self), self.n, self.g, self.symmetry, self.lam, self.eps0, self.bath, levels)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LevelDotModel):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __setstate__(self, state: dict[str, object]) -> None:
        # pickle and copy restore __dict__ without __post_init__: keep the given levels read-only.
        levels = state.get("bath_levels")
        if levels is not None:
            levels = np.array(levels, dtype=np.float64)
            levels.flags.writeable = False
            state = {**state, "bath_levels": levels}
        self.__dict__.update(state)

    def __repr__(self) -> str:
        bath = self.bath if self.bath_levels is None else f"<{self.n_levels} given levels>"
        return (
            f"{type(self).__name__}(n={self.n}, g={self.g!r}, symmetry={self.symmetry!r}, "
            f"lam={self.lam!r}, eps0={self.eps0!r}, bath={bath!r})"
        )

    def sample(self, size: int, rng: RNGLike = None,
               method: Literal["secular", "dense"] = "secular") -> Spectrum:
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
        method = parse_method(method)
        self.check_sample_memory(size, method)
        gen = as_generator(rng)
        energies = np.empty((size, self.n_eigen))
        weights = np.empty((size, self.n_eigen))
        if method == "secular":
            _samplers.sample_secular(self, gen, [self.g], energies[None], weights[None])
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                _samplers.sample_dense(self, gen, energies, weights)
            if not (np.all(np.isfinite(energies)) and np.all(np.isfinite(weights))):
                raise ValueError(_samplers.range_message(self, self.g))
        return Spectrum(energies, weights)

    def sample_couplings(self, gs: ArrayLike, size: int, rng: RNGLike = None,
                         method: Literal["secular", "dense"] = "secular") -> list[Spectrum]:
        """``size`` realisations for every coupling in ``gs`` on common random numbers.

        Every g sees the random numbers of one ``sample(size, rng)`` call: the
        same dot spectra and the same Gaussian coupling vectors, only the
        scale sqrt(g) of the couplings differs.  Entry k equals, bitwise,
        ``self.with_g(gs[k]).sample(size, rng, method)`` for a fresh ``rng``
        with the same state.  With ``method="secular"`` the dot is drawn and
        diagonalised once per realisation for all g.  A Generator is advanced
        as by one ``sample`` call.

        Parameters
        ----------
        gs : array_like, shape (G,)
            Couplings g >= 0.
        size : int
            Realisations (>= 0).
        rng, method
            As for :meth:`sample`.

        Returns
        -------
        list of Spectrum
            One per coupling, in the order of ``gs``; their arrays are views
            into one (G, size, M) array each for energies and weights (the
            solver writes every coupling there directly).
        """
        g_arr = np.atleast_1d(as_float_array(gs, "gs"))
        if g_arr.ndim != 1 or np.any(g_arr < 0):
            raise ValueError(f"gs must be a one-dimensional array of couplings >= 0, got {g_arr!r}")
        if g_arr.size == 0:
            raise ValueError("gs must contain at least one coupling")
        g_list = [float(v) for v in g_arr]
        size = check_positive_int(size, "size", minimum=0)
        method = parse_method(method)
        gen = as_generator(rng)
        models = [self.with_g(v) for v in g_list]
        # every coupling's output is held at once: count them together
        self.check_sample_memory(size, method, couplings=len(models))
        if method != "secular" or type(self).sample is not LevelDotModel.sample:
            # Re-seed per g (a subclass may sample differently: its own sample() decides).
            state = gen.bit_generator.state
            out = []
            for mk in models:
                gen.bit_generator.state = state
                spec = mk.sample(size, rng=gen, method=method)
                out.append(Spectrum(spec.energies, spec.weights))
            return out
        energies = np.empty((len(models), size, self.n_eigen))
        weights = np.empty((len(models), size, self.n_eigen))
        _samplers.sample_secular(self, gen, g_list, energies, weights)
        return [Spectrum(e, w) for e, w in zip(energies, weights)]

    def check_sample_memory(self, size: int, method: str, *, couplings: int = 1) -> None:
        """Raise ValueError naming the request if ``sample(size, method=method)`` would not fit in memory.

        Counted for ``size = 0`` too: one realisation needs O(N) (secular) or
        O(N^2) (dense) scratch whatever the output size.  ``couplings``: the
        number of couplings whose outputs are held at once
        (:meth:`sample_couplings`).

        :meth:`sample` and :meth:`sample_couplings` call it before
        allocating; :func:`fgrkern.simulate` calls it with ``size = 0`` before
        starting a run.

        Parameters
        ----------
        size : int
            Number of realisations requested (>= 0; not validated here).
        method : str
            ``"dense"`` counts the dense (N+1)- or (N+2)-dimensional matrix
            and its LAPACK work; any other value is counted as
            ``"secular"``.
        couplings : int, optional
            Number of couplings whose (size, M) outputs are held at once
            (default 1).

        Returns
        -------
        None

        Raises
        ------
        ValueError
            The estimated peak memory exceeds the memory available now (free
            memory and container limits); the exception is also a
            :class:`MemoryError`, and its message names the request.
        """
        M, L = self.n_eigen, self.n_levels
        out_bytes = 2.0 * 8.0 * size * M * couplings
        for_gs = f" for {couplings} couplings gs" if couplings > 1 else ""
        if method == "dense":
            D = self.dense_dimension()
            elem = 8 if self.symmetry == "GOE" else 16
            # matrix, eigenvectors, noise and numpy temporaries of the construction
            check_allocation(out_bytes + 6.0 * elem * D * D, f"sample(size={size}, method='dense') with n = {self.n} (a {D} x {D} matrix){for_gs}")
        else:
            # per block: dot diagonal, off-diagonal, coupling draws, z^2 and
            # the dot spectra's copy of the originals (6 L doubles a row, 8 with
            # numpy temporaries); the solver's scratch (< 9 L + 4096 words) and
            # output per call (<= 2 * _CHUNK_ELEMENTS doubles)
            check_allocation(out_bytes + 8.0 * (8.0 * _samplers.secular_block(self, size) * L + 9.0 * L + 4096.0
                                                + 2.0 * _samplers._CHUNK_ELEMENTS),
                             f"sample(size={size}) with n = {self.n} (M = {M} eigenpairs per realisation){for_gs}")

    def check_phases(self, t: np.ndarray, g_max: float) -> None:
        r"""ValueError naming tau when the phases e t at times ``t`` overflow for couplings up to ``g_max``.

        The eigenvalues are bounded by Weyl's inequality,
        :math:`|e| \le \max(|\epsilon_0|, \max_\mu |E_\mu|) + \|W\|`, with margins for
        finite-N fluctuations.

        :func:`fgrkern.simulate` calls it before sampling, so that a time grid
        whose phases :math:`e_a t` would leave the double range is refused
        before any work.

        Parameters
        ----------
        t : ndarray
            Times in the model's unit (:math:`t = \tau t_H`, e.g. from
            :meth:`t_from_tau`), any shape; an empty array passes.
        g_max : float
            Largest coupling g that will be sampled (>= 0); it sets the
            bound on :math:`\|W\| \sim \sqrt{g}\lambda`.

        Returns
        -------
        None

        Raises
        ------
        ValueError
            The bound on :math:`|e| \max|t|` overflows float64; the message
            names the offending :math:`\tau = \max|t|/t_H`.
        """
        if t.size == 0:
            return
        e_max = _samplers.energy_bound(self, g_max)
        t_max = float(np.max(np.abs(t)))
        with np.errstate(over="ignore"):
            phase = e_max * t_max
        if not np.isfinite(phase):
            raise ValueError(f"tau = {t_max / self.heisenberg_time!r}: the phases e t reach "
                             f"~{e_max:.3g} x {t_max:.3g} (eigenvalue bound x time), beyond "
                             "the double range; use smaller tau")


def _parse_bath(bath: Union[str, ArrayLike], n: int, symmetry: str) -> tuple[str, np.ndarray | None]:
    """(bath kind, sorted read-only levels or None) of a ``bath`` argument."""
    if isinstance(bath, str):
        kind = parse_bath_name(bath)
        if kind is None:
            raise ValueError(f"unknown bath {bath!r}: expected 'wigner-dyson', 'poisson' or an array of levels")
        return kind, None
    n_levels = n // 2 if symmetry == "GSE" else n
    levels = as_float_array(bath, "bath")
    if levels.ndim != 1 or levels.shape[0] != n_levels:
        what = f"n/2 = {n_levels} doublet energies" if symmetry == "GSE" else f"n = {n} levels"
        raise ValueError(f"bath array must be one-dimensional with {what}, got shape {levels.shape}")
    levels = np.sort(levels)
    levels.setflags(write=False)
    return "given", levels
