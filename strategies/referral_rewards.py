"""``referral_rewards``: a referral drive 老带新 — "bring 3 friends to unlock the book list".

Mechanism: every ``every_days`` days (from day ``start_day``; 0 = a single drive) the strategy
offers group members (``members_only``) or everyone a referral incentive for ``drive_days``
days (``ops.referral_incentive``: sharing is more likely while it runs, the more so the larger
the reward, with diminishing returns; each share under it brings more friends — the engine's
``world.referral``). What earns the reward depends on ``mode``:

* ``unlock`` — a user who brings ``goal`` friends during the drive unlocks the reward
  (``gift`` ¥: the book list, a course, a gift) once; the incentive then ends for them;
* ``per_invite`` — ``gift`` ¥ for every friend brought during the drive;
* ``team_goal`` — when a group's members together bring ``goal`` × members / 10 friends (at
  least ``goal``), every member gets ``gift`` ¥ and the group's drive ends.

Friends arrive the next day through the referral channel with their own, lower-intent profile
(``population.channels.referral``). Each reward is booked (``reward``: ¥ in the ledger), so the
drive's net value is net of what it paid.

Parameters: ``mode`` (unlock), ``goal`` (3 friends), ``gift`` (20 ¥), ``drive_days`` (21),
``start_day`` (0), ``every_days`` (0), ``members_only`` (True) — [003] a 21-day reading-group
drive, 2.8 new members per inviter. Cost: ``gift`` ¥ per reward. Source: DOMAIN.md §5 "Referral
/ fission" [001][003].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.population import grow_array
from strategies.base import Strategy
from strategies.params import param

MODES = ("unlock", "per_invite", "team_goal")


class ReferralRewards(Strategy):
    """A time-boxed referral drive with an unlock, a per-invite or a team-goal reward."""

    name = "referral_rewards"
    summary = "21-day referral drive: bring 3 friends to unlock a ¥20 reward"
    source = "[003] reading-group drive: bring 3 friends to unlock the book list, 2.8 per inviter"
    cost_model = "gift ¥ per reward earned (unlock, per invite or team goal)"

    mode: str = param("unlock", "what earns the reward", choices=MODES)
    goal: int = param(3, "friends to bring to unlock (per member for team_goal)", low=1, high=100)
    gift: float = param(20.0, "¥ value of one reward", low=0.01, high=10_000)
    drive_days: int = param(21, "days each drive runs", low=1, high=365)
    start_day: int = param(0, "day the first drive starts", low=0, high=3650)
    every_days: int = param(0, "days between drive starts (0 = one drive)", low=0, high=3650)
    members_only: bool = param(True, "offer the drive to group members only")

    def start(self, ops: Operations) -> None:
        self.base_ = np.zeros(ops.n_users, np.int32)  # referrals before the running drive
        self.rewarded_ = np.zeros(ops.n_users, np.int32)  # rewards paid in the running drive
        self.drive_start_ = -1
        self.offered_ = np.zeros(0, bool)

    def _starts_today(self, day: int) -> bool:
        if day < self.start_day:
            return False
        if self.every_days == 0:
            return day == self.start_day
        return (day - self.start_day) % self.every_days == 0

    def on_day(self, ops: Operations) -> None:
        self.base_ = grow_array(self.base_, ops.n_users, 0)
        self.rewarded_ = grow_array(self.rewarded_, ops.n_users, 0)
        if self.drive_start_ >= 0:
            self._pay(ops)
        if self._starts_today(ops.day):
            self._launch(ops)

    def _launch(self, ops: Operations) -> None:
        users = ops.reachable()
        if self.members_only:
            users = users[ops.field("group")[users] >= 0]
        n = ops.n_users
        self.base_[:n] = ops.field("referrals")[:n]
        self.rewarded_[:] = 0
        self.drive_start_ = ops.day
        self.offered_ = np.zeros(n, bool)
        self.offered_[users] = True
        ops.referral_incentive(users, value=self.gift, days=self.drive_days)

    def _pay(self, ops: Operations) -> None:
        """Book the rewards earned by the referrals made up to yesterday."""
        if ops.day > self.drive_start_ + self.drive_days:  # the drive's last referrals paid
            self.drive_start_ = -1
            return
        n = ops.n_users
        offered = np.zeros(n, bool)
        offered[: self.offered_.shape[0]] = self.offered_
        users = np.flatnonzero(offered & (ops.field("churn_day")[:n] < 0))
        brought = ops.field("referrals")[users] - self.base_[users]
        if self.mode == "per_invite":
            due = brought - self.rewarded_[users]
            for k in np.unique(due[due > 0]):
                ops.reward(users[due == k], gift=self.gift * float(k))
            self.rewarded_[users] = np.maximum(self.rewarded_[users], brought)
        elif self.mode == "unlock":
            won = users[(brought >= self.goal) & (self.rewarded_[users] == 0)]
            self._reward_and_end(ops, won)
        else:
            self._team_goal(ops, users, brought)

    def _team_goal(self, ops: Operations, users: np.ndarray, brought: np.ndarray) -> None:
        group = ops.field("group")[users]
        inside = group >= 0
        if not inside.any():
            return
        size = np.bincount(group[inside])
        total = np.bincount(group[inside], weights=brought[inside], minlength=size.shape[0])
        target = np.maximum(self.goal, self.goal * size / 10.0)
        reached = np.flatnonzero((total >= target) & (size > 0))
        won = users[inside & np.isin(group, reached) & (self.rewarded_[users] == 0)]
        self._reward_and_end(ops, won)

    def _reward_and_end(self, ops: Operations, won: np.ndarray) -> None:
        if won.size:
            ops.reward(won, gift=self.gift)
            ops.end_referral_incentive(won)
            self.rewarded_[won] = 1
