"""ES memory: output contexts kept from a turn and restored with ``send_event(memory=...)``."""

from __future__ import annotations

import json

import httpx

from livehandoff.integrations.dialogflow import DialogflowES
from livehandoff.integrations.dialogflow.translate import es_memory, turn_from_query_result

SESSION = "projects/p/agent/sessions/s"
ORDER_CONTEXT = {
    "name": f"{SESSION}/contexts/order-followup",
    "lifespanCount": 2,
    "parameters": {"order_number": 4711.0, "order_number.original": "4711"},
}
RESULT = {
    "queryText": "where is my order 4711",
    "outputContexts": [
        ORDER_CONTEXT,
        {"name": f"{SESSION}/contexts/__system_counters__", "parameters": {"no-input": 0, "no-match": 0}},
        {"name": f"{SESSION}/contexts/order_id_dialog_context", "lifespanCount": 2},
        {"name": f"{SESSION}/contexts/order_dialog_params_size", "lifespanCount": 2},
    ],
}


def test_memory_keeps_the_output_contexts_but_not_dialogflows_own() -> None:
    assert es_memory(RESULT) == {"contexts": [ORDER_CONTEXT]}
    assert turn_from_query_result(RESULT).memory == {"contexts": [ORDER_CONTEXT]}
    assert es_memory({"queryText": "hi"}) == {}


async def test_send_event_restores_the_remembered_contexts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"queryResult": {"queryText": "LIVEHANDOFF_ENDED"}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    bot = DialogflowES(http, endpoint="http://df.test", project_id="p")
    await bot.send_event(
        session_id="s", name="LIVEHANDOFF_ENDED", parameters={}, language="en", memory=es_memory(RESULT)
    )
    await bot.send_event(session_id="s", name="LIVEHANDOFF_ENDED", parameters={}, language="en", memory=None)
    restored, plain = (json.loads(request.content) for request in seen)
    assert restored["queryParams"] == {"contexts": [ORDER_CONTEXT]}
    assert "queryParams" not in plain
