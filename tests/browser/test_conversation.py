"""A whole conversation played in two browsers: the customer in the shop's chat widget, the agent in
the emulator's console."""

from __future__ import annotations

import re

from playwright.async_api import expect

from livehandoff.devstack import Stack
from tests.browser.conftest import Console, Widget, screenshot


async def test_customer_and_agent_play_a_whole_conversation(
    stack: Stack, widget: Widget, console: Console
) -> None:
    await widget.open(stack.bridge_url)
    await widget.say("hello")
    await expect(widget.message("bot", "What can I help you with?")).to_be_visible()
    await expect(widget.quick_reply("Opening hours")).to_be_visible()

    await widget.quick_reply("Opening hours").click()
    await expect(widget.message("customer", "Opening hours")).to_be_visible()
    await expect(widget.message("bot", re.compile("open", re.I)).nth(1)).to_be_visible()
    await screenshot(widget.page, "widget-bot")

    await console.open(stack)
    await widget.say("I want to talk to an agent")
    await expect(widget.message("system", "Connecting you to an agent")).to_be_visible()
    await expect(widget.message("system", "Anna joined the chat.")).to_be_visible()
    await expect(widget.mode).to_have_text("You're chatting with Anna")

    chat = console.active.get_by_role("button", name=re.compile("Jane Doe"))
    await chat.click()
    transcript = console.thread.get_by_role("listitem", name="Bot transcript")
    await expect(transcript).to_contain_text("Customer hello")
    await expect(transcript).to_contain_text("reason: intent human.handoff")
    fields = console.page.locator("#session-fields")
    await expect(fields).to_contain_text("livehandoff_conversation")
    await expect(fields).to_contain_text("handoff_reason")
    await expect(console.page.locator("#customer")).to_contain_text("jane@example.com")

    await console.reply.fill("Hi Jane, Anna here. How can I help?")
    await console.reply.press("Enter")
    await expect(console.reply).to_have_value("")
    agent_message = widget.message("agent", "Anna here")
    await expect(agent_message).to_be_visible()
    await expect(agent_message.locator(".who")).to_have_text("Anna")

    await widget.say("My parcel has not arrived yet")
    await expect(
        console.thread.locator("li.customer").filter(has_text="parcel has not arrived")
    ).to_be_visible()
    await console.reply.fill("Let me check the tracking for you.")
    await console.page.get_by_role("button", name="Send").click()
    await expect(widget.message("agent", "tracking")).to_be_visible()
    await expect(console.thread.locator("li.agent").filter(has_text="tracking")).to_be_visible()
    await screenshot(widget.page, "widget-agent")
    await screenshot(console.page, "console-chat")

    await console.close_chat.click()
    await expect(console.closed.get_by_role("button", name=re.compile("Jane Doe"))).to_be_visible()
    await expect(console.page.get_by_text("This chat is closed")).to_be_visible()
    await expect(widget.message("system", "Anna ended the chat")).to_be_visible()
    await expect(widget.mode).to_have_text("Our bot answers right away")

    await widget.say("when are you open")
    bot_after = widget.log.locator("li").last
    await expect(bot_after).to_have_class("bot")
    await expect(bot_after).to_contain_text(re.compile("open", re.I))
    await screenshot(widget.page, "widget-bot-again")
    await screenshot(console.page, "console-closed")
