"""Where users come from: the initial base and daily arrivals, with their attributes.

Attributes are drawn per user from keyed uniforms (address = seed, purpose, uid), turned into the
wanted distributions by inverse CDFs, so a user's attributes depend only on the seed and its uid.

* occupation ~ categorical(shares); age ~ uniform integer in the occupation's range;
* city tier ~ categorical; income ~ log-normal around the occupation median × tier factor;
* price sensitivity = clip((reference income / income) ** exponent);
* preference ~ categorical (parents prefer parenting with a set probability);
* engagement = logistic(N(channel mean, sd)) — a latent daily propensity in (0, 1).

The initial base also gets a short history (tenure, days since last active, prior purchases)
from documented assumed distributions; see docs/MODEL.md §Population.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import expit, ndtri

from sim.rng import Purpose, derive_uids, draw_key, generator, hash_ids, uniforms
from sim.world.lifecycle import NO_DAY
from sim.world.params import PREFERENCES, WorldParams
from sim.world.population_spec import CHANNELS, OCCUPATIONS, PopulationSpec

REFERRAL = CHANNELS.index("referral")


def _categorical(u: np.ndarray, weights: list[float] | tuple[float, ...]) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    return _count_edges_at_or_below(cum / cum[-1], u)


@njit(cache=True)
def _count_edges_at_or_below(edges: np.ndarray, u: np.ndarray) -> np.ndarray:
    """int8: how many of the sorted ``edges`` are <= each u, i.e.
    ``np.searchsorted(edges, u, side="right")`` for a few edges, without a binary search."""
    out = np.empty(u.shape[0], np.int8)
    for i in range(u.shape[0]):
        k = 0
        for e in edges:
            k += e <= u[i]
        out[i] = k
    return out


def user_attributes(
    spec: PopulationSpec, seed: int, uids: np.ndarray, channel: np.ndarray
) -> dict[str, np.ndarray]:
    """Attribute columns for users with the given uids and acquisition channels."""

    def u(purpose: Purpose) -> np.ndarray:
        return uniforms(seed, purpose, 0, uids)

    occ_specs = [spec.occupations[name] for name in OCCUPATIONS]
    occupation = _categorical(u(Purpose.ATTR_OCCUPATION), [o.share for o in occ_specs])
    age_min = np.array([o.age_min for o in occ_specs])[occupation]
    age_max = np.array([o.age_max for o in occ_specs])[occupation]
    age = (age_min + np.floor(u(Purpose.ATTR_AGE) * (age_max - age_min + 1))).astype(np.int16)

    city_tier = _categorical(u(Purpose.ATTR_CITY), spec.city_tier_shares)
    median = np.array([o.income_median for o in occ_specs])[occupation]
    tier_factor = np.asarray(spec.city_tier_income_factor)[city_tier]
    z_income = ndtri(np.clip(u(Purpose.ATTR_INCOME), 1e-12, 1 - 1e-12))
    income = (median * tier_factor * np.exp(spec.income_sigma * z_income)).astype(np.float32)
    lo, hi = spec.price_sensitivity_bounds
    sensitivity = np.clip(
        (spec.price_sensitivity_reference_income / income)
        ** spec.price_sensitivity_income_exponent,
        lo,
        hi,
    ).astype(np.float32)

    u_pref = u(Purpose.ATTR_PREFERENCE)
    preference = _categorical(u_pref, [spec.preference_shares.get(p, 0.0) for p in PREFERENCES])
    is_parent = occupation == OCCUPATIONS.index("parent")
    # a second, independent use of the same uniform: its position within [0, 1) rescaled
    parenting = is_parent & (((u_pref * 7919.0) % 1.0) < spec.parent_prefers_parenting)
    preference[parenting] = PREFERENCES.index("parenting")

    means = np.array([spec.channels[c].engagement_logit_mean for c in CHANNELS])[channel]
    z_eng = ndtri(np.clip(u(Purpose.ATTR_ENGAGEMENT), 1e-12, 1 - 1e-12))
    engagement_logit = (means + spec.engagement_logit_sd * z_eng).astype(np.float32)
    trust = np.array([spec.channels[c].initial_trust for c in CHANNELS], np.float32)[channel]
    z_need = ndtri(np.clip(u(Purpose.ATTR_NEED), 1e-12, 1 - 1e-12))
    need_shift = np.array([spec.channels[c].need_logit_offset for c in CHANNELS])[channel]
    need = expit(spec.need_logit_mean + need_shift + spec.need_logit_sd * z_need)
    z_frail = ndtri(np.clip(u(Purpose.ATTR_FRAILTY), 1e-12, 1 - 1e-12))
    s = spec.frailty_sigma
    k, sd = spec.frailty_engagement, spec.engagement_logit_sd
    # log-normal with mean 1, higher for users less engaged than their channel's mean
    frailty = np.exp(s * z_frail - 0.5 * s * s - k * sd * z_eng - 0.5 * (k * sd) ** 2)
    # a newcomer arrives with part of its need: a uniform share of it
    intent = need * u(Purpose.ATTR_INTENT)
    return {
        "uid": uids,
        "channel": channel.astype(np.int8),
        "occupation": occupation,
        "age": age,
        "city_tier": (city_tier + 1).astype(np.int8),
        "income": income,
        "price_sensitivity": sensitivity,
        "preference": preference,
        "engagement_logit": engagement_logit,
        "engagement": expit(engagement_logit).astype(np.float32),
        "trust": trust,
        "need": need.astype(np.float32),
        "frailty": frailty.astype(np.float32),
        "intent": intent.astype(np.float32),
        "log_income_ratio": np.log(income / spec.price_sensitivity_reference_income).astype(
            np.float32
        ),
    }


def initial_channels(spec: PopulationSpec, seed: int, uids: np.ndarray) -> np.ndarray:
    """The acquisition channel of users of the initial base, drawn from its channel shares."""
    shares = [spec.initial_channel_shares.get(c, 0.0) for c in CHANNELS]
    return _categorical(uniforms(seed, Purpose.ATTR_CHANNEL, 0, uids), shares)


def initial_base(spec: PopulationSpec, world: WorldParams, seed: int) -> dict[str, np.ndarray]:
    """The users present at day 0, with tenure and a short assumed history."""
    count = spec.initial_users
    uids = derive_uids(seed, Purpose.INITIAL_UID, 0, count)
    cols = user_attributes(spec, seed, uids, initial_channels(spec, seed, uids))

    tenure = np.floor(uniforms(seed, Purpose.ATTR_TENURE, 0, uids) * (spec.initial_tenure_days + 1))
    join_day = (-tenure - 1).astype(np.int32)  # the base joined before day 0
    engagement = cols["engagement"].astype(np.float64)
    u_silence = uniforms(seed, Purpose.ATTR_SILENCE, 0, uids)
    silence = np.floor(-np.log1p(-u_silence) * spec.initial_silence_scale_days / engagement)
    silence = np.minimum(silence, tenure)
    last_active = (-silence).astype(np.int32)

    # prior purchases: Poisson(rate * tenure * engagement), climbing the ladder in order
    lam = spec.initial_purchases_per_year * (tenure / 365.0) * engagement
    u_hist = uniforms(seed, Purpose.ATTR_HISTORY, 0, uids)
    purchases = _poisson_inverse(u_hist, lam)
    n_products = len(world.products)
    ladder = np.minimum(purchases, n_products).astype(np.int8)
    prices = np.array([p.price for p in world.products])
    cum_prices = np.concatenate([[0.0], np.cumsum(prices)])
    prior_revenue = cum_prices[ladder] + np.maximum(purchases - n_products, 0) * prices[-1]
    paid = purchases > 0
    last_purchase = np.where(
        paid, -np.floor(u_hist * 7919.0 % 1.0 * np.maximum(tenure - silence, 0)) - silence, NO_DAY
    ).astype(np.int32)
    trust_boost = np.minimum(purchases, 3) * 0.05
    cols.update(
        join_day=join_day,
        last_active=last_active,
        last_touch=last_active,
        ladder=ladder,
        purchases=purchases.astype(np.int32),
        prior_purchases=purchases.astype(np.int32),
        prior_revenue=prior_revenue.astype(np.float32),
        last_purchase=last_purchase,
        trust=np.clip(cols["trust"] + trust_boost, 0, 1).astype(np.float32),
        active_bits=_recent_bits(silence, tenure),
        progress=np.where(paid, 1.0, 0.0).astype(np.float32),
    )
    return cols


def _recent_bits(silence: np.ndarray, tenure: np.ndarray) -> np.ndarray:
    """Activity bitmask of the last 32 days for base users: active on their last-active day."""
    bits = np.zeros(silence.shape, dtype=np.uint32)
    recent = (silence < 32) & (silence <= tenure)
    bits[recent] = np.left_shift(np.uint32(1), silence[recent].astype(np.uint32))
    return bits


def _poisson_inverse(u: np.ndarray, lam: np.ndarray, max_k: int = 60) -> np.ndarray:
    """Poisson(lam) by inverse CDF of the uniforms ``u`` (at most ``max_k`` - 1)."""
    return _poisson_counts(u, lam, np.exp(-lam), max_k)


@njit(cache=True)
def _poisson_counts(u: np.ndarray, lam: np.ndarray, p0: np.ndarray, max_k: int) -> np.ndarray:
    """Each user's count k: the terms p_i = p_(i-1) * lam / i (p_0 = exp(-lam), computed by
    numpy) are added to the cdf until it passes u, in the order and precision of the former
    vectorised loop (the cdf only grows, so a user stops where that loop stopped counting)."""
    k = np.zeros(u.shape[0], np.int64)
    for j in range(u.shape[0]):
        p = p0[j]
        cdf = p
        count = 0
        for i in range(1, max_k):
            if not u[j] >= cdf:
                break
            count += 1
            p = p * lam[j] / i
            cdf = cdf + p
        k[j] = count
    return k


def join_order(join_day: np.ndarray) -> np.ndarray:
    """``np.argsort(join_day, kind="stable")`` of int32 days: a counting sort when the days
    span a short range (the initial base: its tenure), else numpy's."""
    if join_day.shape[0] == 0:
        return np.zeros(0, np.int64)
    low, high = int(join_day.min()), int(join_day.max())
    if high - low > 4 * join_day.shape[0] + 1024:
        return np.argsort(join_day, kind="stable")
    return _counting_order(join_day, low, high - low + 1)


