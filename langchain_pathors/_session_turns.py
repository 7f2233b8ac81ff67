"""A call's turn in its session: one turn at a time, fork check, create once, head update.

Per process (not per model instance: `configurable_fields`, rebuilt agents and several
models on one project must agree), keyed by project, base URL and session id:

* turns on one session run one after the other in arrival order, across threads, tasks
  and event loops (`session_concurrency="serialize"`), or the later one fails
  (`"reject"`), or they are not ordered (`"allow"`);
* the fork check runs once the turn is ours, so a turn that waited sees the head the
  turn before it left;
* a session with variables is created once, before its first turn, even when callers
  race for it (whatever `session_concurrency` says);
* a turn that gets an answer makes its reply the session's head; a turn that fails after
  its request may have reached the server forgets the head (see `SessionHeads`).

After a `PathorsOutcomeUnknownError` (or any failure once the request was sent) nobody
knows whether the server took the turn, so the session's head is forgotten: the next call
on that session is sent unchecked, as after a restart. Re-sending the same history then
is the caller's decision, which the error's message warns about.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from langchain_pathors._session_gate import GateBusyError, KeyedGate
from langchain_pathors._session_heads import SessionHeads, is_fork
from langchain_pathors._session_registry import SessionRegistry
from langchain_pathors._session_resolver import Endpoint, ResolvedSession, SessionSource
from langchain_pathors._sessions import new_session_id
from langchain_pathors.errors import PathorsSessionBusyError, PathorsSessionForkedError

__all__ = [
    "PROCESS_SESSIONS",
    "ConcurrencyPolicy",
    "ForkPolicy",
    "ProcessSessions",
    "SessionTurns",
    "Turn",
    "forget_process_sessions",
]

ForkPolicy = Literal["raise", "new_session", "allow"]
ConcurrencyPolicy = Literal["serialize", "reject", "allow"]
Variables = Mapping[str, Any] | None
Create = Callable[[str, Variables], object]
ACreate = Callable[[str, Variables], Awaitable[object]]


class CreatedSessions:
    """Digests of the (session, variables) pairs created in this process; bounded LRU.

    Digests, not the variables: this registry must not hold user data. A forgotten pair is
    at worst created again with the same variables.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max_entries = max_entries
        self._done: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            if digest in self._done:
                self._done.move_to_end(digest)  # type: ignore[arg-type]
                return True
            return False

    def add(self, digest: str) -> None:
        """Remember a created pair."""
        with self._lock:
            self._done[digest] = None
            self._done.move_to_end(digest)
            while len(self._done) > self._max_entries:
                self._done.popitem(last=False)

    def clear(self) -> None:
        """Forget every pair."""
        with self._lock:
            self._done.clear()


@dataclass
class ProcessSessions:
    """Everything this process knows about sessions (shared by every ChatPathors)."""

    gate: KeyedGate
    heads: SessionHeads
    created: CreatedSessions


PROCESS_SESSIONS = ProcessSessions(KeyedGate(), SessionHeads(), CreatedSessions())


def forget_process_sessions() -> None:
    """Forget every head and created session (for tests that reset their server)."""
    PROCESS_SESSIONS.heads.clear()
    PROCESS_SESSIONS.created.clear()


