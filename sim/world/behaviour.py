"""The daily behaviour step: one compiled pass over all users.

For each reachable user, in this order (docs/MODEL.md §5 gives the equations):

1. content wear (novelty) and message load → fatigue;
2. reading today's content pushes and promotions (relevance × novelty, trust, fatigue, lapsed);
3. trust from what was read or merely received, 1v1 contact, rewards (by ¥ value, saturating);
   buying intent regrowing toward the user's need, raised by relevant content;
4. becoming active — reading invites activity but is not activity; a running camp's check-in;
   a lapsed user who is active is recalled;
5. if active: study and camp check-ins, speaking in the group, sharing (→ referred friends
   tomorrow); on a buying occasion (active, or an opened promo) purchasing the next step of the
   product ladder with probability intent × σ(trust, wallet, promo, camp offer);
6. exits, one uniform against competing hazards: deleting/blocking (gone), muting, leaving the
   group, lapsing (silent, recallable; falls with today's engagement, scaled by frailty);
7. lifecycle stage, with every change written to the transition buffer.

Every random number is a keyed draw (:func:`sim.rng.uniform`) addressed by (seed, purpose, day,
uid), so the result for a user does not depend on any other user or on the order of the loop.
The step reads the inbox that actions filled today and clears it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import njit

from sim.rng import MIX_MULTIPLIERS, Purpose, draw_key
from sim.world.lifecycle import CHURNED, CORE, DORMANT, NEVER_DAYS, NEW, NO_DAY, POTENTIAL
from sim.world.params import WorldParams
from sim.world.threads import available_threads, resolve_threads
from sim.world.timing import (
    DAY_DEMAND,
    DAY_OPEN,
    DAY_PAYDAY,
    DAY_PRICE_KEEP,
    DAY_SPEAK,
    DAY_TIMED,
)

# indices of the daily counters the step accumulates
COUNTERS = (
    "active", "opened", "spoke", "shared", "purchases", "revenue", "discount", "mutes",
    "churned_today", "group_leaves", "completions", "referrals", "trust_sum", "fatigue_sum",
    "reachable", "stage_potential", "stage_new", "stage_core", "stage_dormant", "stage_churned",
    "content_reached", "content_opened", "lapses", "recalls", "lapsed", "intent_sum",
    "promo_opened",
)  # fmt: skip
C = {name: i for i, name in enumerate(COUNTERS)}

# counter indices as module constants (numba compiles globals as constants)
_N_ACTIVE = C["active"]
_N_OPENED = C["opened"]
_N_SPOKE = C["spoke"]
_N_SHARED = C["shared"]
_N_PURCHASES = C["purchases"]
_N_REVENUE = C["revenue"]
_N_DISCOUNT = C["discount"]
_N_MUTES = C["mutes"]
_N_CHURNED_TODAY = C["churned_today"]
_N_GROUP_LEAVES = C["group_leaves"]
_N_COMPLETIONS = C["completions"]
_N_REFERRALS = C["referrals"]
_N_TRUST_SUM = C["trust_sum"]
_N_FATIGUE_SUM = C["fatigue_sum"]
_N_REACHABLE = C["reachable"]
_N_STAGE_POTENTIAL = C["stage_potential"]
_N_STAGE_NEW = C["stage_new"]
_N_STAGE_CORE = C["stage_core"]
_N_STAGE_DORMANT = C["stage_dormant"]
_N_STAGE_CHURNED = C["stage_churned"]
_N_CONTENT_REACHED = C["content_reached"]
_N_CONTENT_OPENED = C["content_opened"]
_N_LAPSES = C["lapses"]
_N_RECALLS = C["recalls"]
_N_LAPSED = C["lapsed"]
_N_INTENT_SUM = C["intent_sum"]
_N_PROMO_OPENED = C["promo_opened"]

# lapse-buffer event codes (lapses.parquet)
LAPSE_EVENTS = ("lapse", "recall")
EV_LAPSE, EV_RECALL = 0, 1
# event kinds: index into StepBuffers.sizes and a chunk's buffer positions
_EV_TRANS, _EV_BUY, _EV_REF, _EV_LAPSE = 0, 1, 2, 3

KEY_PURPOSES = (
    Purpose.OPEN, Purpose.ACTIVE, Purpose.STUDY, Purpose.SPEAK, Purpose.SHARE,
    Purpose.PURCHASE, Purpose.CHURN,
)  # fmt: skip


class StepParams(NamedTuple):
    """Scalar parameters in the form the compiled step reads them."""

    core_min_purchases: int
    dormant_after_days: int
    active_intercept: float
    active_engagement: float
    active_trust: float
    active_group_vitality: float
    active_opened_content: float
    active_opened_promo: float
    active_contact: float
    active_muted: float
    habit_decay_per_day: float
    habit_decay_cap_days: int
    forget_after_days: int
    forget_penalty: float
    open_intercept: float
    open_relevance: float
    open_trust: float
    open_fatigue: float
    promo_relevance: float
    wear_keep: float
    wear_weight: float
    lapsed_open_penalty: float
    fatigue_keep: float
    comfort_messages_per_day: float
    comfort_softness: float
    excess_zero: float
    excess_table: np.ndarray  # excess at fatigue k / EXCESS_STEPS_PER_MESSAGE (§5.1)
    relevant_fatigue_shield: float
    mute_per_excess: float
    group_leave_per_excess: float
    block_per_excess: float
    trust_gain_relevant: float
    trust_loss_irrelevant: float
    trust_gain_contact: float
    trust_gain_completion: float
    trust_gain_reward: float
    reward_value_scale: float
    trust_decay: float
    trust_floor: float
    purchase_trust: float
    promo_lift_per_trust: float
    purchase_fatigue: float
    intent_regrow_per_day: float
    intent_paving: float
    intent_paving_ceiling: float
    intent_consumed: float
    wallet_income_elasticity: float
    affordability_weight: float
    study_engagement: float
    speak_intercept: float
    speak_engagement: float
    speak_group_novelty: float
    group_novelty_days: float
    speak_fatigue: float
    speak_promo: float
    speak_contagion: float
    share_intercept: float
    share_trust: float
    referrals_per_share: float
    churn_base_hazard: float
    churn_silence_ratio: float
    churn_silence_ramp_days: int
    churn_trust: float
    churn_hazard_bound: float
    group_leave_base_hazard: float
    camp_days: int
    camp_checkin: float
    camp_intent_gain: float
    camp_offer_days: int
    camp_offer_lift: float
    lapse_base_hazard: float
    lapse_activity_weight: float
    lapse_hazard_cap: float
    lapse_per_excess: float
    lapsed_activity_penalty: float
    recall_coupon: float
    # group composition (world.social, sim/world/social.py)
    disruptor_speak_lift: float
    open_disruption: float
    speak_disruption: float
    leave_disruption: float
    load_disruption: float
    koc_speak_lift: float
    koc_fade_days: int
    speak_koc: float
    open_koc: float
    # calendar and timing, referral incentives (issue 15; world.calendar, world.referral)
    timing_open_weight: float
    timing_buy_weight: float
    incentive_friends_per_share: float


class Ladder(NamedTuple):
    """Product ladder as arrays (index = ladder step)."""

    price: np.ndarray
    log_price_ratio: np.ndarray  # ln(list price / reference price)
    base_logit: np.ndarray
    min_gap_days: np.ndarray
    study_per_active_day: np.ndarray


class StepBuffers(NamedTuple):
    """Per-day outputs of the step, sized to the population capacity."""

    counters: np.ndarray  # float64[len(COUNTERS)]
    trans_user: np.ndarray  # int32: slot of a user whose stage changed
    trans_from: np.ndarray  # int8
    trans_to: np.ndarray  # int8
    buy_user: np.ndarray  # int32: slot of a buyer
    buy_step: np.ndarray  # int8: ladder step bought
    buy_paid: np.ndarray  # float64
    buy_discount: np.ndarray  # float64
    ref_user: np.ndarray  # int32: slot of a user who brought friends
    ref_count: np.ndarray  # int32
    lapse_user: np.ndarray  # int32: slot of a user who lapsed or was recalled
    lapse_event: np.ndarray  # int8: EV_LAPSE or EV_RECALL
    sizes: np.ndarray  # int64[4]: used length of trans, buy, ref and lapse buffers
    sum_trust: np.ndarray  # float64: each reachable user's trust today (summed in user order)
    sum_fatigue: np.ndarray  # float64
    sum_intent: np.ndarray  # float64
    dead_blocks: np.ndarray  # bool: every user of the block of BLOCK slots has churned


def step_params(world: WorldParams) -> StepParams:
    b, lc = world.behaviour, world.lifecycle
    values = {name: getattr(b, name) for name in StepParams._fields if hasattr(b, name)}
    values.update(
        (name, getattr(world.social, name))
        for name in StepParams._fields
        if hasattr(world.social, name)
    )
    values.update(
        timing_open_weight=world.calendar.timing_open_weight,
        timing_buy_weight=world.calendar.timing_buy_weight,
        incentive_friends_per_share=world.referral.incentive_friends_per_share,
        core_min_purchases=lc.core_min_purchases,
        dormant_after_days=lc.dormant_after_days,
        fatigue_keep=0.5 ** (1.0 / b.fatigue_half_life_days),
        wear_keep=0.5 ** (1.0 / b.wear_half_life_days),
        excess_zero=_softplus_py(-b.comfort_messages_per_day, b.comfort_softness),
        excess_table=excess_table(b.comfort_messages_per_day, b.comfort_softness),
        # the largest silence x trust factor of the deletion hazard (trust in [0, 1])
        churn_hazard_bound=b.churn_silence_ratio * math.exp(0.5 * b.churn_trust),
    )
    return StepParams(**values)


EXCESS_STEPS_PER_MESSAGE = 128
EXCESS_TABLE_MAX = 64.0  # messages/day; beyond, excess = fatigue - comfort (exact to 1e-12)


def excess_table(comfort: float, softness: float) -> np.ndarray:
    """excess(F) = h(F - c) - h(-c) at F = k / EXCESS_STEPS_PER_MESSAGE, for linear interpolation
    in the step (error below 4e-6 at the default softness; saves an exp and a log per user)."""
    f = np.arange(int(EXCESS_TABLE_MAX * EXCESS_STEPS_PER_MESSAGE) + 2) / EXCESS_STEPS_PER_MESSAGE
    z = (f - comfort) / softness
    h = softness * np.logaddexp(0.0, z)
    return (h - _softplus_py(-comfort, softness)).astype(np.float64)


def _softplus_py(x: float, s: float) -> float:
    z = x / s
    return x if z > 30.0 else s * math.log1p(math.exp(z))


def ladder_arrays(world: WorldParams) -> Ladder:
    ps = world.products
    return Ladder(
        price=np.array([p.price for p in ps], np.float64),
        log_price_ratio=np.log(np.array([p.price / p.reference_price for p in ps], np.float64)),
        base_logit=np.array(
            [math.log(p.base_daily_conversion / (1 - p.base_daily_conversion)) for p in ps]
        ),
        min_gap_days=np.array([p.min_gap_days for p in ps], np.int64),
        study_per_active_day=np.array([p.study_per_active_day for p in ps], np.float64),
    )


def new_buffers(capacity: int) -> StepBuffers:
    return StepBuffers(
        counters=np.zeros(len(COUNTERS), np.float64),
        trans_user=np.empty(capacity, np.int32),
        trans_from=np.empty(capacity, np.int8),
        trans_to=np.empty(capacity, np.int8),
        buy_user=np.empty(capacity, np.int32),
        buy_step=np.empty(capacity, np.int8),
        buy_paid=np.empty(capacity, np.float64),
        buy_discount=np.empty(capacity, np.float64),
        ref_user=np.empty(capacity, np.int32),
        ref_count=np.empty(capacity, np.int32),
        lapse_user=np.empty(capacity, np.int32),
        lapse_event=np.empty(capacity, np.int8),
        sizes=np.zeros(4, np.int64),
        sum_trust=np.empty(capacity, np.float64),
        sum_fatigue=np.empty(capacity, np.float64),
        sum_intent=np.empty(capacity, np.float64),
        dead_blocks=np.zeros(capacity // BLOCK + 1, np.bool_),
    )


def day_keys(seed: int, day: int) -> np.ndarray:
    """The draw keys of one day, one per purpose in KEY_PURPOSES order."""
    return np.array([draw_key(seed, p, day) for p in KEY_PURPOSES], dtype=np.uint64)


_M1, _M2 = MIX_MULTIPLIERS
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


@njit(inline="always", cache=True)
def mix64(x: np.uint64) -> np.uint64:
    """:func:`sim.rng.mix64` compiled for one word (the kernels' keyed draws)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_S11 = np.uint64(11)
_INV32 = 1.0 / 4294967296.0
_INV53 = 1.0 / 9007199254740992.0


@njit(inline="always", cache=True)
def _u1(key, uid):
    return float(mix64(uid ^ key) >> _S11) * _INV53


@njit(inline="always", cache=True)
def _u2(key, uid):
    """Two independent 32-bit uniforms from one keyed draw."""
    h = mix64(uid ^ key)
    return float(h >> _S32) * _INV32, float(h & _LOW32) * _INV32


@njit(inline="always", cache=True)
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# Decisions u < σ(x) without exp, exactly. σ is tabulated at the grid x_k = k / SIGMOID_STEPS -
# SIGMOID_XMAX. The true σ increases and the step's floating σ̂ (_sigmoid) is within ~1e-15 of
# it, as is the table, so σ̂(x) lies in [T[k] - m, T[k+1] + m] for x_k <= x <= x_k+1 with the
# margin m = SIGMOID_MARGIN (a thousand times the rounding). A u below the cell's lower bound
# decides "yes", one at or above its upper bound "no"; only a u inside the band (width
# <= 1/(4 SIGMOID_STEPS) + 2m) or an x off the grid computes σ̂(x) itself. The decision is the
# exact comparison's, bit for bit (tests/world/test_fast_sigmoid.py checks it).
SIGMOID_STEPS = 64  # grid points per unit of x (a power of 2: the grid points are exact)
SIGMOID_XMAX = 16.0  # grid over [-16, 16]: beyond, σ is within 1.2e-7 of 0 or 1
SIGMOID_MARGIN = 1e-12
# a module constant: numba bakes it into the compiled step (an array argument would be
# reference-counted at every inlined call, which cost more than the exp it saves)
SIGMOID_TABLE = np.array(
    [
        1.0 / (1.0 + math.exp(-(k / SIGMOID_STEPS - SIGMOID_XMAX)))
        for k in range(int(2 * SIGMOID_XMAX * SIGMOID_STEPS) + 1)
    ]
)
_SIG_LAST_CELL = SIGMOID_TABLE.shape[0] - 1


@njit(inline="always", cache=True)
def _sigmoid_cell(x):
    """Index k of the grid cell [x_k, x_k+1] holding x, or -1 off the grid (or NaN)."""
    t = (x + SIGMOID_XMAX) * SIGMOID_STEPS
    if t >= 0.0 and t < _SIG_LAST_CELL:
        return int(t)
    return -1


@njit(inline="always", cache=True)
def _below_sigmoid(u, x):
    """``u < _sigmoid(x)``, exactly; exp only for a u in the cell's narrow band."""
    k = _sigmoid_cell(x)
    if k >= 0:
        yes = u < SIGMOID_TABLE[k] - SIGMOID_MARGIN
        if yes | (u >= SIGMOID_TABLE[k + 1] + SIGMOID_MARGIN):  # outside the band
            return yes
    return u < _sigmoid(x)


@njit(inline="always", cache=True)
def _below_any_of(u, x, n):
    """``u < _any_of(_sigmoid(x), n)``, exactly (_any_of increases with p; bounds as above)."""
    k = _sigmoid_cell(x)
    if k >= 0:
        yes = u < _any_of(SIGMOID_TABLE[k], n) - SIGMOID_MARGIN
        if yes | (u >= _any_of(SIGMOID_TABLE[k + 1], n) + SIGMOID_MARGIN):
            return yes
    return u < _any_of(_sigmoid(x), n)


@njit(inline="always", cache=True)
def _below_scaled_sigmoid(u, scale, x):
    """``u < scale * _sigmoid(x)``, exactly, for a scale in [0, 1] (else computed)."""
    k = _sigmoid_cell(x)
    if k >= 0 and 0.0 <= scale <= 1.0:
        yes = u < scale * SIGMOID_TABLE[k] - SIGMOID_MARGIN
        if yes | (u >= scale * SIGMOID_TABLE[k + 1] + SIGMOID_MARGIN):
            return yes
    return u < scale * _sigmoid(x)


# Decisions from the draw's side. A draw u = m / 2^b lies in the cell [c, c + 1) / U_CELLS of
# its top U_CELL_BITS bits c, known as soon as the draw is (before the logit x is). s(x) -- σ
# or any_of(σ, n) -- increases, so x below the x where s reaches c / U_CELLS means s(x) < u:
# "no"; x at or above the x where s reaches (c + 1) / U_CELLS means s(x) > u: "yes". The two
# bounds are those x moved out by X_MARGIN (s changes by > 3e-12 over it, a thousand times
# the rounding of s), looked up by c while x is still being computed; only an x between them
# (u and s(x) in the same cell: ~1/U_CELLS of draws) goes to the x-grid test above. The
# decision is the exact comparison's, bit for bit (tests/world/test_fast_sigmoid.py).
U_CELL_BITS = 8
U_CELLS = 1 << U_CELL_BITS
X_MARGIN = 1e-9
_U_SHIFT = np.uint64(64 - U_CELL_BITS)  # the top bits of a 64-bit draw word
_U_LOW_SHIFT = np.uint64(32 - U_CELL_BITS)  # the top bits of its low 32-bit half


def _x_where(p: float, n: int) -> float:
    """The x where σ(x) (n = 0) or any_of(σ(x), n) reaches p (±inf at p = 0 or 1)."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    sig = p if n == 0 else 1.0 - (1.0 - p) ** (1.0 / n)
    return math.log(sig / (1.0 - sig))


# _X_BOUNDS[row, c] = (x below which "no", x from which "yes") for draws in cell c; row 0: σ,
# rows 1-3: any_of(σ, n) with n = 1, 2, >= 3 messages
_X_BOUNDS = np.array(
    [
        [
            [_x_where(c / U_CELLS, n) - X_MARGIN, _x_where((c + 1) / U_CELLS, n) + X_MARGIN]
            for c in range(U_CELLS)
        ]
        for n in (0, 1, 2, 3)
    ]
)


@njit(inline="always", cache=True)
def _u1_cell(key, uid):
    """:func:`_u1` and the cell of its top bits."""
    h = mix64(uid ^ key)
    return float(h >> _S11) * _INV53, h >> _U_SHIFT


@njit(inline="always", cache=True)
def _u2_cells(key, uid):
    """:func:`_u2`'s two uniforms, each with the cell of its top bits."""
    h = mix64(uid ^ key)
    lo = h & _LOW32
    return (
        float(h >> _S32) * _INV32, h >> _U_SHIFT, float(lo) * _INV32, lo >> _U_LOW_SHIFT
    )  # fmt: skip


@njit(inline="always", cache=True)
def _below_sigmoid_at(u, cell, x):
    """``_below_sigmoid(u, x)`` for a draw u in ``cell``."""
    no = x < _X_BOUNDS[0, cell, 0]
    yes = x >= _X_BOUNDS[0, cell, 1]
    if no | yes:
        return yes
    return _below_sigmoid(u, x)


@njit(inline="always", cache=True)
def _below_any_of_at(u, cell, x, n):
    """``_below_any_of(u, x, n)`` for a draw u in ``cell``."""
    row = 1 + (n >= 2.0) + (n >= 3.0)  # _any_of counts at most 3 messages
    no = x < _X_BOUNDS[row, cell, 0]
    yes = x >= _X_BOUNDS[row, cell, 1]
    if no | yes:
        return yes
    return _below_any_of(u, x, n)


@njit(inline="always", cache=True)
def _softplus(x, s):
    """A smooth hinge: ~0 well below 0, ~x well above, s*log(2) at 0."""
    z = x / s
    if z > 30.0:
        return x
    return s * math.log1p(math.exp(z))


@njit(inline="always", cache=True)
def _excess(fatigue, P):
    """Smooth max(0, fatigue - comfort) (MODEL.md §5.1), interpolated in P.excess_table."""
    if fatigue <= 0.0:
        return 0.0
    x = fatigue * EXCESS_STEPS_PER_MESSAGE
    k = int(x)
    table = P.excess_table
    if k + 1 >= table.shape[0]:
        return _softplus(fatigue - P.comfort_messages_per_day, P.comfort_softness) - P.excess_zero
    frac = x - k
    return table[k] + frac * (table[k + 1] - table[k])


@njit(inline="always", cache=True)
def _any_of(p, n):
    """Chance of opening at least one of n messages (at most 3 count), each with chance p."""
    q = 1.0 - p
    miss = q
    if n >= 2.0:
        miss *= q
    if n >= 3.0:
        miss *= q
    return 1.0 - miss


@njit(inline="always", cache=True)
def _poisson(u, lam):
    k = 0
    p = math.exp(-lam)
    cdf = p
    while u >= cdf and k < 50:
        k += 1
        p *= lam / k
        cdf += p
    return k


@njit(inline="always", cache=True)
def _silence_factor(silence, ratio, ramp_days):
    """ratio ** (min(silence, ramp_days) / ramp_days), without pow at the ends of the ramp."""
    if silence >= ramp_days:
        return ratio
    if silence <= 0:
        return 1.0
    return ratio ** (silence / ramp_days)


@njit(inline="always", cache=True)
def _classify(purchases, silence, churned, core_min, dormant_after):
    if churned:
        return CHURNED
    if silence > dormant_after:
        return DORMANT
    if purchases >= core_min:
        return CORE
    if purchases >= 1:
        return NEW
    return POTENTIAL


BLOCK = 64  # users skipped together once all of them have churned (chunks are whole blocks)
MIN_CHUNK = 16 * 1024  # users per parallel chunk at least (a chunk's fixed cost is ~1 us)
CHUNKS_PER_THREAD = 4  # a few chunks per thread even out the load
GROUP_DELTAS = (  # the group counters the step writes, as per-thread int deltas
    "size", "speakers", "pushed", "opened", "leaves", "disruptor_speakers", "koc_speakers",
)  # fmt: skip


def _whole_blocks(users: int) -> int:
    """``users`` rounded up to whole blocks."""
    return -(-users // BLOCK) * BLOCK


def chunk_starts(n: int, threads: int) -> np.ndarray:
    """Chunk boundaries over users [0, n): whole blocks, about CHUNKS_PER_THREAD per thread;
    one chunk on one thread.

    The first chunk sums its users' trust, fatigue and intent as it steps them; the later
    chunks' sums are continued after the step by one serial pass over their users
    (:func:`_sums_in_user_order`), so one thread steps one chunk and makes no pass (~1.7 ms a
    day at 1M users). On more threads the chunks stay equal and small: a first chunk of
    1/threads of the users would shorten the pass, but a thread descheduled while it holds
    that chunk cannot be helped (on the shared machine the step took 40% longer). Results do
    not depend on the chunking (see :func:`step_users`); it only spreads the work.
    """
    if threads <= 1:
        return np.array([0, n], np.int64)
    size = _whole_blocks(max(MIN_CHUNK, -(-n // (threads * CHUNKS_PER_THREAD))))
    return np.append(np.arange(0, max(n, 1), size, dtype=np.int64), np.int64(n))


def step_users(day, n, keys, P, L, U, g_born, g_vitality, g_size, g_speakers, g_pushed, g_opened,
               g_leaves, g_disruption, g_koc, g_disruptor_speakers, g_koc_speakers, B, D,
               threads=None, defer_sums=False):  # fmt: skip
    """Advance users [0, n) by one day (the module docstring gives the order of events).

    Users are split into chunks stepped in parallel on ``threads`` threads (default:
    :func:`~sim.world.threads.resolve_threads`). A user's result depends only on its own state
    and keyed draws, and every output is reduced in the order of the serial loop: counts summed
    per chunk (exact), the group counters as per-thread integer deltas, the event buffers
    concatenated in chunk order, revenue, discount and the trust/fatigue/intent sums added up
    in user order. So the tables are byte-identical for any number of threads. ``D`` holds
    today's calendar scalars (sim.world.timing.day_effects).

    The trust, fatigue and intent sums over several chunks take one serial pass over the users
    (~2 ms a day at 1M users). With ``defer_sums`` that pass is not made here: the function to
    make it is returned (it releases the GIL and reads only arrays this call was given, which
    the next step alone changes), so the caller can run it on another thread while the day's
    serial work goes on, and must have it finished before the next step. It returns the sums
    (trust, fatigue, intent), which B.counters then do not hold. Otherwise the sums are put in
    B.counters and None is returned, as always with one chunk.
    """
    threads = resolve_threads() if threads is None else threads
    starts = chunk_starts(n, threads)
    n_chunks = starts.shape[0] - 1
    parallel = threads > 1 and n_chunks > 1
    counts = np.zeros((n_chunks, len(COUNTERS)), np.float64)
    positions = np.empty((n_chunks, 4), np.int64)
    # the group counters' deltas per thread (numba's thread ids, below its pool's size), not per
    # chunk: integers, exact in any order
    rows = available_threads() if parallel else 1
    deltas = np.zeros((rows, len(GROUP_DELTAS), g_size.shape[0]), np.int32)
    G = group_terms(day, P, g_born, g_vitality, g_disruption, g_koc)
    args = (day, starts, keys, P, L, U, G, counts, positions, deltas, B, D)
    if parallel:
        numba.set_num_threads(threads)
        # chunks handed out one at a time (old users have churned more: chunks differ in cost)
        with numba.parallel_chunksize(1):
            _step_chunks_parallel(*args)
    else:  # one thread: no threading layer at all (safe in a forked worker)
        _step_chunks_serial(*args)
    _reduce(starts, counts, positions, deltas, B,
            (g_size, g_speakers, g_pushed, g_opened, g_leaves, g_disruptor_speakers,
             g_koc_speakers))  # fmt: skip
    sums = (n, starts, U.churn_day, counts, B.dead_blocks, B.sum_trust, B.sum_fatigue,
            B.sum_intent)  # fmt: skip
    if defer_sums and n_chunks > 1:
        return lambda: _sums_in_user_order(*sums)
    B.counters[_N_TRUST_SUM], B.counters[_N_FATIGUE_SUM], B.counters[_N_INTENT_SUM] = (
        _sums_in_user_order(*sums)
    )
    return None


# today's group terms of the users' logits and hazards (columns of group_terms)
_G_LOAD, _G_OPEN, _G_ACTIVE, _G_CONTAGION, _G_NOVELTY, _G_SPEAK_KOC = 0, 1, 2, 3, 4, 5
_G_SPEAK_DISRUPTION, _G_LEAVE = 6, 7
_N_GROUP_TERMS = 8


@njit(cache=True)
def group_terms(day, P, g_born, g_vitality, g_disruption, g_koc):
    """float64[groups, 8]: each group's terms of its members' logits and hazards today.

    The step adds these in the place and order where it once computed them per member, from
    the same expressions, so the members' sums are bit-identical; computing them once a day
    per group saves an exp (the group's novelty) and a few loads per member.
    """
    G = np.empty((g_born.shape[0], _N_GROUP_TERMS), np.float64)
    for g in range(g_born.shape[0]):
        G[g, _G_LOAD] = P.load_disruption * g_disruption[g]
        G[g, _G_OPEN] = P.open_koc * g_koc[g] - P.open_disruption * g_disruption[g]
        G[g, _G_ACTIVE] = P.active_group_vitality * g_vitality[g]
        G[g, _G_CONTAGION] = P.speak_contagion * g_vitality[g]
        G[g, _G_NOVELTY] = P.speak_group_novelty * math.exp(
            -(day - g_born[g]) / P.group_novelty_days
        )
        G[g, _G_SPEAK_KOC] = P.speak_koc * g_koc[g]
        G[g, _G_SPEAK_DISRUPTION] = P.speak_disruption * g_disruption[g]
        G[g, _G_LEAVE] = P.leave_disruption * g_disruption[g]
    return G


@njit(parallel=True, cache=True)
def _step_chunks_parallel(day, starts, keys, P, L, U, G, counts, positions, deltas, B, D):
    """Step every chunk of users; chunk c writes only counts[c], positions[c], its users'
    state and its own stretch of the event buffers (from its first slot on: a user makes at
    most one event of each kind a day), and adds its group counters to its thread's deltas.
    """
    for c in numba.prange(starts.shape[0] - 1):
        _run_chunk(c, numba.get_thread_id(), day, starts, keys, P, L, U, G, counts, positions,
                   deltas, B, D)  # fmt: skip


@njit(cache=True)
def _step_chunks_serial(day, starts, keys, P, L, U, G, counts, positions, deltas, B, D):
    """:func:`_step_chunks_parallel` on this thread (no threading layer: safe after a fork)."""
    for c in range(starts.shape[0] - 1):
        _run_chunk(c, 0, day, starts, keys, P, L, U, G, counts, positions, deltas, B, D)


@njit(cache=True)
def _run_chunk(c, t, day, starts, keys, P, L, U, G, counts, positions, deltas, B, D):
    """Chunk ``c`` of either driver on thread ``t``: its thread's group deltas, its first event
    positions, its users."""
    gd = deltas[t]
    positions[c, :] = starts[c]
    _step_chunk(day, starts[c], starts[c + 1], keys, P, L, U, G, gd[0], gd[1], gd[2], gd[3],
                gd[4], gd[5], gd[6], counts[c], positions[c], B, D)  # fmt: skip


# error_model="numpy": no zero test before each division (every divisor here is positive by
# construction or by the config's validation, so no division the step makes is by zero: the
# results are the same; the tests cost ~8% of the step)
@njit(cache=True, error_model="numpy")
def _step_chunk(day, lo, hi, keys, P, L, U, G, g_size, g_speakers, g_pushed, g_opened, g_leaves,
                g_disruptor_speakers, g_koc_speakers, cnt, ev, B, D):  # fmt: skip
    """Advance users [lo, hi) by one day (the module docstring gives the order of events;
    ``D`` holds today's calendar scalars, sim.world.timing.day_effects).

    Writes only these users' state and the chunk's outputs: ``cnt`` (counts), the group
    counters (its thread's per-group deltas), the event buffers from ``ev`` (the chunk's first
    buffer positions) on, and each user's trust, fatigue and intent in ``B.sum_*`` (summed in
    user order by :func:`_sums_in_user_order`). A block of BLOCK users who have all churned
    costs one test.

    Each user column is read once into a local and the counts are kept in local integers,
    written to ``cnt`` once at the end: LLVM cannot tell a store into ``cnt`` or a column from
    the other columns, so a column read after any store was loaded again.
    """
    k_open, k_active, k_study, k_speak, k_share, k_buy, k_churn = (
        keys[0], keys[1], keys[2], keys[3], keys[4], keys[5], keys[6],
    )  # fmt: skip
    n_products = L.price.shape[0]
    n_trans = ev[_EV_TRANS]
    n_buy = ev[_EV_BUY]
    n_ref = ev[_EV_REF]
    n_lapse = ev[_EV_LAPSE]
    d_open, d_speak, d_payday, d_demand = D[DAY_OPEN], D[DAY_SPEAK], D[DAY_PAYDAY], D[DAY_DEMAND]
    price_keep = D[DAY_PRICE_KEEP]
    timed_today = D[DAY_TIMED] > 0.0
    log_price_keep = math.log(price_keep)
    dead = B.dead_blocks
    direct = lo == 0
    # counts: whole numbers, exact in any order
    n_gone = 0  # churned before today
    n_content_reached = n_opened = n_content_opened = n_promo_opened = 0
    n_active = n_recalls = n_completions = n_spoke = n_shared = n_referrals = n_purchases = 0
    n_churned_today = n_mutes = n_group_leaves = n_lapses = n_lapsed = 0
    n_reachable = n_stage_new = n_stage_core = n_stage_dormant = 0
    # the first chunk's sums: the same additions, in the same (user) order, as into cnt
    sum_trust = cnt[_N_TRUST_SUM]
    sum_fatigue = cnt[_N_FATIGUE_SUM]
    sum_intent = cnt[_N_INTENT_SUM]
    for blk in range(lo // BLOCK, (hi + BLOCK - 1) // BLOCK):
        if dead[blk]:
            n_gone += BLOCK
            continue
        gone = 0
        # an unsigned index: numba then skips the negative-index wraparound on every access
        for i in range(np.uint64(blk * BLOCK), np.uint64(min(blk * BLOCK + BLOCK, hi))):
            if U.churn_day[i] >= 0:
                gone += 1
                continue
            uid = U.uid[i]
            trust = float(U.trust[i])
            g = U.group[i]
            muted = U.muted[i]
            lapsed = U.lapsed[i]
            purchases = U.purchases[i]
            n_promo = float(U.inbox_promo[i])
            n_content = float(U.inbox_content[i])
            n_msgs = n_promo + n_content
            relevance = float(U.inbox_relevance[i]) / n_content if n_content > 0 else 0.0
            contact = U.inbox_contact[i] > 0
            n_reward = float(U.inbox_reward[i])
            seen_messages = not muted and n_msgs > 0
            last_touch = U.last_touch[i]
            if seen_messages or contact or n_reward > 0:  # a muted user does not see messages
                last_touch = day
                U.last_touch[i] = day
            if n_msgs > 0 or contact or n_reward > 0:
                U.reached_days[i] += 1

            # 1. wear and fatigue. Novelty: content pushed again and again wears out; a worn push is
            # felt as load like an irrelevant one
            wear = float(U.wear[i])
            r_eff = 0.0
            if n_content > 0:
                r_eff = relevance / (1.0 + P.wear_weight * wear)  # relevance x novelty
            if wear > 0.0 or n_content > 0:
                wear = P.wear_keep * wear + (1.0 - P.wear_keep) * n_content
                U.wear[i] = wear if wear > 1e-6 else 0.0  # below a push a decade: worn off
            load = 0.0 if muted else n_promo + n_content * (1.0 - P.relevant_fatigue_shield * r_eff)
            if g >= 0 and not muted:  # ads and trolling in the chat are felt like promos
                load += G[g, _G_LOAD]
            fatigue = P.fatigue_keep * U.fatigue[i] + (1.0 - P.fatigue_keep) * load
            excess = _excess(fatigue, P)

            # 2. reading what was pushed today (reading is not activity)
            opened_content = False
            opened_promo = False
            if n_content > 0:
                n_content_reached += 1
            fit = 0.0  # timing fit of today's messages (sim.world.timing)
            if timed_today and n_msgs > 0:  # only read when a message named an hour
                fit = float(U.inbox_timing[i]) / n_msgs
            if not muted and n_msgs > 0:
                u_c, cell_c, u_p, cell_p = _u2_cells(k_open, uid)
                base = P.open_intercept + P.open_trust * (trust - 0.5) - P.open_fatigue * excess
                base += d_open + P.timing_open_weight * fit
                if lapsed:
                    base -= P.lapsed_open_penalty
                if g >= 0:  # the group's mood: KOCs draw members in, disruptors put them off
                    base += G[g, _G_OPEN]
                if n_content > 0:
                    x = base + P.open_relevance * r_eff
                    opened_content = _below_any_of_at(u_c, cell_c, x, n_content)
                    if g >= 0:  # the group's pushed-content open rate (promos are not group life)
                        g_pushed[g] += 1
                        if opened_content:
                            g_opened[g] += 1
                if n_promo > 0:
                    x = base + P.open_relevance * P.promo_relevance
                    opened_promo = _below_any_of_at(u_p, cell_p, x, n_promo)
            opened = opened_content or opened_promo
            if opened:
                U.last_open[i] = day
                U.open_days[i] += 1
                n_opened += 1
            if opened_content:
                n_content_opened += 1
            if opened_promo:
                U.offer_open_days[i] += 1
                n_promo_opened += 1

            # 3. trust and buying intent
            if not muted:
                irrelevant = n_promo * (1.0 - P.promo_relevance) + n_content * (1.0 - r_eff)
                trust -= P.trust_loss_irrelevant * irrelevant
            need = U.need[i]
            intent = float(U.intent[i])
            intent += P.intent_regrow_per_day * (need - intent)
            if opened_content:
                trust += P.trust_gain_relevant * r_eff * min(n_content, 3.0)
                ceiling = min(1.0, P.intent_paving_ceiling * need)
                if intent < ceiling:
                    intent += P.intent_paving * r_eff * (ceiling - intent)
            if contact:
                trust += P.trust_gain_contact
            if n_reward > 0:
                value = float(U.inbox_reward_value[i])
                if value > 0.0:
                    # grows with the value and saturates; a trusting user has less left to gain
                    gain = P.trust_gain_reward * (1.0 - math.exp(-value / P.reward_value_scale))
                    trust += gain * (1.0 - trust)
                U.last_claim[i] = day

            # 4. activity
            ladder = U.ladder[i]
            last_purchase = U.last_purchase[i]
            since_buy = day - last_purchase if last_purchase != NO_DAY else NEVER_DAYS
            in_camp = ladder == 1 and since_buy < P.camp_days
            last_active = U.last_active[i]
            silence = day - last_active if last_active != NO_DAY else NEVER_DAYS
            engagement_logit = U.engagement_logit[i]
            logit = (
                P.active_intercept
                + P.active_engagement * engagement_logit
                + P.active_trust * (trust - 0.5)
                - P.habit_decay_per_day * min(max(silence - 1, 0), P.habit_decay_cap_days)
            )
            if g >= 0:
                logit += G[g, _G_ACTIVE]
            if opened_content:
                logit += P.active_opened_content * r_eff
            if opened_promo:
                logit += P.active_opened_promo
            if contact:
                logit += P.active_contact
            if muted:
                logit += P.active_muted
            if in_camp:
                logit += P.camp_checkin
            if last_touch == NO_DAY or day - last_touch > P.forget_after_days:
                logit -= P.forget_penalty
            drift = logit  # the user's engagement today, before the lapsed state
            coupon_expiry = U.coupon_expiry[i]
            if lapsed:
                logit -= P.lapsed_activity_penalty
                if coupon_expiry >= day:
                    logit += P.recall_coupon * U.coupon_discount[i]
            u_a, cell_a = _u1_cell(k_active, uid)
            active = _below_sigmoid_at(u_a, cell_a, logit)
            if lapsed and active:  # recalled
                lapsed = False
                U.lapsed[i] = False
                B.lapse_user[n_lapse] = i
                B.lapse_event[n_lapse] = EV_RECALL
                n_lapse += 1
                n_recalls += 1

            active_bits = U.active_bits[i] << np.uint32(1)
            speak_bits = U.speak_bits[i] << np.uint32(1)
            if active:
                n_active += 1
                U.last_active[i] = day
                silence = 0
                active_bits |= np.uint32(1)
                # 5a. study (a camp day is a check-in: it builds the need for the course)
                progress = U.progress[i]
                engagement = U.engagement[i]
                studies = ladder > 0 and progress < 1.0
                if studies and _u1(k_study, uid) < 0.5 + 0.5 * engagement:
                    step_rate = L.study_per_active_day[ladder - 1]
                    gain = step_rate * (0.5 + P.study_engagement * engagement)
                    progress = np.float32(min(1.0, progress + gain))  # as stored, then compared
                    U.progress[i] = progress
                    if progress >= 1.0:
                        U.completed[i] += 1
                        trust += P.trust_gain_completion
                        n_completions += 1
                if in_camp:
                    intent += P.camp_intent_gain * (1.0 - intent)
                # 5b. speak (promos received today make the group an ad dump)
                if g >= 0:
                    speak_logit = (
                        P.speak_intercept
                        + P.speak_engagement * engagement_logit
                        + G[g, _G_CONTAGION]
                        - P.speak_fatigue * excess
                        - P.speak_promo * min(n_promo, 3.0)
                        + d_speak
                        + G[g, _G_NOVELTY]
                        + G[g, _G_SPEAK_KOC]
                        - G[g, _G_SPEAK_DISRUPTION]
                    )
                    disruptive = U.disruptive[i]
                    if disruptive:
                        speak_logit += P.disruptor_speak_lift
                    koc_fresh = 0.0  # a recently rewarded KOC: 1 on the reward day, fading to 0
                    koc_day = U.koc_day[i]
                    if koc_day != NO_DAY:
                        koc_fresh = max(0.0, 1.0 - (day - koc_day) / P.koc_fade_days)
                        speak_logit += P.koc_speak_lift * koc_fresh
                    u_sp, cell_sp = _u1_cell(k_speak, uid)
                    if _below_sigmoid_at(u_sp, cell_sp, speak_logit):
                        speak_bits |= np.uint32(1)
                        if disruptive:  # ads and trolling are not group life
                            g_disruptor_speakers[g] += 1
                        else:
                            g_speakers[g] += 1
                            if koc_fresh > 0.0:
                                g_koc_speakers[g] += 1
                        n_spoke += 1
                # 5c. share → friends who register tomorrow
                u_s, cell_s, u_k, _ = _u2_cells(k_share, uid)
                share_logit = P.share_intercept + P.share_trust * (trust - 0.5) + engagement_logit
                per_share = P.referrals_per_share
                if U.share_until[i] >= day:  # a referral incentive is running for this user
                    share_logit += U.share_boost[i]
                    per_share = P.incentive_friends_per_share
                if _below_sigmoid_at(u_s, cell_s, share_logit):
                    n_shared += 1
                    friends = _poisson(u_k, per_share)
                    if friends > 0:
                        B.ref_user[n_ref] = i
                        B.ref_count[n_ref] = friends
                        n_ref += 1
                        U.referrals[i] += friends
                        n_referrals += friends
            U.active_bits[i] = active_bits
            U.speak_bits[i] = speak_bits

            # 5d. a buying occasion (an active day, or an opened promo): the next ladder step (the
            # top step repeats), with odds scaled by intent
            if (active or opened_promo) and not lapsed:
                step = ladder if ladder < n_products else n_products - 1
                if since_buy >= L.min_gap_days[step]:
                    price = L.price[step]
                    coupon = 0.0
                    log_ratio = L.log_price_ratio[step]
                    if coupon_expiry >= day:
                        coupon = float(U.coupon_discount[i])
                        log_ratio += math.log(1.0 - coupon)
                    paid = price * (1.0 - coupon) * price_keep  # a campaign cuts list prices
                    log_ratio += log_price_keep
                    price_sensitivity = U.price_sensitivity[i]
                    logit = (
                        L.base_logit[step]
                        + P.purchase_trust * (trust - 0.5)
                        - price_sensitivity
                        * (log_ratio - P.wallet_income_elasticity * U.log_income_ratio[i])
                        - P.affordability_weight * paid / max(float(U.income[i]), 1.0)
                        - P.purchase_fatigue * excess
                        + U.buy_logit_offset[i]
                        + d_demand
                        + d_payday * price_sensitivity
                    )
                    if opened_promo:
                        logit += P.promo_lift_per_trust * trust + P.timing_buy_weight * fit
                    if ladder == 1 and P.camp_days <= since_buy < P.camp_days + P.camp_offer_days:
                        logit += P.camp_offer_lift
                    if _below_scaled_sigmoid(_u1(k_buy, uid), intent, logit):
                        purchases += 1
                        U.purchases[i] = purchases
                        if ladder < n_products:
                            U.ladder[i] = ladder + 1
                        U.revenue[i] += paid
                        U.discount[i] += price - paid
                        if U.first_purchase[i] == NO_DAY:
                            U.first_purchase[i] = day
                        U.last_purchase[i] = day
                        U.progress[i] = 0.0
                        intent *= 1.0 - P.intent_consumed
                        if coupon > 0:
                            U.coupon_expiry[i] = -1
                            U.last_claim[i] = day
                        B.buy_user[n_buy] = i
                        B.buy_step[n_buy] = step
                        B.buy_paid[n_buy] = paid
                        B.buy_discount[n_buy] = price - paid
                        n_buy += 1
                        n_purchases += 1  # revenue, discount: summed by _reduce

            # 6. exits: one uniform against cumulative hazards (at most one exit a day). The exact
            # hazards need exp/pow; they are computed only when u falls below their upper bound
            frailty = float(U.frailty[i])
            churn_scale = P.churn_base_hazard * U.churn_multiplier[i] * frailty
            h_block = P.block_per_excess * excess
            h_mute = 0.0 if muted else P.mute_per_excess * excess
            h_leave = 0.0
            if g >= 0:
                h_leave = (
                    P.group_leave_base_hazard + P.group_leave_per_excess * excess + G[g, _G_LEAVE]
                )
            can_lapse = not lapsed and not active
            u = _u1(k_churn, uid)
            h_bound = churn_scale * P.churn_hazard_bound + h_block + h_mute + h_leave
            if can_lapse:
                h_bound += P.lapse_hazard_cap
            churned = False
            if u < h_bound:
                h_churn = (
                    churn_scale
                    * _silence_factor(silence, P.churn_silence_ratio, P.churn_silence_ramp_days)
                    * math.exp(-P.churn_trust * (trust - 0.5))
                    + h_block
                )
                h_lapse = 0.0
                if can_lapse:  # disengagement: the less engaged today, the likelier to lapse
                    h_lapse = min(
                        P.lapse_hazard_cap,
                        P.lapse_base_hazard * frailty * math.exp(-P.lapse_activity_weight * drift)
                        + P.lapse_per_excess * excess,
                    )
                if u < h_churn:
                    churned = True
                    U.churn_day[i] = day
                    n_churned_today += 1
                elif u < h_churn + h_mute:
                    U.muted[i] = True
                    n_mutes += 1
                elif u < h_churn + h_mute + h_leave:
                    g_size[g] -= 1
                    g_leaves[g] += 1
                    U.group[i] = -1
                    n_group_leaves += 1
                elif u < h_churn + h_mute + h_leave + h_lapse:
                    lapsed = True
                    U.lapsed[i] = True
                    U.lapse_day[i] = day
                    B.lapse_user[n_lapse] = i
                    B.lapse_event[n_lapse] = EV_LAPSE
                    n_lapse += 1
                    n_lapses += 1
            if churned and g >= 0:
                g_size[g] -= 1
                g_leaves[g] += 1
                U.group[i] = -1
                n_group_leaves += 1

            # 7. trust drifts toward its floor; write back state; clear the inbox
            trust -= P.trust_decay * (trust - P.trust_floor)
            trust = min(1.0, max(0.0, trust))
            U.trust[i] = trust
            U.fatigue[i] = fatigue
            U.intent[i] = intent
            if n_msgs > 0:
                U.inbox_promo[i] = 0
                U.inbox_content[i] = 0
                U.inbox_relevance[i] = 0.0
                if fit != 0.0:
                    U.inbox_timing[i] = 0.0
            if contact:
                U.inbox_contact[i] = 0
            if n_reward > 0:
                U.inbox_reward[i] = 0
                U.inbox_reward_value[i] = 0.0

            # 8. lifecycle stage (churned today: counted with n_churned_today)
            new_stage = _classify(purchases, silence, churned, P.core_min_purchases,
                                  P.dormant_after_days)  # fmt: skip
            old_stage = U.stage[i]
            if new_stage != old_stage:
                B.trans_user[n_trans] = i
                B.trans_from[n_trans] = old_stage
                B.trans_to[n_trans] = new_stage
                n_trans += 1
                U.stage[i] = new_stage
            if not churned:
                n_reachable += 1
                n_stage_new += new_stage == NEW
                n_stage_core += new_stage == CORE
                n_stage_dormant += new_stage == DORMANT
                if direct:  # the first chunk's users come first: they sum in order here
                    sum_trust += trust
                    sum_fatigue += fatigue
                    sum_intent += intent
                else:  # later chunks' sums continue the first's: _sums_in_user_order
                    B.sum_trust[i] = trust
                    B.sum_fatigue[i] = fatigue
                    B.sum_intent[i] = intent
                if lapsed:
                    n_lapsed += 1
        n_gone += gone
        if gone == BLOCK:  # (churned users never return; a full block never gains users)
            dead[blk] = True
    ev[_EV_TRANS] = n_trans
    ev[_EV_BUY] = n_buy
    ev[_EV_REF] = n_ref
    ev[_EV_LAPSE] = n_lapse
    # the chunk's counts into its row of counters (whole numbers: exact)
    cnt[_N_STAGE_CHURNED] += n_gone + n_churned_today
    cnt[_N_CONTENT_REACHED] += n_content_reached
    cnt[_N_OPENED] += n_opened
    cnt[_N_CONTENT_OPENED] += n_content_opened
    cnt[_N_PROMO_OPENED] += n_promo_opened
    cnt[_N_ACTIVE] += n_active
    cnt[_N_RECALLS] += n_recalls
    cnt[_N_COMPLETIONS] += n_completions
    cnt[_N_SPOKE] += n_spoke
    cnt[_N_SHARED] += n_shared
    cnt[_N_REFERRALS] += n_referrals
    cnt[_N_PURCHASES] += n_purchases
    cnt[_N_CHURNED_TODAY] += n_churned_today
    cnt[_N_MUTES] += n_mutes
    cnt[_N_GROUP_LEAVES] += n_group_leaves
    cnt[_N_LAPSES] += n_lapses
    cnt[_N_LAPSED] += n_lapsed
    cnt[_N_REACHABLE] += n_reachable
    cnt[_N_STAGE_NEW] += n_stage_new
    cnt[_N_STAGE_CORE] += n_stage_core
    cnt[_N_STAGE_DORMANT] += n_stage_dormant
    cnt[_N_STAGE_POTENTIAL] += n_reachable - n_stage_new - n_stage_core - n_stage_dormant
    if direct:
        cnt[_N_TRUST_SUM] = sum_trust
        cnt[_N_FATIGUE_SUM] = sum_fatigue
        cnt[_N_INTENT_SUM] = sum_intent


@njit(cache=True)
def _reduce(starts, counts, positions, deltas, B, groups):
    """Fold the chunks' outputs into the day's counters, buffers and groups, in user order
    (all but the trust, fatigue and intent sums: :func:`_sums_in_user_order`)."""
    cnt = B.counters
    for c in range(counts.shape[0]):
        for k in range(counts.shape[1]):
            cnt[k] += counts[c, k]  # counts: integers, exact in any order
    sizes = B.sizes
    sizes[:] = 0
    for c in range(positions.shape[0]):  # concatenate each chunk's events in chunk order
        first = starts[c]
        m = positions[c, _EV_TRANS] - first
        p = sizes[_EV_TRANS]
        B.trans_user[p : p + m] = B.trans_user[first : first + m]
        B.trans_from[p : p + m] = B.trans_from[first : first + m]
        B.trans_to[p : p + m] = B.trans_to[first : first + m]
        sizes[_EV_TRANS] += m
        m = positions[c, _EV_BUY] - first
        p = sizes[_EV_BUY]
        B.buy_user[p : p + m] = B.buy_user[first : first + m]
        B.buy_step[p : p + m] = B.buy_step[first : first + m]
        B.buy_paid[p : p + m] = B.buy_paid[first : first + m]
        B.buy_discount[p : p + m] = B.buy_discount[first : first + m]
        sizes[_EV_BUY] += m
        m = positions[c, _EV_REF] - first
        p = sizes[_EV_REF]
        B.ref_user[p : p + m] = B.ref_user[first : first + m]
        B.ref_count[p : p + m] = B.ref_count[first : first + m]
        sizes[_EV_REF] += m
        m = positions[c, _EV_LAPSE] - first
        p = sizes[_EV_LAPSE]
        B.lapse_user[p : p + m] = B.lapse_user[first : first + m]
        B.lapse_event[p : p + m] = B.lapse_event[first : first + m]
        sizes[_EV_LAPSE] += m
    revenue = 0.0
    discount = 0.0
    for k in range(sizes[_EV_BUY]):
        revenue += B.buy_paid[k]
        discount += B.buy_discount[k]
    cnt[_N_REVENUE] += revenue
    cnt[_N_DISCOUNT] += discount
    for k in range(len(groups)):
        g_col = groups[k]
        for t in range(deltas.shape[0]):
            for g in range(deltas.shape[2]):
                g_col[g] += deltas[t, k, g]


@njit(cache=True, nogil=True)
def _sums_in_user_order(n, starts, churn_day, counts, dead, sum_trust, sum_fatigue, sum_intent):
    """The day's trust, fatigue and intent sums in user order: the first chunk's sums continued
    over the later chunks' users (sum_*: each reachable user's value). The only serial pass over
    the users: none with one chunk (:func:`chunk_starts`)."""
    trust = counts[0, _N_TRUST_SUM]  # the first chunk's sums, taken in user order
    fatigue = counts[0, _N_FATIGUE_SUM]
    intent = counts[0, _N_INTENT_SUM]
    first = starts[1]
    for blk in range(first // BLOCK, (n + BLOCK - 1) // BLOCK):  # the others continue them
        if dead[blk]:
            continue
        for i in range(np.uint64(max(blk * BLOCK, first)), np.uint64(min(blk * BLOCK + BLOCK, n))):
            if churn_day[i] < 0:
                trust += sum_trust[i]
                fatigue += sum_fatigue[i]
                intent += sum_intent[i]
    return trust, fatigue, intent


@njit(cache=True)
def classify_all(n, U, core_min, dormant_after, day):
    """Set every user's stage from its state (used once for the initial base)."""
    for i in range(n):
        last = U.last_active[i]
        silence = day - last if last != NO_DAY else NEVER_DAYS
        U.stage[i] = _classify(U.purchases[i], silence, U.churn_day[i] >= 0, core_min,
                               dormant_after)  # fmt: skip
        U.initial_stage[i] = U.stage[i]
