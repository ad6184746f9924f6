"""A fitted mixing distribution collapsed to a point is reported, per process, and only then."""

from sim.twin.fit import POINT_MASS, point_mass_warnings


def test_a_collapsed_dropout_beta_is_named_with_its_common_chance():
    params = {"r": 0.135, "alpha": 9.6, "a": 1.77e6, "b": 3.59e5}
    (warning,) = point_mass_warnings("bgnbd", params)
    assert "a + b" in warning
    assert f"{1.77e6 / (1.77e6 + 3.59e5):.3g}" in warning


def test_spread_mixings_give_no_warning():
    assert point_mass_warnings("bgnbd", {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}) == []
    assert point_mass_warnings("twin", {"alpha": 0.2, "beta": 300.0, "gamma": 1, "delta": 9}) == []


def test_each_process_is_read_with_its_own_parameters():
    # Pareto/NBD's alpha and beta are two Gamma rates, not a Beta pair: their sum means nothing
    pareto = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 2 * POINT_MASS}
    assert point_mass_warnings("pareto_nbd", pareto) == []
    assert len(point_mass_warnings("pareto_nbd", {**pareto, "s": 2 * POINT_MASS})) == 1
    daily = {"alpha": 3 * POINT_MASS, "beta": 1.0, "gamma": 1.0, "delta": 2 * POINT_MASS}
    assert len(point_mass_warnings("bgbb_days", daily)) == 2
