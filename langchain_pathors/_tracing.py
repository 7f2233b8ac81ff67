"""What callbacks and LangSmith see: retries as `on_retry` events, params without secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_pathors._redaction import Redactor, scrub_error, variable_values

if TYPE_CHECKING:
    from collections.abc import Mapping

    from langchain_core.callbacks import (
        AsyncCallbackManagerForLLMRun,
        CallbackManagerForLLMRun,
    )
    from langchain_core.language_models import LangSmithParams

    from langchain_pathors._retry_loop import OnRetry, RetryEvent

__all__ = ["SECRET_PARAMS", "ls_params", "redact_params", "retry_hook"]

# Never traced: the key, headers that may hold credentials, the session's variables (user
# data), and injected clients (their own headers may hold credentials).
SECRET_PARAMS = frozenset(
    {"api_key", "default_headers", "session_variables", "http_client", "http_async_client"}
)


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """Drop secret values from invocation params; record only which variables were set."""
    clean = {k: v for k, v in params.items() if k not in SECRET_PARAMS}
    variables = params.get("session_variables")
    if isinstance(variables, Mapping):
        clean["session_variable_names"] = sorted(str(k) for k in variables)
    return clean


def ls_params(
    body: Mapping[str, Any], *, model_name: str, stop: list[str] | None
) -> LangSmithParams:
    """LangSmith's standard params from the request body's fields."""
    from langchain_core.language_models import LangSmithParams

    params = LangSmithParams(ls_provider="pathors", ls_model_name=model_name, ls_model_type="chat")
    if isinstance(body.get("temperature"), (int, float)):
        params["ls_temperature"] = body["temperature"]
    if isinstance(body.get("max_tokens"), int):
        params["ls_max_tokens"] = body["max_tokens"]
    if stop:
        params["ls_stop"] = stop
    return params


def _retry_state(event: RetryEvent) -> Any:
    # langchain-core's on_retry takes tenacity's RetryCallState (tenacity is its dependency).
    from tenacity import RetryCallState, Retrying
    from tenacity.wait import wait_fixed

    state = RetryCallState(Retrying(wait=wait_fixed(event.delay)), fn=None, args=(), kwargs={})
    state.attempt_number = event.retry_number
    state.set_exception((type(event.error), event.error, event.error.__traceback__))
    state.idle_for = event.delay
    return state


def retry_hook(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
    variables: Mapping[str, Any] | None = None,
) -> OnRetry | None:
    """A client `on_retry` hook that reports each retry to the run's callbacks.

    The error it reports has the values of the call's session `variables` blanked out
    (a server may echo them back); the client has already blanked out the key.
    """
    if run_manager is None:
        return None

    def hook(event: RetryEvent) -> object:
        if variables:
            scrub_error(event.error, Redactor(words=variable_values(variables)))
        return run_manager.on_retry(_retry_state(event))

    return hook
