"""``livehandoff check --live``: the settings tried on LiveChat and Dialogflow, each check passed or failed.

LiveChat: the refresh token opens an agent token, with the scopes the bridge needs, in the organization
the settings name; this app's webhooks deliver to ``PUBLIC_URL`` (and which deliver elsewhere); the
groups the settings name exist, and whether anyone in them takes chats now. Dialogflow: one query on a
throwaway session. Every failed check names the environment variables (or the command) that fix it.

Only reads: webhooks are neither registered nor removed here (``serve`` and
``livehandoff livechat webhooks --prune`` do that).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import google.auth.exceptions
import httpx

from livehandoff.check import is_loopback_url, variable
from livehandoff.config import Settings
from livehandoff.errors import (
    BotError,
    BotUnavailable,
    ConfigurationError,
    DeskAuthError,
    DeskError,
    DeskUnavailable,
)
from livehandoff.integrations.livechat import WEBHOOK_FILTERS, LiveChatClient, TokenManager, diagnose
from livehandoff.integrations.livechat.authorize import BRIDGE_SCOPES, missing_scopes
from livehandoff.integrations.livechat.registration import MAX_PER_ACTION, PRUNE
from livehandoff.web.services import WEBHOOK_PATH, bot_engine

CHECK_TEXT = "hello"
AUTHORIZE = "livehandoff livechat authorize"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One check: its name, whether it passed, what was found, and what to change when it failed."""

    name: str
    passed: bool
    detail: str
    fix: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """How ``check --live`` prints it: a status, the name, the detail; then the fix."""
        first, *more = self.detail.splitlines() or [""]
        shown = [f"{'passed' if self.passed else 'FAILED'}  {self.name:<28} {first}"]
        shown += [f"{'':38}{line}" for line in more]
        if not self.passed and self.fix:
            shown.append(f"{'':38}fix: {', '.join(self.fix)}")
        return shown


async def run(settings: Settings, *, http: httpx.AsyncClient) -> list[Outcome]:
    """Every live check, LiveChat's then Dialogflow's."""
    return [*await livechat(settings, http=http), await dialogflow(settings, http=http)]


# --- LiveChat ------------------------------------------------------------------------------------


async def livechat(settings: Settings, *, http: httpx.AsyncClient) -> list[Outcome]:
    """The token first: without one nothing else can be asked."""
    client = LiveChatClient.from_settings(http, settings)
    try:
        access = await diagnose.agent_access(
            client,
            client_id=settings.livechat_client_id,
            client_secret=settings.livechat_client_secret.get_secret_value(),
            refresh_token=settings.livechat_refresh_token.get_secret_value(),
        )
    except DeskError as exc:
        return [_token_refused(exc)]
    tokens = TokenManager.from_settings(client, settings)
    return [
        _token(access),
        _scopes(access),
        await _organization(client, settings, access),
        *await _webhooks(client, tokens, settings),
        await _groups(client, tokens, settings),
    ]


def _token(access: diagnose.AgentAccess) -> Outcome:
    detail = f"the refresh token opens an agent token (agent account {access.account_id or 'not named'})"
    if access.rotated:
        detail += (
            "\nLiveChat handed out a new refresh token: should the configured one stop working, "
            f"run `{AUTHORIZE}`"
        )
    return Outcome("LiveChat agent token", True, detail)


def _token_refused(exc: DeskError) -> Outcome:
    name = "LiveChat agent token"
    if isinstance(exc, DeskUnavailable):
        return Outcome(name, False, str(exc), (variable("livechat_accounts_url"),))
    if exc.error_type == "invalid_client":
        return Outcome(name, False, f"LiveChat refused the app: {exc}", _vars("client_id", "client_secret"))
    if isinstance(exc, DeskAuthError):
        return Outcome(
            name,
            False,
            f"LiveChat refused the refresh token: {exc}",
            (variable("livechat_refresh_token"), f"`{AUTHORIZE}` prints a new one"),
        )
    return Outcome(name, False, str(exc), _vars("accounts_url", "refresh_token"))


