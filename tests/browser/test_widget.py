"""The customer widget on its own: reloads, starting over, the keyboard, failures shown in words, a
phone-width screen in the dark, a page of another origin."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, expect
from playwright.async_api import Route as PageRoute
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from livehandoff.devstack import Stack, bind, run_stack, serve
from tests.browser.conftest import Widget, chromium, new_context, screenshot

MAX_TABS = 30


async def stored_conversation(widget: Widget, stack: Stack) -> dict[str, object]:
    raw = await widget.page.evaluate("key => localStorage.getItem(key)", f"livehandoff:{stack.bridge_url}")
    stored: dict[str, object] = json.loads(raw) if raw else {}
    return stored


async def stored_transcript(stack: Stack, widget: Widget) -> list[str]:
    """The customer's messages as the bridge stored them."""
    stored = await stored_conversation(widget, stack)
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{stack.bridge_url}/v1/conversations/{stored['id']}",
            headers={"authorization": f"Bearer {stored['token']}"},
        )
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["transcript"] if m["author"] == "customer"]


async def test_a_reload_keeps_the_conversation_and_start_over_forgets_it(
    stack: Stack, widget: Widget
) -> None:
    await widget.open(stack.bridge_url)
    await widget.say("hello")
    await expect(widget.quick_reply("Opening hours")).to_be_visible()
    first = await stored_conversation(widget, stack)
    assert first["id"]

    await widget.page.reload()
    await expect(widget.input).to_be_visible()
    await expect(widget.quick_reply("Opening hours")).to_be_visible()
    await expect(widget.log.locator("li.customer")).to_have_count(1)
    await expect(widget.message("bot", "What can I help you with?")).to_have_count(1)
    await widget.say("when are you open")
    await expect(widget.log.locator("li.bot")).to_have_count(3)
    assert (await stored_conversation(widget, stack))["id"] == first["id"]

    await widget.start_over.click()
    await expect(widget.log.locator("li.customer")).to_have_count(0)
    await expect(widget.input).to_be_focused()
    assert (await stored_conversation(widget, stack))["id"] is None
    await widget.say("hello")
    await expect(widget.quick_reply("Opening hours")).to_be_visible()
    second = await stored_conversation(widget, stack)
    assert second["id"] not in (None, first["id"])


async def test_keyboard_only(stack: Stack, widget: Widget) -> None:
    page = widget.page
    await page.goto(f"{stack.bridge_url}/demo")
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await widget.launcher.evaluate("button => button.getRootNode().activeElement === button"):
            break
    else:
        raise AssertionError("Tab never reached the chat launcher")
    await page.keyboard.press("Enter")
    await expect(widget.input).to_be_focused()

    await page.keyboard.type("hello")
    await page.keyboard.press("Enter")
    await expect(widget.message("customer", "hello")).to_be_visible()
    await expect(widget.input).to_have_value("")
    await expect(widget.quick_reply("Returns")).to_be_visible()

    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await expect(widget.quick_reply("Returns")).to_be_focused()
    outline = await widget.quick_reply("Returns").evaluate("button => getComputedStyle(button).outlineStyle")
    assert outline == "solid", "keyboard focus is visible"
    await page.keyboard.press("Enter")
    await expect(widget.message("customer", "Returns")).to_be_visible()
    await expect(widget.input).to_be_focused()

    await page.keyboard.press("Escape")
    await expect(widget.launcher).to_be_focused()
    await expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    await expect(widget.input).to_be_hidden()


async def test_failures_are_told_in_words_and_the_text_is_kept(
    stack: Stack, widget: Widget, customer_context: BrowserContext
) -> None:
    await widget.open(stack.bridge_url)
    await widget.say("hello")
    await expect(widget.quick_reply("Opening hours")).to_be_visible()

    too_long = "a" * (stack.settings.max_message_chars + 1)
    await widget.input.fill(too_long)
    await widget.input.press("Enter")
    await expect(widget.error).to_contain_text("Your message was not sent")
    await expect(widget.error).to_contain_text(f"longer than {stack.settings.max_message_chars} characters")
    await expect(widget.input).to_have_value(too_long)

    await customer_context.set_offline(True)
    await widget.input.fill("are you still there?")
    await widget.input.press("Enter")
    await expect(widget.error).to_contain_text("You're offline, so your message was not sent")
    await expect(widget.input).to_have_value("are you still there?")
    await expect(widget.notice).to_contain_text("offline")
    await screenshot(widget.page, "widget-offline")

    await customer_context.set_offline(False)
    await widget.send.click()
    await expect(widget.message("customer", "are you still there?")).to_be_visible()
    await expect(widget.input).to_have_value("")
    await expect(widget.error).to_be_empty()


