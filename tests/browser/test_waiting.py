"""Waiting for an agent in the widget: the queue position, and stopping the wait."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from livehandoff.devstack import Stack
from tests.browser.conftest import Widget
from tests.scenarios.conftest import Customer

BUSY_AGENT = {
    "organizations": [
        {
            "agents": [
                {"id": "anna@example.com", "name": "Anna", "pat": "pat-anna-0123456789", "max_chats_count": 1}
            ],
            "apps": [
                {
                    "client_id": "0123456789abcdef0123456789abcdef",
                    "client_secret": "app-secret-0123456789",
                    "refresh_tokens": [{"token": "refresh-anna-0123456789", "agent_id": "anna@example.com"}],
                }
            ],
        }
    ]
}


@pytest.mark.parametrize("stack", [{"seed": BUSY_AGENT, "queue_refresh_seconds": 0.2}], indirect=True)
async def test_the_customer_sees_the_line_and_can_stop_waiting(stack: Stack, widget: Widget) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        first = Customer(http, stack.bridge_url)
        await first.start()
        try:
            await first.say("I want to talk to an agent")
            await first.wait_for(lambda e: e["type"] == "agent_joined", "Anna's only seat is taken")
        finally:
            await first.stop()
    await widget.open(stack.bridge_url)
    await widget.say("I want to talk to an agent")
    await expect(widget.mode).to_contain_text("You're number 1 in line")
    stop = widget.notice.get_by_role("button", name="Stop waiting")
    await expect(stop).to_be_visible()
    await stop.click()
    await expect(widget.message("system", "You stopped waiting for an agent.")).to_be_visible()
    await expect(widget.mode).to_have_text("Our bot answers right away")
    await expect(stop).to_have_count(0)
