"""A real browser (Debian's Chromium, driven by Playwright) against the whole stack on loopback.

Chromium is looked up at ``LIVEHANDOFF_CHROMIUM`` (default ``/usr/bin/chromium``); without it every test
here is skipped. Playwright's own browser downloads are never used. Screenshots go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect

from livehandoff.devstack import Stack, run_stack

CHROMIUM = Path(os.environ.get("LIVEHANDOFF_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CHROMIUM_MISSING = not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WAIT_MS = 10_000

ColorScheme = Literal["light", "dark"]

expect.set_options(timeout=WAIT_MS)


@pytest.fixture
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The demo stack; a test may change it by indirect parametrization with a dict of ``run_stack``
    settings, ``seed`` being an emulator seed (as JSON data)."""
    options = dict(getattr(request, "param", None) or {})
    seed = options.pop("seed", None)
    if seed is not None:
        options["seed_path"] = tmp_path / "seed.json"
        options["seed_path"].write_text(json.dumps(seed), encoding="utf-8")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
    async with run_stack(database_url=database_url, **options) as running:
        yield running


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    """Skip before anything starts when there is no browser to drive."""
    if CHROMIUM_MISSING:
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package, "
            "or point LIVEHANDOFF_CHROMIUM at a Chromium binary"
        )


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium through Playwright, headless."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browser(stack: Stack) -> AsyncIterator[Browser]:
    """Depends on ``stack`` so that the browser, with its open event streams, closes before the servers."""
    async with chromium() as launched:
        yield launched


async def new_context(
    browser: Browser, *, width: int = 1280, height: int = 800, color_scheme: ColorScheme = "light"
) -> BrowserContext:
    context = await browser.new_context(
        viewport={"width": width, "height": height}, color_scheme=color_scheme
    )
    context.set_default_timeout(WAIT_MS)
    return context


@pytest.fixture
async def customer_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await new_context(browser)
    yield context
    await context.close()


@pytest.fixture
async def agent_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await new_context(browser, width=1360, height=820)
    yield context
    await context.close()


class Widget:
    """The customer's chat widget on the demo shop page, found by its roles and labels."""

    def __init__(self, page: Page) -> None:
        self.page = page
        chat = page.locator("livehandoff-chat")
        self.launcher = chat.get_by_role("button", name="Chat with us")
        self.log = chat.get_by_role("log")
        self.input = chat.get_by_label("Your message")
        self.send = chat.get_by_role("button", name="Send")
        self.start_over = chat.get_by_role("button", name="Start over").first
        self.suggestions = chat.get_by_role("group", name="Suggested replies")
        self.error = chat.get_by_role("alert")
        self.notice = chat.get_by_role("status")
        self.mode = chat.locator(".mode")

    async def open(self, base_url: str) -> None:
        await self.page.goto(f"{base_url}/demo")
        await self.launcher.click()
        await expect(self.input).to_be_focused()

    async def say(self, text: str) -> None:
        await self.input.fill(text)
        await self.input.press("Enter")
        await expect(self.message("customer", text)).to_be_visible()

    def message(self, author: str, text: str | re.Pattern[str]) -> Locator:
        return self.log.locator(f"li.{author}").filter(has_text=text)

    def quick_reply(self, text: str) -> Locator:
        return self.suggestions.get_by_role("button", name=text)


@pytest.fixture
async def widget(customer_context: BrowserContext) -> Widget:
    return Widget(await customer_context.new_page())


class Console:
    """The agent console of the LiveChat emulator."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.active = page.get_by_role("list", name="Active")
        self.closed = page.get_by_role("list", name="Closed")
        self.thread = page.get_by_role("log", name="Chat thread")
        self.reply = page.get_by_label("Reply to the customer")
        self.close_chat = page.get_by_role("button", name="Close chat")
        self.routing = page.get_by_role("switch", name="Accepting chats")
        self.error = page.locator("#thread-error")

    async def open(self, stack: Stack) -> None:
        await self.page.goto(stack.agent_console_url())
        await expect(self.routing).to_be_visible()


@pytest.fixture
async def console(agent_context: BrowserContext) -> Console:
    return Console(await agent_context.new_page())


async def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the page as it is now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path
