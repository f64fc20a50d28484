"""A customer's post sent again with its ``Idempotency-Key`` (the first answer was lost) is stored once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.scenarios.conftest import Agent, Customer


async def post(customer: Customer, text: str, key: str | None) -> httpx.Response:
    headers = dict(customer.auth)
    if key is not None:
        headers["idempotency-key"] = key
    return await customer.http.post(
        f"{customer.base}/v1/conversations/{customer.id}/messages", json={"text": text}, headers=headers
    )


async def customer_texts(customer: Customer) -> list[str]:
    response = await customer.http.get(
        f"{customer.base}/v1/conversations/{customer.id}", headers=customer.auth
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return [m["text"] for m in body["transcript"] if m["author"] == "customer"]


async def test_a_post_repeated_with_its_key_is_answered_with_the_first_id_and_stored_once(
    customer: Customer, agent: Agent
) -> None:
    await customer.start()
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    (chat,) = await agent.chats()

    first = await post(customer, "Where is my parcel?", "3f2a9c0e-key")
    again = await post(customer, "Where is my parcel?", "3f2a9c0e-key")
    await customer.say("Thanks")
    await agent.wait_for_text(chat["id"], "Thanks")

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert await customer_texts(customer) == ["I want to talk to an agent", "Where is my parcel?", "Thanks"]
    thread = (await agent.chat(chat["id"]))["thread"]["events"]
    assert [e["text"] for e in thread if e.get("type") == "message"].count("Where is my parcel?") == 1


async def test_posts_racing_with_one_key_store_one_message(customer: Customer) -> None:
    await customer.start()

    answers = await asyncio.gather(*(post(customer, "hello", "same-key") for _ in range(5)))

    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 4
    assert await customer_texts(customer) == ["hello"]


async def test_keys_are_per_message_and_per_conversation(customer: Customer, http: httpx.AsyncClient) -> None:
    await customer.start()
    other = Customer(http, customer.base)
    await other.start()
    try:
        one = await post(customer, "hello", "k1")
        two = await post(customer, "hello", "k2")
        elsewhere = await post(other, "hello", "k1")
    finally:
        await other.stop()

    assert len({one.json()["id"], two.json()["id"], elsewhere.json()["id"]}) == 3
    assert await customer_texts(customer) == ["hello", "hello"]
    assert await customer_texts(other) == ["hello"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "schlüssel"])
async def test_a_malformed_key_is_refused_and_stores_nothing(customer: Customer, key: str) -> None:
    await customer.start()

    headers = {**customer.auth, "idempotency-key": key}
    response = await customer.http.post(
        f"{customer.base}/v1/conversations/{customer.id}/messages",
        json={"text": "hello"},
        headers=[(name.encode(), value.encode()) for name, value in headers.items()],
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == "validation"
    assert await customer_texts(customer) == []