def _scopes(access: diagnose.AgentAccess) -> Outcome:
    name = "LiveChat scopes"
    if not access.scopes:
        return Outcome(name, True, "LiveChat did not list the token's scopes; not checked")
    missing = [f"{scope} ({why})" for scope, why in missing_scopes(access.scopes).items()]
    if missing:
        return Outcome(
            name,
            False,
            f"the agent token lacks {'; '.join(missing)}",
            (f"give the app these scopes, then `{AUTHORIZE}` for a new {_vars('refresh_token')[0]}",),
        )
    return Outcome(name, True, f"the agent token has {', '.join(BRIDGE_SCOPES)}")


async def _organization(client: LiveChatClient, settings: Settings, access: diagnose.AgentAccess) -> Outcome:
    name = "LiveChat organization"
    configured = settings.livechat_organization_id
    organization = configured or access.organization_id
    if configured and access.organization_id and configured != access.organization_id:
        detail = f"the refresh token belongs to organization {access.organization_id}, not {configured}"
        return Outcome(name, False, detail, _vars("organization_id"))
    license_id = settings.livechat_license_id
    if license_id:
        try:
            licensed = await client.get_organization_id(license_id)
        except DeskError as exc:
            return Outcome(
                name, False, f"license {license_id} could not be looked up: {exc}", _vars("license_id")
            )
        if organization and licensed != organization:
            detail = f"license {license_id} is organization {licensed}, not {organization}"
            return Outcome(name, False, detail, _vars("license_id", "organization_id"))
        organization = licensed
    if not organization:
        return Outcome(name, False, "no organization is known", _vars("organization_id"))
    source = "as configured" if configured else "from the token"
    return Outcome(name, True, f"organization {organization} ({source})")


async def _webhooks(client: LiveChatClient, tokens: TokenManager, settings: Settings) -> list[Outcome]:
    url = settings.public_url + WEBHOOK_PATH
    try:
        found = await diagnose.registrations(
            client, tokens=tokens, owner_client_id=settings.livechat_client_id
        )
    except DeskError as exc:
        return [
            Outcome("LiveChat webhooks", False, f"they could not be listed: {exc}", _vars("refresh_token"))
        ]
    here = [hook for hook in found if hook.url == url]
    elsewhere = [hook for hook in found if hook.url != url]
    return [_ours(settings, url, here, elsewhere), _elsewhere(url, elsewhere)]


def _ours(
    settings: Settings, url: str, here: list[diagnose.Registration], elsewhere: list[diagnose.Registration]
) -> Outcome:
    name = "LiveChat webhooks"
    secret = settings.livechat_webhook_secret.get_secret_value()
    missing = [action for action in WEBHOOK_FILTERS if not any(hook.action == action for hook in here)]
    other_secret = [hook.action for hook in here if hook.secret is not None and hook.secret != secret]
    if is_loopback_url(url) and not is_loopback_url(settings.livechat_api_url):
        return Outcome(
            name, False, f"LiveChat cannot deliver to {url}, a loopback address", (variable("public_url"),)
        )
    if not missing and not other_secret:
        return Outcome(name, True, f"{', '.join(WEBHOOK_FILTERS)} deliver to {url}")
    problems = []
    if missing:
        problems.append(f"not registered for {url}: {', '.join(missing)}")
    if other_secret:
        problems.append(f"registered with another secret: {', '.join(sorted(set(other_secret)))}")
    if not settings.livechat_register_webhooks:
        fix = _vars("register_webhooks") + (_vars("webhook_secret") if other_secret else ())
        return Outcome(name, False, "; ".join(problems) + " (and registration is off)", fix)
    full = [a for a in missing if sum(hook.action == a for hook in elsewhere) >= MAX_PER_ACTION]
    if full:
        detail = f"{', '.join(full)}: this app has {MAX_PER_ACTION} elsewhere, so serve cannot register them"
        return Outcome(name, False, detail, (f"`{PRUNE}`",))
    then = "serve replaces them when it starts" if not missing else "serve registers them when it starts"
    return Outcome(name, True, "; ".join(problems) + f"; {then}")


