"""Settings loaded from a config file (YAML, JSON) with pydantic's own entry points.

A user who keeps the model's settings in a file builds it with `model_validate(dict)` or
`model_validate_json(text)`, or nests it in their own settings model, instead of calling
`ChatPathors(...)`. pydantic runs a model's own `__init__` for these too (its custom-init
path), so the same checks apply: a malformed key is a `PathorsAuthenticationError`, any
other mistake a `ValidationError`, and the key is in neither.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with langchain-core, its stubs do not
from pydantic import BaseModel, ValidationError

from langchain_pathors import ChatPathors, PathorsAuthenticationError
from tests.leaks import error_texts

KEY = "sk-yaml-canary-5d7e9f1a3b"
NUMERIC_KEY = "8675309123456789"  # YAML reads an unquoted number as an int

# A key in a YAML block scalar keeps its line break, a classic copy-and-paste slip.
MALFORMED_KEY = f"""
pathors:
  project_id: proj-7
  base_url: https://pathors.example
  api_key: |
    {KEY}
"""
WRONG_TYPES = f"""
pathors:
  project_id: proj-7
  base_url: https://pathors.example
  api_key: {KEY}
  max_retries: a few
  timeout: soon
"""
BOTH = WRONG_TYPES.replace(f"api_key: {KEY}", f'api_key: " {KEY}"')
KEY_AS_NUMBER = f"""
pathors:
  project_id: proj-7
  base_url: https://pathors.example
  api_key: {NUMERIC_KEY}
"""


class AppSettings(BaseModel):
    """A user's own settings model with the chat model nested in it."""

    app_name: str = "support-bot"
    pathors: ChatPathors


def settings(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(text)["pathors"]
    return loaded


# Every way a user loads a config, each given the parsed `pathors:` section.
LOADERS = {
    "model_validate": ChatPathors.model_validate,
    "model_validate_json": lambda data: ChatPathors.model_validate_json(json.dumps(data)),
    "nested in the user's model": lambda data: AppSettings.model_validate({"pathors": data}),
    "nested, from JSON": lambda data: AppSettings.model_validate_json(
        json.dumps({"pathors": data})
    ),
}


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PATHORS_API_KEY", "PATHORS_PROJECT_ID", "PATHORS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def load(how: str, text: str) -> Any:
    return LOADERS[how](settings(text))


@pytest.mark.parametrize("how", LOADERS)
def test_a_good_config_loads_into_a_working_model(how: str) -> None:
    loaded = load(how, WRONG_TYPES.replace("  max_retries: a few\n  timeout: soon\n", ""))
    llm = loaded if isinstance(loaded, ChatPathors) else loaded.pathors
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == KEY
    assert KEY not in repr(llm)


@pytest.mark.parametrize("how", LOADERS)
def test_a_malformed_key_in_a_config_is_an_authentication_error_without_the_key(
    how: str,
) -> None:
    with pytest.raises(PathorsAuthenticationError) as caught:
        load(how, MALFORMED_KEY)
    assert "line break" in str(caught.value)
    assert KEY not in error_texts(caught.value)


@pytest.mark.parametrize("how", LOADERS)
@pytest.mark.parametrize("config", [WRONG_TYPES, BOTH], ids=["good key", "malformed key"])
def test_wrong_types_in_a_config_name_the_fields_and_never_the_key(how: str, config: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load(how, config)
    error = caught.value
    named = {part for item in error.errors() for part in item["loc"]}
    assert {"max_retries", "timeout"} <= named
    texts = error_texts(error)
    assert KEY not in texts
    assert "a few" not in texts  # no input at all, the key's neighbours included
    assert error.__context__ is None
    assert error.__cause__ is None


@pytest.mark.parametrize("how", LOADERS)
def test_a_key_of_the_wrong_type_is_not_echoed(how: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load(how, KEY_AS_NUMBER)
    assert any("api_key" in item["loc"] for item in caught.value.errors())
    assert NUMERIC_KEY not in error_texts(caught.value)
