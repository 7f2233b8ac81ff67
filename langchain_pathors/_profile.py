"""What `ChatPathors.profile` says the pathway can do (LangChain's `ModelProfile`).

`create_agent` reads it to choose a structured-output strategy: the Pathors API
documents tools but no `response_format`, so structured output goes through a forced
tool call (`structured_output=False`), and its messages are text only.
"""

from __future__ import annotations

from langchain_core.language_models import ModelProfile

__all__ = ["pathors_profile"]


def pathors_profile() -> ModelProfile:
    """A fresh profile (each model gets its own dict: users may edit theirs)."""
    return ModelProfile(
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,
        structured_output=False,
        text_inputs=True,
        text_outputs=True,
        image_inputs=False,
        image_url_inputs=False,
        pdf_inputs=False,
        audio_inputs=False,
        video_inputs=False,
    )
