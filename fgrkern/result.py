"""The result of :func:`fgrkern.simulate`: estimates with errors, metadata, and its ``.npz`` file.

``SimulationResult.from_moments`` turns the reduced moments of a run into
means, standard errors and the P_res covariance; ``save``/``load`` write and
read it as a plain ``.npz`` archive through :mod:`fgrkern._files`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._files import read_npz, write_npz_atomic
from ._moments import Moments

__all__ = ["SimulationResult"]

RESULT_FORMAT = "fgrkern.SimulationResult"
FILE_VERSION = 1


@dataclass(eq=False)
class SimulationResult:
    r"""Monte Carlo estimate of the survival probability, Eq. (2).

    Attributes
    ----------
    tau : ndarray, shape (T,)
        Rescaled times :math:`\tau = t/t_H`.
    t : ndarray, shape (T,)
        Times :math:`t = \tau\, t_H` in units of 1/energy (hbar = 1),
        :math:`t_H = 2\pi\nu = 2N/\lambda`.
    mean : ndarray, shape (T,) or (G, T)
        Sample mean of :math:`P(t) = |\sum_a w_a e^{-i e_a t}|^2`.
    sem : ndarray, shape like ``mean``
        Standard error of ``mean`` (sample standard deviation / sqrt(n));
        NaN when ``n_samples == 1``.
    std : ndarray, shape like ``mean``
        Sample standard deviation of P across realisations (ddof = 1).
    n_samples : int
        Number of realisations averaged.
    p_res, p_res_sem : float or ndarray, shape (G,)
        Mean and standard error of the inverse participation ratio
        :math:`\sum_a w_a^2`, the per-realisation :math:`t\to\infty` limit
        of P; its mean is the residence probability (Eq. (4), Fig. 2d).
    p_res_cov : float or ndarray, shape (G, G)
        Covariance matrix of the ``p_res`` estimates.  With several
        couplings on common random numbers the off-diagonal entries are
        large and positive (see :func:`simulate`); fits across g must use it.
    g : float or ndarray, shape (G,)
        Coupling(s) :math:`g`; ``gamma = g * n``.  Scalar when a single
        coupling was simulated, in which case the G axis is absent above.
    gamma : float or ndarray, shape (G,)
    metadata : dict
        JSON-serialisable record: model parameters, sampling method, seed
        (entropy and spawn key), chunk size, fgrkern version.
    """

    tau: np.ndarray
    t: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    std: np.ndarray
    n_samples: int
    p_res: float | np.ndarray
    p_res_sem: float | np.ndarray
    p_res_cov: float | np.ndarray
    g: float | np.ndarray
    gamma: float | np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    _ARRAYS = ("tau", "t", "mean", "sem", "std", "p_res", "p_res_sem", "p_res_cov", "g", "gamma")

    @property
    def model_params(self) -> dict[str, Any]:
        """Parameters of the simulated model (``metadata["model"]``)."""
        return self.metadata["model"]

    @property
    def version(self) -> str:
        """fgrkern version that produced the result."""
        return self.metadata["fgrkern_version"]

    @property
    def extrapolation(self) -> dict[str, Any] | None:
        """Fit record of :func:`fgrkern.extrapolate` (sizes, order, chi2, dof, coefficients), or None.

        Kept in ``metadata["extrapolation"]`` (so ``save``/``load`` keep it);
        returned here with its arrays as numpy arrays.
        """
        from .extrapolate import fit_record  # lazy: extrapolate imports this module

        return fit_record(self)

    def __repr__(self) -> str:
        m = self.metadata.get("model", {})
        return (f"SimulationResult(n={m.get('n')}, symmetry={m.get('symmetry')!r}, g={self.g!r}, "
                f"n_samples={self.n_samples}, T={self.tau.shape[0]}, method={self.metadata.get('method')!r})")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to a plain ``.npz`` archive (atomically).

        Every attribute is stored as an array under its own name, and
        ``metadata`` as a JSON string, so that the file is readable without
        fgrkern::

            z = numpy.load(path)
            tau, mean, sem = z["tau"], z["mean"], z["sem"]
            meta = json.loads(z["metadata"][()])

        ``SimulationResult.load(path)`` restores an object equal to this one
        bit for bit.  The path is used as given (no ``.npz`` is appended).

        The write is atomic (temporary file in the same directory, fsync,
        rename).  An existing ``path`` must be a regular file: a directory,
        FIFO, device or socket raises ``ValueError`` and is left alone.  A
        symbolic link is followed: the file it points to is replaced, the link
        stays.  A new file gets mode 0666 minus the umask; an overwritten
        file keeps its mode.

        Parameters
        ----------
        path : str or os.PathLike
            File to write (conventionally ending in ``.npz``).  Its directory
            must exist.

        Returns
        -------
        None

        Raises
        ------
        ValueError
            An empty path, a path naming a directory or containing a NUL
            character, a missing parent directory, or an existing ``path``
            (after following links) that is not a regular file or is
            write-protected (no write permission bit, or not writable by
            us).  Nothing is written then.
        TypeError
            ``path`` is not a str or os.PathLike (bytes included), or
            ``metadata`` is not JSON-serialisable.
        OSError
            The write itself failed (e.g. no permission, disk full); the
            temporary file is removed and an existing file is left untouched.
        """
        write_npz_atomic(path, *self._payload(), name="path")

    def _payload(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The arrays and metadata that :meth:`save` writes."""
        arrays = {k: np.asarray(getattr(self, k), dtype=np.float64) for k in self._ARRAYS}
        arrays["n_samples"] = np.array(self.n_samples, dtype=np.int64)
        meta = dict(self.metadata)
        meta["format"] = RESULT_FORMAT
        meta["file_version"] = FILE_VERSION
        return arrays, meta

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "SimulationResult":
        """Read a result written by :meth:`save`.

        The file is treated as untrusted: only the known entries are read,
        each array header (dtype, shape, size) is checked before its data,
        and the metadata is validated; anything else raises one
        ``ValueError`` naming the file.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.npz`` file written by :meth:`save` (e.g. by
            ``fgrkern simulate --out``).

        Returns
        -------
        SimulationResult
            Equal, bit for bit, to the saved object: arrays as float64
            ndarrays, the single-coupling entries (``p_res``, ``p_res_sem``,
            ``p_res_cov``, ``g``, ``gamma``) as Python floats, ``n_samples``
            as an int and ``metadata`` as the saved dict.

        Raises
        ------
        FileNotFoundError
            There is no file ``path``.
        ValueError
            ``path`` is empty or not a regular file (directory, FIFO,
            device, ...), is not a readable ``.npz`` archive, is not an
            fgrkern result, or has entries or metadata that fail validation
            (unknown or missing entries, wrong dtypes or inconsistent shapes).
        TypeError
            ``path`` is not a str or os.PathLike.
        """
        arrays, meta = read_npz(path, "path", RESULT_FORMAT)  # every entry present and consistent
        meta.pop("format", None)
        meta.pop("file_version", None)

        def scalar_or_array(a: np.ndarray) -> float | np.ndarray:
            return float(a[()]) if a.ndim == 0 else a

        kw = {k: scalar_or_array(arrays[k]) for k in cls._ARRAYS}
        return cls(n_samples=int(arrays["n_samples"]), metadata=meta, **kw)

    @classmethod
    def from_moments(cls, m: Moments, tau: np.ndarray, t: np.ndarray, params: list[dict[str, object]],
                     scalar_g: bool, metadata: dict[str, Any]) -> "SimulationResult":
        r"""Estimates from the reduced moments of ``m.n`` realisations.

        ``params`` holds the ``to_dict()`` of the model at each coupling (its
        "g" and "gamma", NaN if absent); ``scalar_g`` drops the G axis.

        Used by :func:`fgrkern.simulate` to build its result; the arguments
        are taken as given (not validated).

        Parameters
        ----------
        m : Moments
            What :func:`fgrkern.simulate` accumulates over the realisations:
            their number ``m.n``, and for G couplings and T times the sample
            means and centred sums of squares of :math:`P(t)` (shape
            (G, T)) and of the inverse participation ratio
            :math:`\sum_a w_a^2` (means of shape (G,), co-moments across
            couplings of shape (G, G)).
        tau : ndarray, shape (T,)
            Rescaled times :math:`\tau = t/t_H`, stored as ``tau``.
        t : ndarray, shape (T,)
            The same times in the model's time unit (:math:`t = \tau t_H`,
            1/energy with hbar = 1), stored as ``t``.
        params : list of dict, length G
            ``to_dict()`` of the model at each coupling, in the order of
            the moments' G axis; non-numeric or missing "g"/"gamma" become
            NaN.
        scalar_g : bool
            Keep only the first coupling and return scalars for ``p_res``,
            ``p_res_sem``, ``p_res_cov``, ``g`` and ``gamma`` and arrays of
            shape (T,) for ``mean``, ``sem`` and ``std`` (a single coupling
            simulated); otherwise these keep the leading G axis.
        metadata : dict
            Stored as ``metadata`` (not copied).

        Returns
        -------
        SimulationResult
            ``mean`` and ``p_res`` the sample means of P and of the IPR;
            ``std`` the sample standard deviation (ddof = 1), ``sem =
            std/sqrt(n)``, ``p_res_cov`` the covariance of the ``p_res``
            means (co-moments / (n (n - 1))) and ``p_res_sem`` the square
            root of its diagonal.  With ``m.n == 1`` the ``std``, ``sem``,
            ``p_res_sem`` and ``p_res_cov`` are NaN.
        """
        n = m.n
        if n > 1:
            var = m.m2 / (n - 1)
            std = np.sqrt(var)
            sem = np.sqrt(var / n)
            cov = m.ipr_m2 / (n * (n - 1))
        else:
            std = np.full_like(m.mean, np.nan)
            sem = np.full_like(m.mean, np.nan)
            cov = np.full_like(m.ipr_m2, np.nan)
        p_res_sem = np.sqrt(np.diagonal(cov)).copy()
        g_arr = np.array([_number(p.get("g")) for p in params])
        gamma_arr = np.array([_number(p.get("gamma")) for p in params])
        if scalar_g:
            return cls(tau=tau, t=t, mean=m.mean[0], sem=sem[0], std=std[0], n_samples=n,
                       p_res=float(m.ipr_mean[0]), p_res_sem=float(p_res_sem[0]), p_res_cov=float(cov[0, 0]),
                       g=float(g_arr[0]), gamma=float(gamma_arr[0]), metadata=metadata)
        return cls(tau=tau, t=t, mean=m.mean, sem=sem, std=std, n_samples=n, p_res=m.ipr_mean.copy(),
                   p_res_sem=p_res_sem, p_res_cov=cov, g=g_arr.copy(), gamma=gamma_arr, metadata=metadata)


def _number(v: object) -> float:
    return float(v) if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) else np.nan
