"""One colour per arm: the control grey, the treated arms distinct and stable across figures."""

from __future__ import annotations

from sim.plots.style import ARM_COLOURS, CONTROL_GREY, arm_colours


def test_control_is_grey_and_every_treated_arm_has_its_own_colour() -> None:
    colours = arm_colours(["control", "tiered", "blanket8", "coupon"])
    assert colours["control"] == CONTROL_GREY
    treated = [colours[a] for a in ("tiered", "blanket8", "coupon")]
    assert len(set(treated)) == 3 and CONTROL_GREY not in treated


def test_an_arm_keeps_its_colour_whatever_the_order_of_the_control() -> None:
    first = arm_colours(["control", "tiered", "blanket8"])
    last = arm_colours(["tiered", "blanket8", "control"])
    assert first == last


def test_many_arms_cycle_through_the_palette() -> None:
    arms = ["control", *(f"arm{i}" for i in range(len(ARM_COLOURS) + 2))]
    colours = arm_colours(arms)
    assert colours["arm0"] == colours[f"arm{len(ARM_COLOURS)}"]
    assert set(colours.values()) == {CONTROL_GREY, *ARM_COLOURS}
