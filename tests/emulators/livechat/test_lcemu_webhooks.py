"""Webhook delivery: retries, filters, additional data, shutdown."""

from __future__ import annotations

import asyncio

import httpx

from livehandoff.emulators.livechat import LiveChatEmulator, WebhookRecorder, parse_seed


async def test_retried_after_a_500_then_delivered(flow, recorder, emu):
    await flow.register("incoming_chat", recorder.url())
    recorder.fail_next(1, status=500)
    await flow.start_chat(await flow.new_customer())
    await emu.wait_idle()
    assert len(recorder.rejected) == 1
    assert recorder.actions() == ["incoming_chat"]
    assert recorder.rejected[0] == recorder.bodies[0]
    assert [(a.attempt, a.status) for a in emu.webhooks.attempts] == [(1, 500), (2, 200)]


async def test_only_200_counts_and_delivery_gives_up_after_three_retries(flow, recorder, emu):
    await flow.register("incoming_chat", recorder.url())
    recorder.fail_next(10, status=204)
    await flow.start_chat(await flow.new_customer())
    await emu.wait_idle()
    assert recorder.bodies == []
    assert [a.attempt for a in emu.webhooks.attempts] == [1, 2, 3, 4]
    assert not any(a.delivered for a in emu.webhooks.attempts)


async def test_transport_errors_are_retried(flow, emu):
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        emu.set_webhook_client(client)
        await flow.register("incoming_chat", "http://bridge.test/webhooks/livechat")
        await flow.start_chat(await flow.new_customer())
        await emu.wait_idle()
    assert calls == ["/webhooks/livechat", "/webhooks/livechat"]
    first, second = emu.webhooks.attempts
    assert first.status is None
    assert first.error is not None
    assert "ConnectError" in first.error
    assert second.delivered


async def test_additional_data_when_requested(flow, recorder, emu):
    await flow.register(
        "incoming_chat", recorder.url(), additional_data=["chat_properties", "chat_presence_user_ids"]
    )
    customer = await flow.new_customer()
    await flow.start_chat(customer)
    await emu.wait_idle()
    extra = recorder.of("incoming_chat")[0]["additional_data"]
    assert extra["chat_properties"]["source"]["client_id"] == emu.credentials.client_id
    assert sorted(extra["chat_presence_user_ids"]) == sorted([customer.id, "anna@example.com"])


async def test_only_my_chats_and_source_type(flow_class):
    app_a, app_b = "a" * 32, "b" * 32
    seed = parse_seed(
        {
            "organizations": [
                {
                    "agents": [{"id": "anna@example.com", "name": "Anna"}],
                    "apps": [{"client_id": app_a}, {"client_id": app_b}],
                }
            ]
        }
    )
    emu = LiveChatEmulator(seed=seed, retry_delays=(0.0, 0.0, 0.0))
    recorder = WebhookRecorder()
    transport = httpx.ASGITransport(app=emu.app)
    async with (
        recorder.client() as hooks,
        httpx.AsyncClient(transport=transport, base_url="http://lc.test") as api,
    ):
        emu.set_webhook_client(hooks)
        flow = flow_class(emu, api)
        for owner, label, filters in [
            (app_a, "a-mine", {"only_my_chats": True}),
            (app_b, "b-mine", {"only_my_chats": True}),
            (app_b, "b-other", {"source_type": ["other_clients"]}),
        ]:
            await flow.register(
                "incoming_chat", recorder.url(), owner_client_id=owner, secret_key=label, filters=filters
            )
        await flow.start_chat(await flow.new_customer(client_id=app_a))
        await emu.wait_idle()
    await emu.aclose()
    assert sorted(body["secret_key"] for body in recorder.bodies) == ["a-mine", "b-other"]


async def test_aclose_cancels_pending_deliveries(flow, recorder):
    emu = flow.emu
    emu.webhooks.retry_delays = (60.0,)
    await flow.register("incoming_chat", recorder.url())
    recorder.fail_next(1)
    await flow.start_chat(await flow.new_customer())
    for _ in range(20):
        if recorder.rejected:
            break
        await asyncio.sleep(0)
    assert emu.webhooks.pending == 1
    await emu.aclose()
    assert emu.webhooks.pending == 0
    assert recorder.bodies == []


async def test_chat_presence_filter(flow, recorder, emu):
    await flow.register(
        "incoming_chat",
        recorder.url(),
        secret_key="with-anna",
        filters={"chat_presence": {"user_ids": {"values": ["anna@example.com"]}}},
    )
    await flow.register(
        "incoming_chat",
        recorder.url(),
        secret_key="without-anna",
        filters={"chat_presence": {"user_ids": {"exclude_values": ["anna@example.com"]}}},
    )
    await flow.register(
        "incoming_chat", recorder.url(), secret_key="my-bots", filters={"chat_presence": {"my_bots": True}}
    )
    await flow.start_chat(await flow.new_customer())
    await emu.wait_idle()
    assert [body["secret_key"] for body in recorder.bodies] == ["with-anna"]
