"""A LiveChat outage in the widget: a message the bridge holds shows as not sent yet until it is delivered."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from livehandoff.devstack import Stack
from tests.browser.conftest import Widget, screenshot

SEND_EVENT_DOWN = {
    "seed": 1,
    "api": {"methods": {"send_event": {"error_rate": 1.0, "errors": ["service_unavailable"]}}},
}
HELD = "Not sent yet — waiting to be sent…"
DELIVERY_WAIT_MS = 20_000
"""The bridge retries a held message with a growing pause; after the outage it may wait a few seconds."""


async def faults(stack: Stack, method: str, body: dict[str, Any] | None = None) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.request(
            method,
            f"{stack.livechat_url}/emulator/faults",
            json=body,
            auth=(stack.credentials.agent_account_id, stack.credentials.agent_pat),
        )
    assert response.status_code == 200, response.text


async def test_a_held_message_shows_as_not_sent_until_it_is_delivered(stack: Stack, widget: Widget) -> None:
    await widget.open(stack.bridge_url)
    await widget.say("I want to talk to an agent")
    await expect(widget.message("system", "Anna joined the chat.")).to_be_visible()
    await widget.say("Are you still there?")
    sent = widget.message("customer", "Are you still there?")
    await expect(sent.locator(".held-note")).to_have_count(0)

    await faults(stack, "POST", SEND_EVENT_DOWN)
    await widget.say("first, during the outage")
    held = widget.message("customer", "first, during the outage")
    await expect(held).to_contain_text(HELD)
    await expect(held).to_have_class("customer held")
    await screenshot(widget.page, "widget-held")

    await widget.page.reload()
    await expect(widget.message("customer", "first, during the outage")).to_contain_text(HELD)
    await expect(widget.message("customer", "Are you still there?")).not_to_contain_text(HELD)

    await faults(stack, "DELETE")
    delivered = widget.message("customer", "first, during the outage")
    await expect(delivered.locator(".held-note")).to_have_count(0, timeout=DELIVERY_WAIT_MS)
    await expect(delivered).to_have_class("customer")