async def test_sending_again_after_a_lost_answer_shows_the_message_once(stack: Stack, widget: Widget) -> None:
    await widget.open(stack.bridge_url)
    await widget.say("hello")
    await expect(widget.quick_reply("Opening hours")).to_be_visible()
    keys: list[str | None] = []

    async def lose_the_first_answer(route: PageRoute) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        answer = await route.fetch()  # the bridge gets the post and answers
        if len(keys) == 1:
            await route.abort("connectionreset")  # ... but the answer never reaches the page
        else:
            await route.fulfill(response=answer)

    await widget.page.route("**/messages", lose_the_first_answer)
    await widget.input.fill("did this arrive?")
    await widget.input.press("Enter")
    await expect(widget.error).to_contain_text("may not have been sent. Please send it again")
    await expect(widget.input).to_have_value("did this arrive?")

    await widget.send.click()
    await expect(widget.input).to_have_value("")
    await expect(widget.error).to_be_empty()
    await widget.say("and this?")
    await expect(widget.message("customer", "and this?")).to_be_visible()

    await expect(widget.message("customer", "did this arrive?")).to_have_count(1)
    assert len(keys) == 3
    assert keys[0], "every post carries a key"
    assert keys[1] == keys[0], "the retry carries the first attempt's key"
    assert keys[2] not in (None, keys[0]), "a new message has a new key"
    transcript = await stored_transcript(stack, widget)
    assert transcript.count("did this arrive?") == 1


async def test_a_conversation_that_is_gone_offers_to_start_over(stack: Stack, widget: Widget) -> None:
    page = widget.page
    await page.goto(f"{stack.bridge_url}/demo")
    unknown = {"id": str(uuid.uuid4()), "token": "not-a-token", "open": True}
    await page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"livehandoff:{stack.bridge_url}", json.dumps(unknown)],
    )
    await page.reload()
    await expect(widget.notice).to_contain_text("This conversation is no longer available.")
    again = widget.notice.get_by_role("button", name="Start over")
    await expect(again).to_be_focused()
    await expect(widget.input).to_be_disabled()

    await again.click()
    await expect(widget.notice).to_be_empty()
    await widget.say("hello")
    await expect(widget.quick_reply("Opening hours")).to_be_visible()


async def test_phone_width_in_the_dark(stack: Stack, browser: Browser) -> None:
    context = await new_context(browser, width=360, height=740, color_scheme="dark")
    try:
        widget = Widget(await context.new_page())
        await widget.open(stack.bridge_url)
        await widget.say("hello")
        await expect(widget.quick_reply("Talk to a person")).to_be_visible()
        panel = widget.page.locator("livehandoff-chat").locator(".panel")
        box = await panel.bounding_box()
        assert box is not None
        assert (box["x"], box["width"]) == (0, 360), "the chat fills a phone's width"
        assert await widget.page.evaluate("document.documentElement.scrollWidth") <= 360
        background = await panel.evaluate("panel => getComputedStyle(panel).backgroundColor")
        assert background == "rgb(27, 30, 38)", "dark colours follow prefers-color-scheme"
        await screenshot(widget.page, "widget-phone-dark")
    finally:
        await context.close()


@asynccontextmanager
async def shop_of_another_origin(tmp_path: Path, *, allowed: bool) -> AsyncIterator[Widget]:
    """A shop page on its own server (another origin than the bridge's) embedding the widget with one tag.

    The page must really come from loopback: Chromium refuses a public page's requests to loopback.
    """
    shop_sock = bind("127.0.0.1", 0)
    shop_origin = f"http://127.0.0.1:{shop_sock.getsockname()[1]}"
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
    origins = (shop_origin,) if allowed else ()
    async with run_stack(database_url=database_url, allowed_origins=origins) as stack:
        html = (
            '<!doctype html><html lang="en"><title>Another shop</title><h1>Another shop</h1>'
            f'<script src="{stack.bridge_url}/static/widget.js" data-title="Another shop" defer></script>'
        )

        async def page(request: Request) -> HTMLResponse:
            return HTMLResponse(html)

        shop = Starlette(routes=[Route("/help", page)])
        async with serve(shop, shop_sock), chromium() as browser:
            context = await new_context(browser)
            widget = Widget(await context.new_page())
            await widget.page.goto(f"{shop_origin}/help")
            await widget.launcher.click()
            try:
                yield widget
            finally:
                await context.close()


async def test_a_page_of_an_allowed_origin_embeds_the_widget(tmp_path: Path) -> None:
    async with shop_of_another_origin(tmp_path, allowed=True) as widget:
        await widget.say("hello")
        await expect(widget.quick_reply("Opening hours")).to_be_visible()


async def test_a_page_of_another_origin_is_refused_in_words(tmp_path: Path) -> None:
    async with shop_of_another_origin(tmp_path, allowed=False) as widget:
        await widget.input.fill("hello")
        await widget.input.press("Enter")
        await expect(widget.error).to_contain_text("We can't reach the chat right now")
        await expect(widget.input).to_have_value("hello")
