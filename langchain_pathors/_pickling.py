"""Pickling and copying a model: its configuration travels, process resources are rebuilt.

Besides its fields, a model holds things that belong to one process: HTTP clients (sockets,
one per event loop), locks, and its session bookkeeping. None of them can cross a process
boundary (`pickle` raised "cannot pickle '_thread.lock'"), and a deep copy must not share
them by accident. So pickle and deep copy carry the fields only, and the copy builds its
own resources the way a new model does (`_build_runtime`), lazily opening connections on
first use.

Two fields are handles to things outside the model and are shared, never copied:

* `http_client` / `http_async_client`: the caller's own clients. A deep copy uses the same
  ones; a pickle refuses them (a socket cannot travel, and silently swapping in another
  client would drop the caller's proxies, certificates or transports).
* `session_registry`: where sessions, heads and turn locks live. A deep copy shares it;
  a pickled `RedisSessionRegistry` reconnects to the same Redis on the other side.

The API key travels inside the pickle as a `SecretStr` (masked in `repr`, but readable by
whoever can read the bytes): treat a pickled model like the key itself.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, model_validator
from typing_extensions import Self

__all__ = ["INJECTED_CLIENT_FIELDS", "RUNTIME_FIELDS", "RebuiltAcrossCopies"]

INJECTED_CLIENT_FIELDS = ("http_client", "http_async_client")
# The fields `_build_runtime` builds the HTTP client from. A `model_copy(update=...)` that
# changes one gets its own client; other updates (session fields, read per call) share
# the original's, which is what a per-call copy wants.
RUNTIME_FIELDS = frozenset(
    {
        *INJECTED_CLIENT_FIELDS,
        "base_url",
        "project_id",
        "api_key",
        "timeout",
        "stream_idle_timeout",
        "default_headers",
        "max_retries",
        "max_retry_after",
    }
)
# Deep copies share these: they are handles to resources the model does not own.
_SHARED_FIELDS = (*INJECTED_CLIENT_FIELDS, "session_registry")


class RebuiltAcrossCopies(BaseModel):
    """Mixin: pickle, deep copy and `model_copy(update=...)` rebuild process resources.

    The class using it implements `_build_runtime()`, which checks the fields and (re)creates
    every private attribute from them; it runs after validation, and again on the other
    side of a pickle or copy.

    Example:
        ```python
        clone = pickle.loads(pickle.dumps(llm))  # same settings, its own connections
        ```
    """

    def _build_runtime(self) -> None:
        raise NotImplementedError

    @model_validator(mode="after")
    def _build_runtime_once_valid(self) -> Self:
        self._build_runtime()
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        injected = [name for name in INJECTED_CLIENT_FIELDS if state["__dict__"].get(name)]
        if injected:
            msg = (
                f"a {type(self).__name__} with its own {' and '.join(injected)} cannot be "
                "pickled (an HTTP client holds sockets); build the model without it and let "
                "it create its own clients, or build it inside the worker"
            )
            raise TypeError(msg)
        # Private attributes are process resources: the other side builds its own.
        return {**state, "__pydantic_private__": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._build_runtime()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        memo = {} if memo is None else memo
        cls = type(self)
        clone = cls.__new__(cls)
        memo[id(self)] = clone
        fields = {
            name: value if name in _SHARED_FIELDS else copy.deepcopy(value, memo)
            for name, value in self.__dict__.items()
        }
        object.__setattr__(clone, "__dict__", fields)
        object.__setattr__(clone, "__pydantic_extra__", copy.deepcopy(self.__pydantic_extra__))
        object.__setattr__(clone, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        object.__setattr__(clone, "__pydantic_private__", None)
        clone._build_runtime()
        return clone

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the model; a copy whose connection settings change gets its own client.

        Example:
            ```python
            other = llm.model_copy(update={"base_url": "http://127.0.0.1:8000"})
            ```
        """
        clone = super().model_copy(update=update, deep=deep)
        if not deep and update and RUNTIME_FIELDS.intersection(update):
            clone._build_runtime()  # else it would keep the client built for the old settings
        return clone