def _elsewhere(url: str, elsewhere: list[diagnose.Registration]) -> Outcome:
    name = "LiveChat webhooks elsewhere"
    if not elsewhere:
        return Outcome(name, True, f"none of this app's webhooks deliver anywhere but {url}")
    listed = "\n".join(f"{hook.action} → {hook.url} ({hook.id})" for hook in elsewhere)
    detail = f"{len(elsewhere)} of this app's webhooks deliver elsewhere:\n{listed}"
    return Outcome(name, False, detail, (f"`{PRUNE}` (unless another deployment of this app uses them)",))


async def _groups(client: LiveChatClient, tokens: TokenManager, settings: Settings) -> Outcome:
    name = "LiveChat groups"
    try:
        found = {group.id: group for group in await diagnose.groups(client, tokens=tokens)}
    except DeskError as exc:
        return Outcome(name, False, f"they could not be listed: {exc}", _vars("refresh_token"))
    named = {settings.livechat_group_id: variable("livechat_group_id")}
    for trigger, group_id in settings.handoff_groups.items():
        named.setdefault(group_id, f"{variable('handoff_groups')} ({trigger})")
    for group_name, group_id in settings.livechat_group_names.items():
        named.setdefault(group_id, f"{variable('livechat_group_names')} ({group_name})")
    unknown = {group_id: where for group_id, where in named.items() if group_id not in found}
    if unknown:
        detail = "; ".join(
            f"group {group_id} of {where} does not exist" for group_id, where in unknown.items()
        )
        return Outcome(
            name, False, detail, tuple(sorted({where.split(" ")[0] for where in unknown.values()}))
        )
    shown = [
        f"group {gid} {found[gid].name}: {found[gid].routing_status or 'status unknown'}" for gid in named
    ]
    return Outcome(name, True, "; ".join(shown))


def _vars(*fields: str) -> tuple[str, ...]:
    return tuple(variable(f"livechat_{field}") for field in fields)


# --- Dialogflow ----------------------------------------------------------------------------------


async def dialogflow(settings: Settings, *, http: httpx.AsyncClient) -> Outcome:
    """One query on a session of its own, so no conversation's context is touched."""
    name = "Dialogflow query"
    session = f"livehandoff-check-{secrets.token_hex(8)}"
    try:
        engine = bot_engine(settings, http)
        turn = await engine.detect_intent(
            session_id=session, text=CHECK_TEXT, language=settings.default_language
        )
    except (ConfigurationError, google.auth.exceptions.GoogleAuthError) as exc:
        return Outcome(name, False, str(exc), (variable("google_application_credentials"),))
    except BotError as exc:
        return Outcome(name, False, str(exc), _dialogflow_fix(settings, exc))
    answered = f"intent {turn.intent}" if turn.intent else "no intent"
    edition = settings.dialogflow_edition.upper()
    return Outcome(name, True, f"the {edition} agent answered {CHECK_TEXT!r} ({answered})")


def _dialogflow_fix(settings: Settings, exc: BotError) -> tuple[str, ...]:
    if isinstance(exc, BotUnavailable):
        if exc.status is None:
            return (variable("dialogflow_api_endpoint"),)
        return ("nothing: Dialogflow is busy or failing; try again later",)
    if exc.status in (401, 403):
        credentials = variable("google_application_credentials")
        return (f"{credentials} (a service account with the Dialogflow API Client role)",)
    fields = ["dialogflow_project_id", "dialogflow_location", "dialogflow_api_endpoint"]
    if settings.dialogflow_edition == "cx":
        fields.insert(1, "dialogflow_agent_id")
    if settings.dialogflow_environment:
        fields.append("dialogflow_environment")
    if exc.status == 400:
        fields.append("default_language")
    return tuple(variable(field) for field in fields)
