"""LangChain's standard unit suite for chat models, with the flags set to what Pathors does."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from langchain_pathors import ChatPathors


class TestChatPathorsStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatPathors]:
        return ChatPathors

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"project_id": "test-project", "api_key": "test-key"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "PATHORS_API_KEY": "env-key",
                "PATHORS_PROJECT_ID": "env-project",
                "PATHORS_BASE_URL": "http://127.0.0.1:9",
            },
            {},
            {"api_key": "env-key", "project_id": "env-project", "base_url": "http://127.0.0.1:9"},
        )

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        # Pathors reports every token count as -1 (unknown): usage_metadata is None.
        return False

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        # Sent as OpenAI's response_format; the Pathors docs are silent on it.
        return False

    @pytest.mark.xfail(
        reason=(
            "langchain-core's loader with allowed_objects='all' admits only the classes in "
            "its own mapping, so no out-of-tree integration can load there; the dump still "
            "matches the snapshot, and test_secrets.py round-trips the model with "
            "allowed_objects=[ChatPathors]"
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)
