"""What the bridge itself says to customers, per language.

Messages live in this catalogue, not in the code that sends them. A language missing a key falls back
to English.
"""

from __future__ import annotations

from types import MappingProxyType

CATALOGUE: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        "en": MappingProxyType(
            {
                "connecting": "Connecting you to an agent…",
                "waiting": "You're in line — an agent will be with you shortly.",
                "agent_joined": "{agent} joined the chat.",
                "ended_by_agent": "{agent} ended the chat. You're chatting with the bot again.",
                "ended_by_customer": "You ended the chat. You're chatting with the bot again.",
                "ended_by_system": "The chat with the agent has ended. You're chatting with the bot again.",
                "handoff_offline": "Sorry, no agent is available right now. The bot will keep helping you.",
                "handoff_failed": "Sorry, we couldn't reach an agent right now. The bot will keep helping you.",
                "bot_failed": "Sorry, something went wrong on our side. Please try again in a moment.",
                "not_delivered": "Your last message could not be delivered to the agent. Please send it again.",
                "agent": "Agent",
                "leave_message": "Nobody is available right now. Leave your message here — an agent will answer as soon as someone is back.",
                "ask_email": "Nobody is available right now. Leave your e-mail address and we'll get back to you.",
                "email_thanks": "Thanks! We'll get back to you at {email}. You can add anything else here.",
                "cancelled": "You stopped waiting for an agent. The bot will keep helping you.",
                "wait_expired": "Sorry, nobody could take your chat in time. The bot will keep helping you.",
                "cancel_words": "cancel|stop waiting|never mind",
            }
        ),
        "de": MappingProxyType(
            {
                "connecting": "Sie werden mit einem Mitarbeiter verbunden…",
                "waiting": "Sie sind in der Warteschlange — gleich ist jemand für Sie da.",
                "agent_joined": "{agent} ist dem Chat beigetreten.",
                "ended_by_agent": "{agent} hat den Chat beendet. Sie schreiben wieder mit dem Bot.",
                "ended_by_customer": "Sie haben den Chat beendet. Sie schreiben wieder mit dem Bot.",
                "ended_by_system": "Der Chat mit dem Mitarbeiter ist beendet. Sie schreiben wieder mit dem Bot.",
                "handoff_offline": "Leider ist gerade niemand erreichbar. Der Bot hilft Ihnen weiter.",
                "handoff_failed": "Leider konnten wir gerade niemanden erreichen. Der Bot hilft Ihnen weiter.",
                "bot_failed": "Leider ist bei uns etwas schiefgelaufen. Bitte versuchen Sie es gleich noch einmal.",
                "not_delivered": "Ihre letzte Nachricht konnte nicht zugestellt werden. Bitte senden Sie sie erneut.",
                "agent": "Mitarbeiter",
                "leave_message": "Gerade ist niemand erreichbar. Hinterlassen Sie hier Ihre Nachricht — wir antworten, sobald jemand da ist.",
                "ask_email": "Gerade ist niemand erreichbar. Hinterlassen Sie Ihre E-Mail-Adresse, wir melden uns.",
                "email_thanks": "Danke! Wir melden uns unter {email}. Sie können hier gern noch etwas ergänzen.",
                "cancelled": "Sie warten nicht mehr auf einen Mitarbeiter. Der Bot hilft Ihnen weiter.",
                "wait_expired": "Leider konnte rechtzeitig niemand Ihren Chat übernehmen. Der Bot hilft Ihnen weiter.",
                "cancel_words": "abbrechen|nicht mehr warten",
            }
        ),
    }
)


def is_cancel(language: str, text: str) -> bool:
    """Whether ``text`` asks to stop waiting for an agent (the catalogue's ``cancel_words``)."""
    words = say(language, "cancel_words").split("|") + say("en", "cancel_words").split("|")
    return text.strip().strip(".!").casefold() in {word.casefold() for word in words}


def say(language: str, key: str, **values: str) -> str:
    """The catalogue text for ``key`` in ``language`` (or its base language, or English)."""
    for candidate in (language, language.split("-")[0].lower(), "en"):
        entries = CATALOGUE.get(candidate)
        if entries is not None and key in entries:
            return entries[key].format(**values)
    raise KeyError(key)