def created_digest(endpoint: Endpoint, session_id: str, variables: Variables) -> str:
    """A digest of one (project, session, variables) triple."""
    encoded = json.dumps(
        [endpoint.base_url, endpoint.project_id, session_id, variables],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(encoded.encode()).hexdigest()


# A session's first reply is not recorded as its head: a fork takes two continuations
# from one reply, and the first of them records its own. So a process that starts many
# conversations that never continue (one-shot calls) keeps no table entry for them.
_FIRST_TURNS = frozenset({"new", "server"})


class Turn:
    """One call's turn: its session, why, and the stamp its result carries."""

    def __init__(
        self,
        turns: SessionTurns,
        session_id: str | None,
        source: SessionSource,
        *,
        variables: Variables = None,
        create: bool = False,
    ) -> None:
        self._turns = turns
        self.session_id = session_id
        self.source = source
        self.variables = variables
        self.create = create
        self.reply_id = uuid.uuid4().hex
        self._landed_in: str | None = session_id

    def stamp(self, metadata: dict[str, Any]) -> None:
        """Mark a result's metadata as this turn's reply (and learn a server-given id)."""
        metadata.update(self._turns.endpoint.stamp())
        if not metadata.get("session_id") and self.session_id is not None:
            metadata["session_id"] = self.session_id
        metadata["session_source"] = self.source
        metadata["pathors_reply_id"] = self.reply_id
        session_id = metadata.get("session_id")
        if isinstance(session_id, str):
            self._landed_in = session_id
            if self.source not in _FIRST_TURNS:
                self._turns.state.heads.set(self._turns.key(session_id), self.reply_id)

    def failed(self) -> None:
        """The request may have reached the server: its effect is unknown, forget the head."""
        if self._landed_in is not None:
            self._turns.state.heads.forget(self._turns.key(self._landed_in))


class SessionTurns:
    """Runs turns for one model's endpoint and policies against the process state."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        on_fork: ForkPolicy = "raise",
        concurrency: ConcurrencyPolicy = "serialize",
        state: SessionRegistry = PROCESS_SESSIONS,
    ) -> None:
        self.endpoint = endpoint
        self.on_fork = on_fork
        self.concurrency = concurrency
        self.state = state

    def key(self, session_id: str) -> Hashable:
        """The process-wide key of a session of this endpoint."""
        return (self.endpoint.base_url, self.endpoint.project_id, session_id)

    # ---------------------------------------------------------------- sync
    @contextmanager
    def turn(self, resolved: ResolvedSession, create: Create) -> Iterator[Turn]:
        """Hold `resolved`'s session for one turn (see the module docstring)."""
        key, ticket = self._lock_key(resolved), None
        if key is not None:
            try:
                ticket = self.state.gate.acquire(key, wait=self._wait)
            except GateBusyError as exc:
                raise self._busy(resolved, exc) from None
        try:
            turn = self._begin(resolved)
            if turn.create and turn.session_id is not None:
                self._ensure_created(
                    turn.session_id, turn.variables, create, fresh=turn.source == "new"
                )
            with _failing(turn):
                yield turn
        finally:
            if key is not None and ticket is not None:
                self.state.gate.release(key, ticket)

    def _ensure_created(
        self, session_id: str, variables: Variables, create: Create, *, fresh: bool
    ) -> None:
        digest = created_digest(self.endpoint, session_id, variables)
        if fresh:  # an id nobody else can know yet: no race to guard against
            create(session_id, variables)
            self.state.created.add(digest)
            return
        if digest in self.state.created:
            return
        gate_key = ("create", digest)
        ticket = self.state.gate.acquire(gate_key)
        try:
            if digest not in self.state.created:
                create(session_id, variables)
                self.state.created.add(digest)
        finally:
            self.state.gate.release(gate_key, ticket)

    # ---------------------------------------------------------------- async
    @asynccontextmanager
    async def aturn(self, resolved: ResolvedSession, create: ACreate) -> AsyncIterator[Turn]:
        """Async twin of `turn`."""
        key, ticket = self._lock_key(resolved), None
        if key is not None:
            try:
                ticket = await self.state.gate.aacquire(key, wait=self._wait)
            except GateBusyError as exc:
                raise self._busy(resolved, exc) from None
        try:
            turn = self._begin(resolved)
            if turn.create and turn.session_id is not None:
                await self._aensure_created(
                    turn.session_id, turn.variables, create, fresh=turn.source == "new"
                )
            with _failing(turn):
                yield turn
        finally:
            if key is not None and ticket is not None:
                self.state.gate.release(key, ticket)

    async def _aensure_created(
        self, session_id: str, variables: Variables, create: ACreate, *, fresh: bool
    ) -> None:
        digest = created_digest(self.endpoint, session_id, variables)
        if fresh:
            await create(session_id, variables)
            self.state.created.add(digest)
            return
        if digest in self.state.created:
            return
        gate_key = ("create", digest)
        ticket = await self.state.gate.aacquire(gate_key)
        try:
            if digest not in self.state.created:
                await create(session_id, variables)
                self.state.created.add(digest)
        finally:
            self.state.gate.release(gate_key, ticket)

    # ---------------------------------------------------------------- shared steps
    def remember_created(self, session_id: str, variables: Variables) -> None:
        """Record a session created by `create_session` (a later turn does not re-create)."""
        if variables is not None:
            self.state.created.add(created_digest(self.endpoint, session_id, variables))

    @property
    def _wait(self) -> bool:
        return self.concurrency == "serialize"

    def _lock_key(self, resolved: ResolvedSession) -> Hashable | None:
        # A fresh id is unknown to anyone else; "allow" orders nothing.
        if resolved.session_id is None or resolved.source == "new" or self.concurrency == "allow":
            return None
        return self.key(resolved.session_id)

    def _busy(self, resolved: ResolvedSession, exc: GateBusyError) -> PathorsSessionBusyError:
        if exc.self_deadlock:
            error = PathorsSessionBusyError(
                "this caller still holds a turn on this session (a stream it has not "
                "finished or closed); finish or close that stream first",
                session_id=resolved.session_id,
            )
            error.is_retryable = False
            return error
        return PathorsSessionBusyError(
            "another turn on this session is in progress (session_concurrency='reject'); "
            "retry when it has ended, or use session_concurrency='serialize' to wait",
            session_id=resolved.session_id,
        )

    def _begin(self, resolved: ResolvedSession) -> Turn:
        sid = resolved.session_id
        if sid is None:
            return Turn(self, None, resolved.source)
        forked = is_fork(self.state.heads.get(self.key(sid)), resolved.history_reply)
        if forked and self.on_fork == "raise":
            msg = (
                "the conversation continues this session from an earlier reply, but the "
                "session has moved on since (time travel, regenerate, an edited history, or "
                "two turns sent at once); continue from the latest reply, or set "
                "on_session_fork='new_session' (start a new session) or 'allow' (send anyway)"
            )
            raise PathorsSessionForkedError(msg, session_id=sid)
        if forked and self.on_fork == "new_session":
            return Turn(self, new_session_id(), "new", variables=resolved.variables, create=True)
        return Turn(
            self, sid, resolved.source, variables=resolved.variables, create=resolved.create
        )


@contextmanager
def _failing(turn: Turn) -> Iterator[None]:
    # A stream closed by its reader (GeneratorExit) ended normally for the session.
    try:
        yield
    except GeneratorExit:
        raise
    except BaseException:
        turn.failed()
        raise
