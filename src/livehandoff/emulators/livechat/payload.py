"""Reading request bodies: JSON objects with typed, validated fields.

Every shape problem becomes the API's ``validation`` error, naming the field by its JSON path,
so handlers read like the method's parameter table.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from livehandoff.emulators.livechat.errors import validation_error


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as an object; an empty body is ``{}``, malformed JSON is ``validation``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation_error("Malformed JSON: the request body cannot be parsed") from exc
    if not isinstance(data, dict):
        raise validation_error("The request body must be a JSON object")
    return data


class Fields:
    """Typed access to one JSON object of a request."""

    def __init__(self, data: dict[str, Any], path: str = "") -> None:
        self.data = data
        self._path = path

    def _name(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def has(self, key: str) -> bool:
        """The key is present (even when ``null``)."""
        return key in self.data

    def string(self, key: str) -> str:
        """A required non-empty string."""
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise validation_error(f"{self._name(key)} is required and must be a non-empty string")
        return value

    def optional_string(self, key: str) -> str | None:
        """A string or nothing."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise validation_error(f"{self._name(key)} must be a string")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        """A boolean with a default."""
        value = self.optional_boolean(key)
        return default if value is None else value

    def optional_boolean(self, key: str) -> bool | None:
        """A boolean or nothing (``null`` counts as nothing)."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise validation_error(f"{self._name(key)} must be a boolean")
        return value

    def optional_integer(
        self, key: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """An integer within bounds, or nothing."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise validation_error(f"{self._name(key)} must be an integer")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise validation_error(f"{self._name(key)} is out of range")
        return value

    def object(self, key: str) -> Fields:
        """A nested object; absent means empty."""
        value = self.data.get(key)
        if value is None:
            return Fields({}, self._name(key))
        if not isinstance(value, dict):
            raise validation_error(f"{self._name(key)} must be an object")
        return Fields(value, self._name(key))

    def optional_list(self, key: str) -> list[Any] | None:
        """An array or nothing."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise validation_error(f"{self._name(key)} must be an array")
        return value

    def string_list(self, key: str) -> list[str] | None:
        """An array of strings or nothing."""
        values = self.optional_list(key)
        if values is not None and not all(isinstance(item, str) for item in values):
            raise validation_error(f"{self._name(key)} must be an array of strings")
        return values

    def integer_list(self, key: str) -> list[int] | None:
        """An array of integers or nothing."""
        values = self.optional_list(key)
        if values is not None and not all(
            isinstance(item, int) and not isinstance(item, bool) for item in values
        ):
            raise validation_error(f"{self._name(key)} must be an array of integers")
        return values
