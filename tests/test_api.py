"""The public API of the restructured package: the model protocol, immutability,
keyword-only arguments, exported names, and the theory accessors the CLI and
figure code share.

Expected values come from the paper (Eq. (6): a_X, b_X), from identities
(with_g(g).with_g(g0) is the original model), or from separate runs.
"""

from __future__ import annotations

import dataclasses
import json
import types

import numpy as np
import pytest

import fgrkern as fk
from fgrkern import theory

TAU = np.array([0.0, 0.1, 1.0])


class MinimalModel:
    """A user model with no fgrkern base class: the four methods of SampleableModel."""

    def __init__(self, g: float = 0.2) -> None:
        self.g = g

    def sample(self, size, rng=None, method="secular"):
        gen = np.random.default_rng(rng)
        e = gen.normal(size=(size, 5))
        w = gen.dirichlet(np.ones(5), size=size)
        return types.SimpleNamespace(energies=e, weights=w)

    def t_from_tau(self, tau):
        return np.asarray(tau, dtype=np.float64) * 10.0

    def with_g(self, g):
        return MinimalModel(g)

    def to_dict(self):
        return {"class": "MinimalModel", "n": 4, "g": self.g, "gamma": 4 * self.g}


def test_exported_names():
    for name in ("simulate", "SimulationError", "SimulationResult", "LevelDotModel", "SampleableModel", "Spectrum"):
        assert name in fk.__all__ and hasattr(fk, name)
    assert issubclass(fk.SimulationError, RuntimeError)
    assert isinstance(fk.LevelDotModel(4, 0.1), fk.SampleableModel)
    assert isinstance(MinimalModel(), fk.SampleableModel)


def test_simulate_arguments_after_n_samples_are_keyword_only():
    model = fk.LevelDotModel(4, 0.1)
    with pytest.raises(TypeError):
        fk.simulate(model, TAU, 4, 1)  # rng given by position
    assert fk.simulate(model, TAU, 4, rng=1).n_samples == 4


def test_a_model_without_the_protocol_is_refused_naming_model():
    class NoToDict:
        def sample(self, size, rng=None, method="secular"):
            raise AssertionError("never sampled")

        def t_from_tau(self, tau):
            return tau

    with pytest.raises(TypeError, match="model must be"):
        fk.simulate(NoToDict(), TAU, 4, rng=1)


def test_user_model_runs_and_records_its_description():
    res = fk.simulate(MinimalModel(0.2), TAU, 6, rng=3, chunk_size=4)
    assert res.metadata["model"] == MinimalModel(0.2).to_dict()
    assert res.g == 0.2 and res.gamma == pytest.approx(0.8) and res.mean[0] == pytest.approx(1.0, abs=1e-15)
    multi = fk.simulate(MinimalModel(0.2), TAU, 6, rng=3, chunk_size=4, g=[0.2, 0.5])
    np.testing.assert_array_equal(multi.g, [0.2, 0.5])
    # the user model ignores g: both couplings see the same numbers as the single run
    assert multi.mean[0].tobytes() == res.mean.tobytes() == multi.mean[1].tobytes()


@pytest.mark.parametrize("bath", ["wigner-dyson", "poisson", np.linspace(-1, 1, 6) ** 3])
def test_model_is_immutable_and_with_g_keeps_everything_else(bath):
    m = fk.LevelDotModel(6, 0.3, "GOE", 1.5, 0.25, bath)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.g = 0.5  # type: ignore[misc]
    m2 = m.with_g(0.7)
    assert type(m2) is type(m) and m2.g == 0.7 and m.g == 0.3
    d, d2 = m.to_dict(), m2.to_dict()
    assert {k: v for k, v in d.items() if k not in ("g", "gamma")} == \
           {k: v for k, v in d2.items() if k not in ("g", "gamma")}
    assert m2.with_g(0.3).to_dict() == d
    assert json.loads(json.dumps(d)) == d  # plain JSON, floats round-trip exactly


@pytest.mark.parametrize("bath", ["wigner-dyson", "poisson", np.linspace(-1, 1, 6) ** 3])
def test_model_equality_hash_and_copies_are_by_value(bath):
    import copy
    import pickle

    m = fk.LevelDotModel(6, 0.3, "GOE", 1.5, 0.25, bath)
    same = fk.LevelDotModel(6, 0.3, "o", 1.5, 0.25, bath)  # "o" is normalised to "GOE"
    assert m == same and hash(m) == hash(same) and len({m, same}) == 1
    assert m.with_g(0.7) != m and m.with_g(0.7).with_g(0.3) == m
    assert m != fk.LevelDotModel(6, 0.3, "GOE", 1.5, 0.0, bath) and m != m.to_dict()
    for c in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m), copy.copy(m)):
        assert c == m and hash(c) == hash(m)
        if c.bath_levels is not None:  # the copy stays immutable: no write into its sorted levels
            with pytest.raises(ValueError):
                c.bath_levels[0] = 5.0
    if m.bath_levels is not None:
        other = fk.LevelDotModel(6, 0.3, "GOE", 1.5, 0.25, np.linspace(-1, 1, 6) ** 3 + 1e-3)
        assert other != m


