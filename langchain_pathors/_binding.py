"""The runnable `ChatPathors.bind` returns: session variables bound later are hidden too.

`ChatPathors.bind` wraps a plain `session_variables` dict in `SessionVariables`. But
LangChain's own binding has a `bind` of its own, so `llm.bind_tools(tools).bind(...)` (or
`llm.bind(...).bind(...)`) used to keep a plain dict, which the binding's `repr` and
LangChain's `dumps` print. This binding wraps on every `bind`, and, like LangChain's, it
keeps its class through `bind` and `with_config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.language_models.chat_models import _ChatModelBinding

from langchain_pathors._session_variables import hide_session_variables

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

__all__ = ["VariablesHidingBinding", "bind_hiding_variables"]


# The pydantic mypy plugin mistakes the `kwargs` field for a redefinition (LangChain's own
# binding classes carry the same ignore).
class VariablesHidingBinding(_ChatModelBinding):  # type: ignore[no-redef]
    """A chat model's binding whose `bind` hides `session_variables` as `ChatPathors.bind` does.

    It serializes as a plain `RunnableBinding` (LangChain's id), so `loads(dumps(chain))`
    still works.
    """

    def bind(self, **kwargs: Any) -> Runnable[Any, Any]:
        """Bind more call arguments; a plain `session_variables` dict is hidden first."""
        return super().bind(**hide_session_variables(kwargs))


def bind_hiding_variables(model: BaseChatModel, kwargs: Mapping[str, Any]) -> _ChatModelBinding:
    """`model` with `kwargs` bound, as `BaseChatModel.bind` does, variables hidden."""
    return VariablesHidingBinding(
        bound=model, kwargs=hide_session_variables(dict(kwargs)), config={}
    )
