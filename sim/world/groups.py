"""Chat groups (社群): membership, vitality, death, and their daily table.

A group has a capacity (default 200). New members fill the newest open group; a full or dead
group is never refilled. A group's *vitality* is the share of its members who spoke yesterday; it
feeds back into each member's chance to be active and to speak (contagion — and, when it falls,
a silence spiral). A group whose speaking rate stays below ``death_speaking_rate`` for
``death_silent_days`` days in a row, or that shrinks below ``death_min_members`` once it is that
old, dies: its members stay in the private domain but lose the group.
"""

from __future__ import annotations

import numpy as np

from sim.world.params import GroupParams, SocialParams
from sim.world.population import grow_array
from sim.world.social import group_pressure

GROUP_COLUMNS: dict[str, type] = {
    "size": np.int32,
    "born": np.int32,
    "alive": np.bool_,
    "vitality": np.float64,
    "silent_days": np.int32,
    # today's counters, reset every day
    "speakers": np.int32,
    "pushed": np.int32,
    "opened": np.int32,
    "joins": np.int32,
    "leaves": np.int32,
    # group composition (sim.world.social): yesterday's disruption and KOC presence, and
    # today's disruptive posters and speaking KOCs
    "disruption": np.float64,
    "koc_presence": np.float64,
    "disruptor_speakers": np.int32,
    "koc_speakers": np.int32,
}
DAILY_COUNTERS = (
    "speakers", "pushed", "opened", "joins", "leaves", "disruptor_speakers", "koc_speakers",
)  # fmt: skip
# the group columns the behaviour step reads/writes, in its argument order
STEP_GROUP_COLUMNS = (
    "born", "vitality", "size", "speakers", "pushed", "opened", "leaves",
    "disruption", "koc_presence", "disruptor_speakers", "koc_speakers",
)  # fmt: skip


class Groups:
    """Columns of group state; group id = row index."""

    def __init__(
        self, params: GroupParams, capacity: int = 64, social: SocialParams | None = None
    ) -> None:
        self.params = params
        self.social = social if social is not None else SocialParams()
        self.n = 0
        self.open_group = -1
        self._cols = {k: np.zeros(capacity, dtype=t) for k, t in GROUP_COLUMNS.items()}
        # per group, the slots of every user who ever joined it (some have left since): a
        # dying group releases its members from these, not from a scan of every user
        self._joined: list[list[np.ndarray]] = []

    def col(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def buffer(self, name: str) -> np.ndarray:
        """The full array (for the compiled step, which indexes by group id)."""
        return self._cols[name]

    def _new_group(self, day: int) -> int:
        for k, arr in self._cols.items():
            self._cols[k] = grow_array(arr, self.n + 1)
        g = self.n
        self.n += 1
        self._joined.append([])
        self._cols["born"][g] = day
        self._cols["alive"][g] = True
        return g

    def assign(self, user_group: np.ndarray, members: np.ndarray, day: int) -> None:
        """Put ``members`` (user slots, in order) into open groups, opening new ones as needed."""
        cap = self.params.capacity
        size, alive, joins = self._cols["size"], self._cols["alive"], self._cols["joins"]
        start = 0
        while start < members.shape[0]:
            g = self.open_group
            if g < 0 or not alive[g] or size[g] >= cap:
                g = self.open_group = self._new_group(day)
                size, alive, joins = self._cols["size"], self._cols["alive"], self._cols["joins"]
            take = min(cap - int(size[g]), members.shape[0] - start)
            user_group[members[start : start + take]] = g
            self._joined[g].append(members[start : start + take].copy())
            size[g] += take
            joins[g] += take
            start += take

    def remove(self, user_group: np.ndarray, members: np.ndarray) -> int:
        """Take ``members`` out of their groups; returns how many were in one."""
        members = members[user_group[members] >= 0]
        groups = user_group[members]
        counts = np.bincount(groups, minlength=self.n)[: self.n]
        self._cols["size"][: self.n] -= counts.astype(np.int32)
        self._cols["leaves"][: self.n] += counts.astype(np.int32)
        user_group[members] = -1
        return int(members.shape[0])

    def reset_counters(self) -> None:
        for k in DAILY_COUNTERS:
            self._cols[k][: self.n] = 0

    def end_of_day(self, day: int, user_group: np.ndarray) -> dict[str, np.ndarray]:
        """Update vitality and deaths, dissolve dead groups; return today's rows, reset counters."""
        c = {k: self.col(k) for k in GROUP_COLUMNS}
        p = self.params
        alive = c["alive"]
        size = c["size"]
        rate = np.divide(c["speakers"], size, out=np.zeros(self.n), where=size > 0)
        c["vitality"][:] = np.where(alive, rate, 0.0)
        c["disruption"][:], c["koc_presence"][:] = group_pressure(
            c["disruptor_speakers"], c["koc_speakers"], size, alive, self.social
        )
        quiet = rate < p.death_speaking_rate
        c["silent_days"][:] = np.where(quiet, c["silent_days"] + 1, 0)
        old_enough = (day - c["born"]) >= p.death_silent_days
        dying = alive & (
            (c["silent_days"] >= p.death_silent_days) | (old_enough & (size < p.death_min_members))
        )
        rows = {
            "day": np.full(self.n, day, np.int32),
            "group_id": np.arange(self.n, dtype=np.int32),
            "size": size.copy(),
            "speakers": c["speakers"].copy(),
            "speaking_rate": rate.astype(np.float32),
            "pushed": c["pushed"].copy(),
            "opened": c["opened"].copy(),
            "open_rate": np.divide(
                c["opened"], c["pushed"], out=np.full(self.n, np.nan), where=c["pushed"] > 0
            ).astype(np.float32),
            "joins": c["joins"].copy(),
            "leaves": c["leaves"].copy(),
            "alive": alive & ~dying,
        }
        if dying.any():
            self._dissolve(user_group, np.flatnonzero(dying))
            alive[dying] = False
            size[dying] = 0
            c["vitality"][dying] = 0.0
            c["disruption"][dying] = 0.0
            c["koc_presence"][dying] = 0.0
        self.reset_counters()
        # only groups that were alive at some point today are reported
        keep = rows["alive"] | dying
        return {k: v[keep] for k, v in rows.items()}

    def _dissolve(self, user_group: np.ndarray, dying: np.ndarray) -> None:
        """Members of the ``dying`` groups leave them (a dead group is never joined again).

        Only the users who ever joined these groups are looked at: a scan of every user took
        ~1 ms a day at a million users (membership is random by slot), this takes microseconds.
        """
        joined = [slots for g in dying.tolist() for slots in self._joined[g]]
        for g in dying.tolist():
            self._joined[g] = []
        if not joined:
            return
        slots = np.concatenate(joined)
        is_dying = np.zeros(self.n + 1, np.bool_)  # by group + 1 (0 = in no group)
        is_dying[dying + 1] = True
        user_group[slots[is_dying[user_group[slots] + 1]]] = -1
