"""What agents do besides talking: transfer chats and switch their routing status.

``transfer_chat`` fails when nobody of the target can take the chat right away, unless
``ignore_agents_availability`` lets it queue (reference §4.4). An agent switching to
``accepting_chats`` picks up queued chats at once (reference §1.5, §10.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from livehandoff.emulators.livechat import routing
from livehandoff.emulators.livechat.chats import ChatService
from livehandoff.emulators.livechat.errors import ApiError
from livehandoff.emulators.livechat.events import append_event, system_message
from livehandoff.emulators.livechat.model import Actor, Agent, Chat, Organization
from livehandoff.emulators.livechat.seed import RoutingStatus


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """``target`` of transfer_chat: group ids or agent ids."""

    type: Literal["group", "agent"]
    group_ids: tuple[int, ...] = ()
    agent_ids: tuple[str, ...] = ()


class Desk:
    """Transfers and routing statuses, on top of :class:`ChatService`."""

    def __init__(self, chats: ChatService) -> None:
        self.chats = chats

    def transfer(
        self,
        org: Organization,
        chat: Chat,
        actor: Actor,
        target: TransferTarget | None,
        *,
        ignore_agents_availability: bool = False,
        ignore_requester_presence: bool = False,
    ) -> None:
        """Move the chat to another group or agent; without a target, re-route in its group."""
        if not chat.active:
            raise ApiError("chat_inactive", "Chat is inactive")
        if not ignore_requester_presence:
            self.chats.require_agent_in_chat(chat, actor, present=True)
        target = target or TransferTarget(type="group", group_ids=tuple(chat.group_ids))
        current = chat.present_agent_ids()
        if target.type == "group":
            group_ids = self.chats.check_groups(org, list(target.group_ids))
            agent = routing.pick_agent(org, group_ids, exclude=current)
            if agent is None and not ignore_agents_availability:
                raise ApiError("groups_offline", "No agent of the target groups can take the chat")
            chat.group_ids = group_ids
            chat.last_thread.access_group_ids = list(group_ids)
            target_names = [org.groups[group_id].name for group_id in group_ids]
        else:
            agent = self._target_agent(org, target, ignore_agents_availability)
            target_names = [org.agents[agent_id].name for agent_id in target.agent_ids]
        self._move(org, chat, actor, agent, current, target_names)

    def _target_agent(
        self, org: Organization, target: TransferTarget, ignore_availability: bool
    ) -> Agent | None:
        agents = []
        for agent_id in target.agent_ids:
            agent = org.agents.get(agent_id)
            if agent is None:
                raise ApiError("not_found", f"Agent not found: {agent_id}")
            agents.append(agent)
        online = [agent for agent in agents if agent.routing_status != "offline"]
        if online:
            return online[0]
        if ignore_availability:
            return None
        raise ApiError("agent_offline", "Target agent is offline")

    def _move(
        self,
        org: Organization,
        chat: Chat,
        actor: Actor,
        agent: Agent | None,
        current: list[str],
        names: list[str],
    ) -> None:
        thread = chat.last_thread
        for agent_id in current:
            if agent is None or agent_id != agent.id:
                chat.users[agent_id].present = False
                self.chats.notifier.user_removed(org, chat, agent_id, actor, reason="manual")
        initiator = org.agents[actor.user_id].name if actor.user_id in org.agents else "Someone"
        targets = ", ".join(names)
        draft = system_message(
            "chat_transferred",
            f"{initiator} transferred the chat to {targets}",
            {"initiator": initiator, "targets": targets},
        )
        event = append_event(thread, draft, author_id=None, author_type=None, now=self.chats.state.now())
        self.chats.notifier.incoming_event(org, chat, thread, event, actor)
        if agent is not None:
            self.chats.assign(
                org, chat, agent, actor, reason="manual", announce_message=False, routing_message=False
            )
        elif not thread.queued:
            self.chats.enqueue(thread)
        self.chats.notifier.chat_transferred(
            org, chat, actor, group_ids=list(chat.group_ids), agent_ids=[agent.id] if agent else []
        )
        self.chats.drain_queue(org)

    def set_routing_status(
        self, org: Organization, agent: Agent, status: RoutingStatus, actor: Actor
    ) -> None:
        """Switch availability; accepting agents take queued chats immediately."""
        agent.routing_status = status
        self.chats.notifier.routing_status_set(org, agent, actor)
        if status == "accepting_chats":
            self.chats.drain_queue(org)
