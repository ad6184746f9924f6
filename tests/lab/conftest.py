"""Fixtures for the policy lab's tests: a page simulated without a browser (NiceGUI's
``user_simulation``, driven from plain synchronous tests so no async pytest plugin is needed and
nothing outside tests/lab is affected)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nicegui import storage
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from sim.lab.app import LabSettings, build_page

TINY = {"users": 500, "days": 14}
Scenario = Callable[[User], Awaitable[None]]


@pytest.fixture(autouse=True)
def _nicegui_storage(tmp_path_factory, monkeypatch):
    """NiceGUI keeps its storage under ./.nicegui unless told otherwise: a temporary folder."""
    monkeypatch.setattr(storage.Storage, "path", tmp_path_factory.mktemp("nicegui-storage"))


def simulate(root: Path, scenario: Scenario) -> None:
    """Open the lab rooted at ``root`` in a simulated browser tab and play ``scenario``."""

    async def main() -> None:
        async with user_simulation(build_page(LabSettings(root, workers=1))) as user:
            await user.open("/")
            await scenario(user)

    asyncio.run(main())