def test_sample_couplings_advances_a_generator_like_one_sample():
    m = fk.LevelDotModel(8, 0.2, "GUE")
    for method in ("secular", "dense"):
        g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
        m.sample_couplings([0.1, 0.2, 3.0], 3, rng=g1, method=method)
        m.sample(3, rng=g2, method=method)
        assert g1.bit_generator.state == g2.bit_generator.state, method
    with pytest.raises(ValueError, match="gs"):
        m.sample_couplings([0.1, -1.0], 2, rng=1)
    with pytest.raises(ValueError, match="gs must contain at least one coupling"):
        m.sample_couplings([], 2, rng=1)


@pytest.mark.parametrize("sym, a, b", [("GUE", 1.0, 1.0), ("GOE", 2.0, 1.0), ("GSE", 1.0, 2.0)])
def test_sff_coefficients_are_those_of_eq6(sym, a, b):
    # Eq. (6): P_X = exp(-4 gamma tau) + (a_X + b_X K_X(tau)) / (2 gamma), (a, b) = (1,1), (2,1), (1,2)
    assert theory.sff_coefficients(sym) == (a, b)
    gamma = 8.0
    assert theory.p_off(gamma, sym) == a / (2 * gamma)
    assert theory.p_plateau(gamma, sym) == (a + b) / (2 * gamma)
    # tau -> inf: the decay vanishes and K_X -> 1 in every class, so P_X -> (a + b) / (2 gamma)
    assert theory.p_sff(np.inf, gamma, sym) == pytest.approx((a + b) / (2 * gamma), rel=1e-15)


def test_curve_for_names_the_reason_when_there_is_none():
    th, label = theory.curve_for(TAU, 0.5, "GUE")
    assert label == "Eq. (5)" and th[0] == 1.0  # P(0) = 1
    assert theory.curve_for(TAU, 0.5, "GOE")[0] is None
    assert "bath" in theory.curve_for(TAU, 0.5, "GUE", bath="poisson")[1]
    assert "eps0" in theory.curve_for(TAU, 0.5, "GUE", eps0=0.1)[1]
    th, why = theory.curve_for([2e6], 0.5, "GUE")
    assert th is None and "every tau" in why
    # every spelling of the Wigner-Dyson bath that LevelDotModel accepts
    want = theory.p_tau(TAU, 0.5)
    for name in ("WD", "Wigner-Dyson", " wigner-dyson "):
        assert fk.LevelDotModel(10, 0.05, bath=name).bath == "wigner-dyson"
        th, label = theory.curve_for(TAU, 0.5, "GUE", bath=name)
        assert label == "Eq. (5)" and np.array_equal(th, want)


def test_curve_for_rejects_bad_arguments_by_name_and_takes_an_empty_grid():
    for sym in ("GUE", "GOE"):
        for bad in ("46", None, [46.0]):
            with pytest.raises(TypeError, match="gamma"):
                theory.curve_for(TAU, bad, sym)
        for bad in (np.nan, np.inf):
            with pytest.raises(ValueError, match="gamma"):
                theory.curve_for(TAU, bad, sym)
        with pytest.raises(ValueError, match="tau"):
            theory.curve_for([0.1, np.nan], 46.0, sym)
        with pytest.raises(TypeError, match="tau"):
            theory.curve_for(["a"], 46.0, sym)
        for bad in ("abc", 1j, np.array([0.0, 0.0]), None):
            with pytest.raises(TypeError, match="eps0"):
                theory.curve_for(TAU, 46.0, sym, eps0=bad)
        for bad in (np.nan, np.inf):
            with pytest.raises(ValueError, match="eps0"):
                theory.curve_for(TAU, 46.0, sym, eps0=bad)
        th, label = theory.curve_for([], 46.0, sym)  # nothing to evaluate is not "beyond the domain"
        assert th is not None and th.shape == (0,) and label.startswith("Eq.")


def test_cli_registry_of_commands():
    from fgrkern.cli import build_parser

    parser = build_parser()
    assert set(parser.commands) == {"reproduce", "simulate", "theory"}
    sim = parser.commands["simulate"]
    assert sim.options["--tau"] is True and sim.options["--plot"] is False
    assert "--gamma" in sim.options and "--g" in sim.options  # the mutually exclusive pair
    assert "--quick" in parser.commands["reproduce"].options
