"""The agent console: not accepting chats, transferring a chat, refusals shown in words."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from livehandoff.devstack import Stack
from tests.browser.conftest import Console, Widget, screenshot

TWO_GROUPS = {
    "organizations": [
        {
            "groups": [{"id": 0, "name": "General"}, {"id": 1, "name": "Billing"}],
            "agents": [
                {"id": "anna@example.com", "name": "Anna", "groups": [0]},
                {"id": "bob@example.com", "name": "Bob", "groups": [1]},
            ],
            "apps": [
                {
                    "client_id": "5a1b8c0d2e3f4a5b6c7d8e9f0a1b2c3d",
                    "refresh_tokens": [{"token": "refresh-token-of-anna", "agent_id": "anna@example.com"}],
                }
            ],
        }
    ]
}


async def test_an_agent_who_does_not_accept_chats_gets_none(
    stack: Stack, widget: Widget, console: Console
) -> None:
    await console.open(stack)
    await expect(console.routing).to_have_attribute("aria-checked", "true")
    await console.routing.click()
    await expect(console.routing).to_have_attribute("aria-checked", "false")

    await widget.open(stack.bridge_url)
    await widget.say("I want to talk to an agent")
    await expect(widget.message("system", "no agent is available")).to_be_visible()
    await expect(console.page.get_by_role("list", name="Active").get_by_role("button")).to_have_count(0)

    await console.routing.click()
    await expect(console.routing).to_have_attribute("aria-checked", "true")
    await widget.say("talk to a human")
    await expect(widget.message("system", "Anna joined the chat.")).to_be_visible()
    await console.active.get_by_role("button", name=re.compile("Jane Doe")).click()
    await console.page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(console.error).to_have_text(
        "Transferring failed: No agent of the target groups can take the chat"
    )


@pytest.mark.parametrize("stack", [{"seed": TWO_GROUPS}], indirect=True)
async def test_transfer_to_another_group(stack: Stack, widget: Widget, console: Console) -> None:
    await console.open(stack)
    await widget.open(stack.bridge_url)
    await widget.say("I want to talk to an agent")
    await expect(widget.message("system", "Anna joined the chat.")).to_be_visible()

    await console.active.get_by_role("button", name=re.compile("Jane Doe")).click()
    await console.page.get_by_label("Transfer to").select_option(label="Billing")
    await console.page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(console.thread.get_by_text("Anna transferred the chat to Billing")).to_be_visible()
    await expect(console.active.get_by_role("button", name=re.compile("with Bob"))).to_be_visible()
    await expect(console.page.get_by_text("Another agent has this chat")).to_be_visible()
    await expect(console.reply).to_be_disabled()
    await expect(console.page.locator("#chat-info")).to_contain_text("Billing")
    await screenshot(console.page, "console-transferred")
