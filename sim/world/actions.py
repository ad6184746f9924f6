"""The action vocabulary: everything operations can do to a batch of users.

Strategies act only through :class:`Operations`; the engine applies the effect and books the cost.
Each action fills the users' *inbox* for today (read and cleared by the behaviour step) or changes
membership/offer state directly. Costs go to the :class:`Ledger`, per user and per strategy.

=====================  =====================================  =====================================
action                 effect on user state                   cost
=====================  =====================================  =====================================
push_content           +1 content message today, with the     ``costs.message`` ¥ per user
                       relevance of its tier × category to
                       the user's stage and preference
send_promo             +1 promotional message today (low      ``costs.message`` ¥ per message
                       relevance; an opened promo lifts the
                       purchase odds by exp(w × trust))
give_coupon            discount on the next purchase for     ``costs.coupon_issue`` ¥ per coupon;
                       ``valid_days`` days, today included    the discount itself is revenue
                       (replaces an older coupon)             forgone, recorded as ``discount``
contact_1v1            1v1 contact today: trust and activity  ``costs.contact_minutes`` operator
                       boost                                  minutes × ``costs.operator_hourly``
invite_to_group        joins an open group (if not in one)    none
remove_from_group      leaves its group; trust penalty; an    none
                       ordinary member seen speaking costs
                       the rest of its group some trust
reward                 points and/or a gift: trust boost      gift value + points × ``point_value``
                       growing with the ¥ value, saturating;
                       counts as a claimed benefit
referral_incentive     for ``days`` days, sharing is more     none when offered; the strategy books
                       likely (boost saturating in the        each reward it pays (``reward``) as
                       reward's ¥ value) and each share       invites succeed
                       brings more friends
=====================  =====================================  =====================================

Two helpers are not booked actions: ``flag_disruptive`` (what an operator's judgement sees:
noisy signals of disruptive members, :mod:`sim.world.social`) and ``recognise_koc`` (the KOC
title given with a programme's reward); ``end_referral_incentive`` closes a referral drive's
window early and books nothing.

``push_content`` and ``send_promo`` take an ``hour`` (0-23; -1 = each user's segment peak, -2 =
its trough; none = no set hour): the message's timing fit under the user's segment hour profile
(:mod:`sim.world.timing`) raises or lowers its open odds and, for a promotion, the purchase odds.

Churned users are unreachable: actions silently skip them (and cost nothing).

Contact pressure (:mod:`sim.world.pressure`) applies to every strategy together: users over a
per-user cap are dropped from a batch, and 1v1 contacts beyond the operators' capacity are
postponed to the next day (``contact_1v1`` returns only the users reached today).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Protocol

import numpy as np
from pydantic import AfterValidator, Field

from sim.calendar import Calendar, date_of, weekday_of
from sim.world import batches
from sim.world.lifecycle import CHURNED, CORE, DORMANT, NEW, POTENTIAL
from sim.world.params import CONTENT_TIERS, PREFERENCES, BehaviourParams, WorldParams
from sim.world.population import Population, grow_array
from sim.world.pressure import Pressure
from sim.world.social import flag_disruptive, spoke_recently, wrongly_removed_hit

if TYPE_CHECKING:  # the groups' kernels load numba; validating a config needs only the name
    from sim.world.groups import Groups

# action -> the daily-table column counting what it sent (messages, coupons, contacts, ...)
ACTION_COLUMNS = {
    "push_content": "messages_content",
    "send_promo": "messages_promo",
    "give_coupon": "coupons_issued",
    "contact_1v1": "contacts_1v1",
    "invite_to_group": "group_invites",
    "remove_from_group": "group_removals",
    "reward": "rewards",
    "referral_incentive": "referral_incentives",
}
ACTIONS = tuple(ACTION_COLUMNS)
# methods of Operations that change user state but are not booked actions (no cost, no column)
UNBOOKED_ACTIONS = ("recognise_koc", "end_referral_incentive")
# user columns a strategy may not read: the truth behind what operators only see as signals
HIDDEN_FIELDS = ("disruptive",)


def _one_of(allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {list(allowed)}")
        return value

    return AfterValidator(check)


# The parameter types of the actions: a rule's `do.params` is validated against them when the
# config is loaded (sim.rules.schema), so a bad value is refused before anything is simulated.
Tier = Annotated[str, _one_of(CONTENT_TIERS)]
Category = Annotated[str, _one_of(PREFERENCES)]
Discount = Annotated[float, Field(gt=0, lt=1, description="share off the price")]
ValidDays = Annotated[int, Field(ge=1, le=3650, description="days, today included")]
Count = Annotated[int, Field(ge=1, le=100, description="messages per user")]
Minutes = Annotated[float, Field(gt=0, le=1440, description="operator minutes per contact")]
Amount = Annotated[float, Field(ge=0, le=1e9, description="points or ¥")]
Hour = Annotated[
    int, Field(ge=-2, le=23, description="hour 0-23; -1 = segment peak, -2 = segment trough")
]
Days = Annotated[int, Field(ge=1, le=365, description="days the incentive runs, today included")]
PEAK_HOUR, TROUGH_HOUR = -1, -2


def reward_problem(points: float, gift: float) -> str | None:
    """Why a reward of ``points`` and ``gift`` cannot be given, or None."""
    if points < 0 or gift < 0 or points + gift <= 0:
        return "reward needs positive points or gift"
    return None


# the content tier that fits each stage [000][003]
STAGE_TIER = {
    POTENTIAL: "free",
    NEW: "camp",
    CORE: "member",
    DORMANT: "comeback",
    CHURNED: "comeback",
}
_STAGE_TIER_CODE = np.array([CONTENT_TIERS.index(STAGE_TIER[s]) for s in range(5)], np.int8)


class WorldState(Protocol):
    """The running world that the action vocabulary acts on.

    The engine's :class:`~sim.engine.simulation.Simulation` is one; the protocol names only what
    :class:`Operations` reads, so the world layer never imports the engine.
    """

    day: int
    seed: int
    world: WorldParams
    pop: Population
    groups: Groups
    ledger: Ledger
    pressure: Pressure
    calendar: Calendar
    hour_fit: np.ndarray  # float32[segment, hour] (sim.world.timing.hour_fit_table)
    timed_today: bool  # a message named an hour today (the step reads timing fits)


class Ledger:
    """Money and operator time spent, by day, strategy and action.

    With ``keep_users=True`` (tests, audits) it also keeps ``user_rows``: (day, strategy, action,
    user slots, units per user) for every booking.
    """

    COLUMNS = ("day", "strategy", "action", "users", "units", "cost_money", "operator_hours")

    def __init__(self, keep_users: bool = False) -> None:
        self.rows: list[tuple[int, str, str, int, int, float, float]] = []
        self.today: dict[str, float] = defaultdict(float)
        self.keep_users = keep_users
        self.user_rows: list[tuple[int, str, str, np.ndarray, int]] = []
        # per strategy label: (money, operator hours) per user slot, for net value by strategy
        self.per_user: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def user_accounts(self, strategy: str, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
        """(money, operator hours) spent on each user slot by ``strategy``: the arrays to add a
        booking to, grown to hold ``n_slots``."""
        money, hours = self.per_user.get(strategy, (np.zeros(0), np.zeros(0)))
        money, hours = grow_array(money, n_slots), grow_array(hours, n_slots)
        self.per_user[strategy] = (money, hours)
        return money, hours

    def book(
        self, day: int, strategy: str, action: str, users: int, units: int, money: float,
        hours: float,
    ) -> None:  # fmt: skip
        """Record one action on ``users`` users, ``units`` items sent (messages, coupons ...)."""
        self.rows.append((day, strategy, action, users, units, money, hours))
        self.today[ACTION_COLUMNS[action]] += units
        self.today["cost_money"] += money
        self.today["operator_hours"] += hours

    def close_day(self) -> dict[str, float]:
        out = dict(self.today)
        self.today.clear()
        return out


class _ReachableMemo:
    """The array :meth:`Operations.reachable` last returned, the day and population size it
    was made for, and the buffers such arrays are made in."""

    def __init__(self) -> None:
        self.slots: np.ndarray | None = None
        self.day = -1
        self.n = -1
        self.buffers = batches.Recycled()


class Operations:
    """The public face of the engine for one strategy: a read-only view and the actions.

    ``ops.day`` is today; ``ops.field(name)`` is a read-only array over all user slots
    (churned users included; use ``ops.reachable()`` to exclude them). ``ops.last_users`` holds
    the slots the last action reached. ``ops.labelled(name)`` books under another strategy name
    (e.g. one label per rule).

    ``audience`` restricts a strategy to one side of an experiment's split: ``True`` = only
    users assigned to the treatment, ``False`` = only the others, ``None`` = everyone. Users
    outside the audience are invisible to ``reachable()`` and skipped by every action.
    """

    def __init__(self, sim: WorldState, strategy: str, audience: bool | None = None) -> None:
        self._sim = sim
        self.strategy = strategy
        self.audience = audience
        self.last_users: np.ndarray = np.zeros(0, np.int64)
        self.postponed: np.ndarray = np.zeros(0, np.int64)
        self._reachable = _ReachableMemo()  # shared with labelled()

    def release(self) -> None:
        """Let go of the buffers reachable() fills (when no more days will be run)."""
        self._reachable.slots = None
        self._reachable.buffers = batches.Recycled()

    def labelled(self, strategy: str) -> Operations:
        """The same operations, booked (costs, pressure counts) under ``strategy``."""
        ops = Operations(self._sim, strategy, self.audience)
        ops._reachable = self._reachable
        return ops

    # -- reading -----------------------------------------------------------------------------
    @property
    def day(self) -> int:
        return self._sim.day

    @property
    def date(self) -> dt.date:
        """Today's date (``world.calendar.start_date`` + day)."""
        return date_of(self._sim.world.calendar.start_date, self._sim.day)

    @property
    def weekday(self) -> int:
        """Today's weekday, 0 = Monday … 6 = Sunday."""
        return weekday_of(self._sim.world.calendar.start_date, self._sim.day)

    def timing_fit(self, users: np.ndarray, hour: int) -> np.ndarray:
        """The timing fit of a message at ``hour`` for each user (its segment's profile − 0.5);
        ``hour`` -1 / -2 is each user's segment peak / trough."""
        table = self._sim.hour_fit
        segment = self._sim.pop.col("occupation")[users]
        if hour == PEAK_HOUR:
            return table.max(axis=1)[segment]
        if hour == TROUGH_HOUR:
            return table.min(axis=1)[segment]
        if not 0 <= hour <= 23:
            raise ValueError(f"hour must be 0-23, -1 (peak) or -2 (trough), got {hour}")
        return table[segment, hour]

    @property
    def n_users(self) -> int:
        return self._sim.pop.n

    @property
    def seed(self) -> int:
        """The run's seed (for keyed draws such as hold-outs)."""
        return self._sim.seed

    @property
    def world(self) -> WorldParams:
        """The world parameters (immutable): costs, lifecycle thresholds, ..."""
        return self._sim.world

    def field(self, name: str) -> np.ndarray:
        if name in HIDDEN_FIELDS:
            raise KeyError(
                f"'{name}' is hidden from strategies (operators cannot see it); "
                "use ops.flag_disruptive for what they can see"
            )
        # as_strided(writeable=False): a view whose write flag cannot be switched back on
        return np.lib.stride_tricks.as_strided(self._sim.pop.col(name), writeable=False)

    def reachable(self) -> np.ndarray:
        """Slots of users who can still be reached (not churned, in this strategy's audience),
        in order, as a read-only array (take a copy to change it)."""
        pop, memo = self._sim.pop, self._reachable
        memo.slots = None  # yesterday's array: its buffer may be taken again
        buffer = memo.buffers.take(pop.n, pop.capacity)
        slots = batches.reachable_slots(
            pop.col("churn_day"), pop.col("assigned"), self._code, buffer
        )
        # read-only for good (as_strided's flag cannot be switched back on): so an action
        # given this very array today can trust it without checking each slot again
        memo.slots = np.lib.stride_tricks.as_strided(slots, writeable=False)
        memo.day, memo.n = self._sim.day, pop.n
        return memo.slots

    @property
    def _code(self) -> int:
        """The audience as the compiled loops take it."""
        return batches.EVERYONE if self.audience is None else int(self.audience)

    def _is_reachable_today(self, users: np.ndarray) -> bool:
        """``users`` is the array reachable() returned today (no user has churned or arrived
        since: churn happens in the behaviour step, arrivals before any action)."""
        memo = self._reachable
        return users is memo.slots and memo.day == self._sim.day and memo.n == self._sim.pop.n

    def after(self, days: int, callback: Callable[[Operations], None]) -> None:
        """Run ``callback(ops)`` ``days`` days from today, before that day's behaviour."""
        self._sim.calendar.schedule(days, lambda: callback(self))

    # -- acting ------------------------------------------------------------------------------
    def _targets(self, users: np.ndarray) -> np.ndarray:
        """The distinct ``users`` (in slot order) who are reachable and in the audience."""
        if self._is_reachable_today(users):
            return users
        users = np.ascontiguousarray(users, dtype=np.int64).reshape(-1)
        pop = self._sim.pop
        audience = self._code
        churn_day, assigned = pop.col("churn_day"), pop.col("assigned")
        kept, status = batches.reachable_among(users, churn_day, assigned, audience)
        if status == batches.UNSORTED:  # one pass found them out of order: sort, then select
            users = _sorted_unique(users)
            kept, status = batches.reachable_among(users, churn_day, assigned, audience)
        if status == batches.OUT_OF_RANGE:
            raise IndexError(f"strategy '{self.strategy}' addressed a user slot out of range")
        return kept

    def _admit(self, action: str, users: np.ndarray, units: int = 1) -> np.ndarray:
        """Reachable users minus those over their contact-pressure cap."""
        return self._sim.pressure.admit(action, self._targets(users), units, self.strategy)

    def _book(
        self, action: str, users: np.ndarray, money_each: float, hours_each: float = 0.0,
        units_each: int = 1, inbox: str | None = None,
    ) -> None:  # fmt: skip
        """Charge ``users`` for ``action`` (each user's cost and its share in this strategy's
        accounts), write the ledger row, count the pressure; with ``inbox`` (a uint8 inbox
        column), also deliver ``units_each`` items into it, in the same pass over the users."""
        pop, ledger = self._sim.pop, self._sim.ledger
        money = hours = None
        if money_each or hours_each:
            money, hours = ledger.user_accounts(self.strategy, pop.n)
        # a zero price is not added: adding 0.0 would change nothing (the sums are never -0.0)
        batches.deliver_and_charge(
            users, None if inbox is None else pop.col(inbox), units_each,
            pop.col("cost"), money if money_each else None, money_each,
        )  # fmt: skip
        if hours_each:
            batches.add_each_to_both(pop.col("operator_hours"), hours, users, hours_each)
        n = int(users.shape[0])
        ledger.book(
            self.day, self.strategy, action, n, n * units_each, n * money_each, n * hours_each
        )
        if ledger.keep_users:
            ledger.user_rows.append((self.day, self.strategy, action, users.copy(), units_each))
        self._sim.pressure.record(action, users, units_each)
        self.last_users = users

    def push_content(
        self, users: np.ndarray, tier: Tier, category: Category | None = None,
        hour: Hour | None = None,
    ) -> int:  # fmt: skip
        """Push one piece of content of ``tier``; ``category=None`` personalises it to each
        user's preference; ``hour`` times it (none = no set hour). Returns how many users were
        reached."""
        if hour is not None:
            self.timing_fit(np.zeros(0, np.int64), hour)  # validates the hour before acting
        if tier not in CONTENT_TIERS:
            raise ValueError(f"unknown content tier {tier!r}; expected one of {CONTENT_TIERS}")
        if category is not None and category not in PREFERENCES:
            raise ValueError(f"unknown category {category!r}; expected one of {PREFERENCES}")
        users = self._admit("push_content", users)
        pop = self._sim.pop
        relevance = _relevance_table(tier, category, self._sim.world.behaviour)
        batches.add_from_table(
            pop.col("inbox_relevance"), users, relevance, pop.col("stage"), pop.col("preference")
        )
        self._add_timing(users, hour, 1)
        self._book("push_content", users, self._sim.world.costs.message, inbox="inbox_content")
        return int(users.shape[0])

    def send_promo(self, users: np.ndarray, count: Count = 1, hour: Hour | None = None) -> int:
        """Send ``count`` promotional messages for each user's next product, at ``hour`` (none
        = no set hour)."""
        if count < 1:
            raise ValueError("count must be >= 1")
        if hour is not None:
            self.timing_fit(np.zeros(0, np.int64), hour)  # validates the hour before acting
        users = self._admit("send_promo", users, count)
        self._add_timing(users, hour, count)
        message = self._sim.world.costs.message
        self._book("send_promo", users, count * message, units_each=count, inbox="inbox_promo")
        return int(users.shape[0])

    def give_coupon(self, users: np.ndarray, discount: Discount, valid_days: ValidDays) -> int:
        """A coupon of ``discount`` (0..1) off the next purchase, valid ``valid_days`` days."""
        if not 0.0 < discount < 1.0:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        if valid_days < 1:
            raise ValueError(f"valid_days must be >= 1, got {valid_days}")
        users = self._admit("give_coupon", users)
        pop = self._sim.pop
        batches.set_each(pop.col("coupon_discount"), users, discount)
        batches.set_each(pop.col("coupon_expiry"), users, self.day + valid_days - 1)
        self._book("give_coupon", users, self._sim.world.costs.coupon_issue)
        return int(users.shape[0])

    def contact_1v1(self, users: np.ndarray, minutes: Minutes | None = None) -> int:
        """A human 1v1 conversation today (costs operator time).

        Contacts beyond today's operator capacity are queued for the next days; ``self.postponed``
        holds the slots queued by this call. Returns how many users were reached today."""
        if (minutes if minutes is not None else 1.0) <= 0:
            raise ValueError("minutes must be > 0")
        waiting = self._contact_now(users, minutes)
        self.postponed = waiting
        self._sim.pressure.postpone(lambda u: self._contact_now(u, minutes), self.strategy, waiting)
        return int(self.last_users.shape[0])

    def _contact_now(self, users: np.ndarray, minutes: float | None) -> np.ndarray:
        """Contact whom today's capacity allows; return the (ordered) rest."""
        costs = self._sim.world.costs
        hours = (costs.contact_minutes if minutes is None else minutes) / 60.0
        served, waiting = self._sim.pressure.take_capacity(self._admit("contact_1v1", users))
        batches.set_each(self._sim.pop.col("inbox_contact"), served, 1)
        self._book("contact_1v1", served, hours * costs.operator_hourly, hours)
        return waiting

    def invite_to_group(self, users: np.ndarray) -> int:
        """Invite users who are in no group into an open group."""
        users = self._targets(users)
        group = self._sim.pop.col("group")
        users = users[group[users] < 0]
        self._sim.groups.assign(self._sim.pop.col("group"), users, self.day)
        self._book("invite_to_group", users, 0.0)
        return int(users.shape[0])

    def remove_from_group(self, users: np.ndarray) -> int:
        """Remove users from their group (pruning); they lose some trust."""
        users = self._targets(users)
        pop = self._sim.pop
        group = pop.col("group")
        users = users[group[users] >= 0]
        # ordinary members removed while seen speaking: their groups notice (issue 15)
        wronged = ~pop.col("disruptive")[users] & spoke_recently(pop.col("speak_bits")[users])
        wronged_groups = group[users[wronged]]
        self._sim.groups.remove(group, users)
        trust = pop.col("trust")
        loss = self._sim.world.behaviour.trust_loss_removed
        trust[users] = np.maximum(0.0, trust[users] - loss)
        if wronged_groups.size:
            hit = wrongly_removed_hit(
                group, wronged_groups, self._sim.groups.n,
                self._sim.world.social.group_trust_loss_per_innocent,
            )  # fmt: skip
            trust[:] = np.maximum(0.0, trust - hit)
        self._book("remove_from_group", users, 0.0)
        return int(users.shape[0])

    def flag_disruptive(self, users: np.ndarray) -> np.ndarray:
        """The members among ``users`` an operator judges disruptive today from what it sees
        (recent posts, reports): disruptive members who spoke recently are flagged often, ordinary
        ones rarely (``world.social.flag_disruptive`` / ``flag_innocent``). Reads only; books
        nothing."""
        users = self._targets(users)
        pop = self._sim.pop
        users = users[pop.col("group")[users] >= 0]
        flagged = flag_disruptive(
            self.seed, self.day, pop.col("uid")[users], pop.col("disruptive")[users],
            pop.col("speak_bits")[users], self._sim.world.social,
        )  # fmt: skip
        return users[flagged]

    def recognise_koc(self, users: np.ndarray) -> int:
        """Recognise users as KOCs today (a title and a role in their group, given with a KOC
        programme's reward): they speak more for ``world.social.koc_fade_days`` days, and their
        speaking draws their group in. Costs nothing by itself (the reward is the cost)."""
        users = self._targets(users)
        self._sim.pop.col("koc_day")[users] = self.day
        return int(users.shape[0])

    def reward(self, users: np.ndarray, points: Amount = 0.0, gift: Amount = 0.0) -> int:
        """Give points and/or a gift worth ``gift`` ¥."""
        if problem := reward_problem(points, gift):
            raise ValueError(problem)
        users = self._targets(users)
        pop = self._sim.pop
        batches.add_each(pop.col("points"), users, points)
        value = gift + points * self._sim.world.costs.point_value
        batches.add_each(pop.col("inbox_reward_value"), users, np.float32(value))
        self._book("reward", users, value, inbox="inbox_reward")
        return int(users.shape[0])

    def _add_timing(self, users: np.ndarray, hour: int | None, count: int) -> None:
        if hour is not None and users.size:
            fit = self.timing_fit(users, hour) * np.float32(count)
            self._sim.pop.col("inbox_timing")[users] += fit.astype(np.float32)
            self._sim.timed_today = True

    def referral_incentive(self, users: np.ndarray, value: Amount, days: Days) -> int:
        """Offer a referral incentive worth ``value`` ¥ per success (unlocked content, a gift,
        a team prize) for ``days`` days: while it runs the user shares more (a boost
        ``world.referral.incentive_share_logit × (1 − exp(−value / incentive_value_scale))``,
        diminishing in the value) and each share brings ``incentive_friends_per_share`` friends
        on average. Offering costs nothing; the strategy books the rewards it pays. A later
        offer replaces an earlier one; ``days=0`` is refused (use ``end_referral_incentive``)."""
        if value <= 0:
            raise ValueError(f"value must be > 0 ¥, got {value}")
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        users = self._admit("referral_incentive", users)
        ref = self._sim.world.referral
        boost = ref.incentive_share_logit * (1.0 - np.exp(-value / ref.incentive_value_scale))
        pop = self._sim.pop
        batches.set_each(pop.col("share_boost"), users, boost)
        batches.set_each(pop.col("share_until"), users, self.day + days - 1)
        self._book("referral_incentive", users, 0.0)
        return int(users.shape[0])

    def end_referral_incentive(self, users: np.ndarray) -> None:
        """Stop a running referral incentive (its goal reached); books nothing."""
        users = self._targets(users)
        self._sim.pop.col("share_until")[users] = -1


def _relevance_table(tier: str, category: str | None, params: BehaviourParams) -> np.ndarray:
    """float32[stage, preference]: the relevance of a piece of ``tier`` content (about
    ``category``; None = each user's own preference) to a user of that stage and preference."""
    stage_match = CONTENT_TIERS.index(tier) == _STAGE_TIER_CODE
    if category is None:
        category_match = np.ones(len(PREFERENCES), dtype=bool)
    else:
        category_match = np.arange(len(PREFERENCES)) == PREFERENCES.index(category)
    w = params.relevance_stage_weight
    relevance = w * stage_match[:, None] + (1.0 - w) * category_match[None, :]
    return relevance.astype(np.float32)


def _sorted_unique(users: np.ndarray) -> np.ndarray:
    """Sorted distinct slots (for a batch given out of order; most come sorted)."""
    users = np.sort(users)
    return users[np.concatenate(([True], users[1:] != users[:-1]))]
