"""Each purchase-and-dropout process against published estimates (or known simulated truth).

- BG/NBD on CDNOW: Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426,
  LL −9582.4.
- Pareto/NBD on CDNOW: Fader, Hardie & Lee (2005) "A note on implementing the Pareto/NBD":
  r 0.553, alpha 10.578, s 0.606, beta 11.669, LL −9595.0.
- BG/BB on the donation data: Fader, Hardie & Shang (2010): alpha 1.204, beta 0.750,
  gamma 0.657, delta 2.783, LL −33,225.6.
- Gamma–Gamma on CDNOW: Fader, Hardie & Lee (2005) "RFM and CLV": p 6.25, q 3.74, v 15.44.
- MBG/CNBD-k: the paper reports no regularity for CDNOW (k = 1; BTYDplus's CDNOW demo); the
  parameters are checked by recovery on data simulated with k = 3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln as _lbeta
from scipy.special import gammaln as _lgamma

from sim.twin.bgnbd import BGNBD
from sim.twin.btyd import MBGCNBD, ParetoNBD, mbgcnbd_log_likelihood, pareto_log_likelihood
from sim.twin.model import GammaGamma, TwinModel
from sim.twin.rfm import user_statistics
from sim.twin.synthetic import calibration_end, synthetic_log

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow" / "cdnow_summary.csv")


def _close(fitted: dict, published: dict, rel: float) -> None:
    for k, v in published.items():
        assert fitted[k] == pytest.approx(v, rel=rel), (k, fitted[k], v)


def test_bgnbd_reproduces_the_published_cdnow_fit(cdnow) -> None:
    m = BGNBD().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    _close(m.params_, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 0.005)
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)


def test_pareto_nbd_reproduces_the_published_cdnow_fit(cdnow) -> None:
    published = np.log([0.553, 10.578, 0.606, 11.669])
    at_published = pareto_log_likelihood(published, cdnow["x"], cdnow["t_x"], cdnow["T"]).sum()
    assert at_published == pytest.approx(-9595.0, abs=0.1)
    m = ParetoNBD().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    _close(m.params_, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, 0.005)
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.1)
    alive = m.probability_alive(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert np.all((alive > 0) & (alive <= 1))


def test_gamma_gamma_reproduces_the_published_cdnow_fit_and_matches_the_mean(cdnow) -> None:
    buyers = cdnow[cdnow["x"] > 0]
    m = GammaGamma().fit(buyers["x"], buyers["zbar"])
    _close(m.params_, {"p": 6.25, "q": 3.74, "v": 15.44}, 0.01)
    assert not m.constrained_ and not m.warnings_
    pop = m.population_summary()
    assert pop["mean_spend_per_purchase_day"] == pytest.approx(pop["observed_mean"], rel=0.05)


def test_bgbb_days_reproduces_the_published_donation_fit() -> None:
    table = pd.read_csv(DATA / "donations_bgbb.csv")
    rows = table.loc[table.index.repeat(table["weights"])]
    x = rows["frequency"].to_numpy()
    stats = pd.DataFrame({"x": x, "y": 0, "t_x": rows["recency"].to_numpy(),
                          "t_a": rows["recency"].to_numpy(), "n": rows["periods"].to_numpy(),
                          "dead_at": -1})  # fmt: skip
    m = TwinModel(activity="off", use_leave=False).fit(stats)
    _close(m.params_, {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}, 0.01)
    assert m.log_likelihood_ == pytest.approx(-33225.6, abs=0.5)


def _cdnow_with_log_gaps() -> tuple[np.ndarray, ...]:
    e = pd.read_csv(DATA / "cdnow" / "cdnow_sample.txt", sep=r"\s+", header=None,
                    names=["cust", "sample", "date", "cds", "sales"])  # fmt: skip
    e["date"] = pd.to_datetime(e["date"].astype(str))
    e = e.drop_duplicates(["cust", "date"]).sort_values(["cust", "date"])
    first = e.groupby("cust")["date"].transform("min")
    cal = pd.Timestamp("1997-09-30")
    e = e[e["date"] <= cal].assign(t=(e["date"] - first).dt.days / 7)
    e["gap"] = e.groupby("cust")["t"].diff()
    g = e.groupby("cust")
    big_t = (cal - g["date"].min()).dt.days / 7
    litt = g["gap"].apply(lambda s: np.log(s.dropna()).sum())
    return (
        (g.size() - 1).to_numpy(float),
        g["t"].max().to_numpy(),
        big_t.to_numpy(),
        litt.to_numpy(),
    )


def test_mbgcnbd_finds_no_regularity_on_cdnow_and_is_mbgnbd_at_k1() -> None:
    x, tx, big_t, litt = _cdnow_with_log_gaps()
    assert len(x) == 2357
    m = MBGCNBD(max_k=3).fit(x, tx, big_t, litt)
    assert m.k_ == 1  # Platzer & Reutterer (2016): no regularity in CDNOW
    r, alpha, a, b = (m.params_[k] for k in ("r", "alpha", "a", "b"))
    # k = 1 is the MBG/NBD of Batislam et al. (2007): its closed-form likelihood
    mbg = (
        np.log(
            np.exp(_lbeta(a, b + x + 1) - _lbeta(a, b) - (r + x) * np.log(alpha + big_t))
            + np.exp(_lbeta(a + 1, b + x) - _lbeta(a, b) - (r + x) * np.log(alpha + tx))
        )
        + _lgamma(r + x) - _lgamma(r) + r * np.log(alpha)
    )  # fmt: skip
    assert mbg.sum() == pytest.approx(m.log_likelihood_, abs=1e-6)
    assert m.log_likelihood_ >= BGNBD().fit(x, tx, big_t).log_likelihood_ - 5


def test_mbgcnbd_recovers_known_regular_buyers() -> None:
    truth = {"r": 1.2, "alpha": 6.0, "a": 0.6, "b": 3.0}
    events = synthetic_log("regular", 6000, seed=3, params={**truth, "k": 3})
    stats = user_statistics(events, calibration_end(39))
    stats = stats[stats["n"] > 0]
    x = stats["x"].to_numpy(float)
    m = MBGCNBD().fit(x, stats["t_x"] / 7, stats["n"] / 7, stats["litt"] - x * np.log(7))
    assert m.k_ == 3
    for k, v in truth.items():
        assert abs(np.log(m.params_[k] / v)) < 3 * max(m.se_[k] / m.params_[k], 0.05), (
            k,
            m.params_,
        )
    ll = mbgcnbd_log_likelihood(m.log_params_, 3, x, stats["t_x"] / 7, stats["n"] / 7,
                                stats["litt"] - x * np.log(7))  # fmt: skip
    assert ll.sum() == pytest.approx(m.log_likelihood_, rel=1e-9)
