"""A long conversation's transcript comes back whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.security.conftest import in_process

MESSAGES = 600


async def test_a_conversation_with_600_messages_returns_all_of_them(tmp_path: Path) -> None:
    limits_off = {"rate_limit_per_client": 0, "rate_limit_per_conversation": 0}
    async with in_process(tmp_path, **limits_off) as world, world.client() as http:
        created = (await http.post("/v1/conversations", json={})).json()
        auth = {"authorization": f"Bearer {created['token']}"}
        url = f"/v1/conversations/{created['id']}"
        for n in range(MESSAGES):
            posted = await http.post(f"{url}/messages", json={"text": f"order {n}"}, headers=auth)
            assert posted.status_code == 202, posted.text
        transcript: list[dict[str, object]] = []
        for _ in range(200):  # the bot answers each message in the background
            body = (await http.get(url, headers=auth)).json()
            transcript = body["transcript"]
            if sum(entry["author"] == "bot" for entry in transcript) >= MESSAGES:
                break
            await asyncio.sleep(0.1)

    customer = [entry["text"] for entry in transcript if entry["author"] == "customer"]
    assert customer == [f"order {n}" for n in range(MESSAGES)]
    assert len(transcript) >= 2 * MESSAGES > 500
    assert [entry["seq"] for entry in transcript] == sorted(entry["seq"] for entry in transcript)
    assert body["last_seq"] == transcript[-1]["seq"]
