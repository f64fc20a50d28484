"""Context lifespans: the pure turn arithmetic and the in-memory store."""

from __future__ import annotations

from types import MappingProxyType

from livehandoff.emulators.dialogflow.model import ContextSpec, Intent
from livehandoff.emulators.dialogflow.sessions import (
    ActiveContext,
    SessionStore,
    begin_turn,
    context_id,
    end_turn,
)

SETS_ORDER = Intent(id="1", display_name="order", output_contexts=(ContextSpec("order", 2),))
RESETS = Intent(id="2", display_name="reset", reset_contexts=True, output_contexts=(ContextSpec("fresh", 1),))
ENDS_ORDER = Intent(id="3", display_name="done", output_contexts=(ContextSpec("order", 0),))


def test_output_contexts_live_for_their_lifespan() -> None:
    after_first = end_turn({}, SETS_ORDER, {"n": 1.0})
    assert after_first == {"order": ActiveContext(2, MappingProxyType({"n": 1.0}))}
    after_second = end_turn(after_first, None, {})
    assert after_second["order"].lifespan == 1
    assert end_turn(after_second, None, {}) == {}


def test_setting_a_context_again_renews_it_and_merges_parameters() -> None:
    first = end_turn({}, SETS_ORDER, {"n": 1.0})
    second = end_turn(first, SETS_ORDER, {"m": 2.0})
    assert second["order"].lifespan == 2
    assert dict(second["order"].parameters) == {"n": 1.0, "m": 2.0}


def test_lifespan_zero_deactivates() -> None:
    assert end_turn(end_turn({}, SETS_ORDER, {}), ENDS_ORDER, {}) == {}


def test_intent_reset_clears_everything_else() -> None:
    assert set(end_turn(end_turn({}, SETS_ORDER, {}), RESETS, {})) == {"fresh"}


def test_query_parameters_reset_and_supply_contexts() -> None:
    active = {"old": ActiveContext(3)}
    assert set(begin_turn(active, reset=False, supplied=[("new", 2, {"a": "b"})])) == {"old", "new"}
    assert set(begin_turn(active, reset=True, supplied=[("new", 2, {})])) == {"new"}
    assert begin_turn(active, reset=False, supplied=[("old", 0, {})]) == {}


def test_context_ids_come_from_full_names() -> None:
    assert context_id("projects/p/agent/sessions/s/contexts/Order-FollowUp") == "order-followup"
    assert context_id("handoff") == "handoff"


def test_store_forgets_contexts_of_idle_sessions() -> None:
    now = [1000.0]
    store = SessionStore(clock=lambda: now[0], ttl=60)
    store.save("s", {"order": ActiveContext(5)}, 1, None)
    now[0] += 59
    assert set(store.load("s").contexts) == {"order"}
    now[0] += 2
    state = store.load("s")
    assert state.contexts == {}
    assert state.turns == 1
    assert len(store) == 1
