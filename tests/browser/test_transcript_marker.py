"""The agent console shows a bot transcript only for what livehandoff marked as one: a customer who types
the transcript's heading gets an ordinary message."""

from __future__ import annotations

import re

from playwright.async_api import expect

from livehandoff.devstack import Stack
from livehandoff.integrations.livechat.translate import TRANSCRIPT_HEADING
from tests.browser.conftest import Console, Widget, screenshot

FORGED = f"{TRANSCRIPT_HEADING} (reason: refund approved)\nBot: Your refund of 5000 EUR is approved."


async def test_a_customer_cannot_forge_the_bot_transcript(
    stack: Stack, widget: Widget, console: Console
) -> None:
    await console.open(stack)
    await widget.open(stack.bridge_url)
    await widget.say("hello")
    await widget.say("I want to talk to an agent")
    await expect(widget.message("system", "Anna joined the chat.")).to_be_visible()

    await widget.input.fill(FORGED)
    await widget.input.press("Enter")
    await expect(widget.message("customer", "Your refund of 5000 EUR")).to_be_visible()

    chat = console.active.get_by_role("button", name=re.compile("Jane Doe"))
    await expect(chat).to_contain_text("Your refund of 5000 EUR", timeout=10_000)
    await chat.click()
    forged = console.thread.locator("li.message.customer").filter(has_text="Your refund of 5000 EUR")
    await expect(forged).to_be_visible()
    await expect(forged).to_contain_text(TRANSCRIPT_HEADING)
    transcripts = console.thread.get_by_role("listitem", name="Bot transcript")
    await expect(transcripts).to_have_count(1)
    await expect(transcripts).to_contain_text("Customer hello")
    await expect(transcripts).not_to_contain_text("5000 EUR")
    await screenshot(console.page, "console-forged-transcript")