@njit(cache=True)
def _counting_order(keys: np.ndarray, low: int, span: int) -> np.ndarray:
    """Positions of ``keys`` in increasing key order, equal keys in position order."""
    first = np.zeros(span + 1, np.int64)
    for i in range(keys.shape[0]):
        first[keys[i] - low + 1] += 1
    for v in range(span):
        first[v + 1] += first[v]
    order = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        v = keys[i] - low
        order[first[v]] = i
        first[v] += 1
    return order


def daily_arrivals(spec: PopulationSpec, seed: int, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Exogenous arrivals of one day: (uids, channel codes). Independent of policy."""
    uids, channels = [], []
    for name, rate in sorted(spec.arrivals_per_day.items()):
        code = CHANNELS.index(name)
        count = int(generator(seed, Purpose.ARRIVALS, day * 8 + code).poisson(rate))
        uids.append(derive_uids(seed, Purpose.ARRIVALS, day, count, salt=code + 1))
        channels.append(np.full(count, code, dtype=np.int8))
    if not uids:
        return np.zeros(0, np.uint64), np.zeros(0, np.int8)
    return np.concatenate(uids), np.concatenate(channels)


def referred_uids(seed: int, day: int, referrer_uids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Uids of friends brought by referrers on ``day``: a function of the referrer and its k-th
    referral that day, so the same referral gets the same uid in every arm."""
    key = draw_key(seed, Purpose.REFERRALS, day)
    parents = np.repeat(referrer_uids.astype(np.uint64), counts)
    offsets = np.arange(parents.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    return hash_ids(key, parents ^ mix_offsets(offsets))


def mix_offsets(offsets: np.ndarray) -> np.ndarray:
    return (offsets.astype(np.uint64) + np.uint64(1)) * np.uint64(0xD1B54A32D192ED03)
