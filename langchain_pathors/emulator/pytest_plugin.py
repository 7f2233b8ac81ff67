"""Pytest fixtures for testing apps against the Pathors emulator.

Load them in a ``conftest.py``:

```python
pytest_plugins = ["langchain_pathors.emulator.pytest_plugin"]
```

With ``pytest-socket``'s ``--disable-socket``, allow loopback for the tests that use
them (``--allow-hosts=127.0.0.1,localhost``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._server import PathorsEmulator

__all__ = ["pathors_emulator", "pathors_emulator_fresh"]


@pytest.fixture(scope="session")
def pathors_emulator() -> Iterator[PathorsEmulator]:
    """One emulator for the whole test session (echo pathway, started once).

    Examples:
        >>> from langchain_pathors import ChatPathors
        >>> def test_chat(pathors_emulator):  # doctest: +SKIP
        ...     llm = ChatPathors(
        ...         base_url=pathors_emulator.base_url,
        ...         project_id=pathors_emulator.project_id,
        ...         api_key=pathors_emulator.api_key,
        ...     )
        ...     assert llm.invoke("Hi").content == "You said: Hi"
    """
    from ._server import PathorsEmulator  # lazy: loading the plugin needs no extra

    with PathorsEmulator() as emulator:
        yield emulator


@pytest.fixture
def pathors_emulator_fresh(pathors_emulator: PathorsEmulator) -> Iterator[PathorsEmulator]:
    """The session's emulator with no sessions, recorded requests, turns or faults.

    It is reset before and after the test, so faults injected here do not leak.

    Examples:
        >>> from langchain_pathors.emulator import Fault
        >>> def test_retry(pathors_emulator_fresh):  # doctest: +SKIP
        ...     pathors_emulator_fresh.inject(Fault(status=503))
        ...     ...  # the client retries and succeeds
        ...     assert len(pathors_emulator_fresh.requests) == 2
    """
    pathors_emulator.reset()
    yield pathors_emulator
    pathors_emulator.reset()
