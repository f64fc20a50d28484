"""Read-only routing questions: who can take a chat, how groups look, where a chat is queued.

LiveChat's router is richer (priorities, bots, timers); the emulator keeps what decides the
bridge's paths: an agent *can take* a chat when they are ``accepting_chats`` and below their
concurrent-chat limit; the least busy such agent of the target group gets it. A group whose
accepting agents are all full is ``online_for_queue``: chats queue there even when not continuous.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from livehandoff.emulators.livechat.ids import format_time
from livehandoff.emulators.livechat.model import Agent, Chat, Organization, Thread
from livehandoff.emulators.livechat.seed import RoutingStatus

GroupStatus = Literal["online", "offline", "online_for_queue"]

ESTIMATED_WAIT_PER_POSITION = 60
"""Seconds of estimated wait per queue position shown in ``queue.wait_time``."""


def active_chat_count(org: Organization, agent_id: str) -> int:
    """Active chats the agent is present in."""
    return sum(1 for chat in org.chats.values() if chat.active and agent_id in chat.present_agent_ids())


def can_take(org: Organization, agent: Agent) -> bool:
    """Accepting chats and below the concurrent-chat limit."""
    return (
        agent.routing_status == "accepting_chats" and active_chat_count(org, agent.id) < agent.max_chats_count
    )


def agents_of(org: Organization, group_ids: Iterable[int]) -> list[Agent]:
    """Agents serving any of the groups, in seed order."""
    wanted = list(group_ids)
    return [agent for agent in org.agents.values() if any(agent.serves(group) for group in wanted)]


def pick_agent(org: Organization, group_ids: Iterable[int], *, exclude: Iterable[str] = ()) -> Agent | None:
    """The least busy agent who can take a chat now; seed order breaks ties."""
    skipped = set(exclude)
    candidates = [a for a in agents_of(org, group_ids) if a.id not in skipped and can_take(org, a)]
    if not candidates:
        return None
    return min(candidates, key=lambda agent: active_chat_count(org, agent.id))


def any_accepting(org: Organization, group_ids: Iterable[int]) -> bool:
    """Someone of the groups is accepting chats (perhaps full): chats may queue there."""
    return any(agent.routing_status == "accepting_chats" for agent in agents_of(org, group_ids))


def group_status(org: Organization, group_id: int) -> GroupStatus:
    """``list_group_statuses`` value of a group."""
    if pick_agent(org, [group_id]) is not None:
        return "online"
    return "online_for_queue" if any_accepting(org, [group_id]) else "offline"


def group_routing_status(org: Organization, group_id: int) -> RoutingStatus:
    """``list_groups`` ``routing_status``: the best status among the group's agents."""
    statuses = {agent.routing_status for agent in agents_of(org, [group_id])}
    if "accepting_chats" in statuses:
        return "accepting_chats"
    return "not_accepting_chats" if "not_accepting_chats" in statuses else "offline"


def queued_threads(org: Organization) -> list[tuple[Chat, Thread]]:
    """Every waiting chat of the organization, first queued first."""
    waiting = [
        (chat, chat.last_thread) for chat in org.chats.values() if chat.active and chat.last_thread.queued
    ]
    return sorted(waiting, key=lambda pair: pair[1].queue_seq)


def queue_info(org: Organization, thread: Thread) -> dict[str, Any] | None:
    """The thread's ``queue`` object, or ``None`` when it is not waiting."""
    if not thread.queued or thread.queued_at is None:
        return None
    ahead = [t for _, t in queued_threads(org) if t.queue_seq < thread.queue_seq]
    groups = set(thread.access_group_ids)
    position = 1 + sum(1 for t in ahead if groups & set(t.access_group_ids))
    return {
        "position": position,
        "wait_time": position * ESTIMATED_WAIT_PER_POSITION,
        "queued_at": format_time(thread.queued_at),
    }
