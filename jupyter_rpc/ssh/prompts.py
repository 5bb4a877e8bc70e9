"""The asyncssh client object of a pooled connection: host keys, password and one-time-code prompts.

Prompts are answered by a person in the browser, long after the request that started the
connection has returned: the client posts a :class:`Prompt` and waits (up to the pool's
``prompt_timeout``) for :meth:`Prompt.answer`. Answers are handed to asyncssh and dropped;
they are never logged or kept.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncssh

from .hostkeys import HostKeyCheck


class Prompt:
    """Questions the server asked, waiting for a person's answers."""

    def __init__(self, title: str, instructions: str, prompts: list[tuple[str, bool]]) -> None:
        self.id = uuid.uuid4().hex
        self.title = title
        self.instructions = instructions
        self.prompts = prompts
        self._answers: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()

    def to_json(self) -> dict[str, Any]:
        """``{id, title, instructions, prompts: [{prompt, echo}]}``."""
        return {
            "id": self.id,
            "title": self.title,
            "instructions": self.instructions,
            "prompts": [{"prompt": p, "echo": e} for p, e in self.prompts],
        }

    def answer(self, responses: list[str]) -> None:
        """Hand the answers to the waiting connection attempt."""
        if not self._answers.done():
            self._answers.set_result(list(responses))

    async def wait(self, timeout: float) -> list[str] | None:
        """The answers, or ``None`` when nobody answered in time."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._answers), timeout)
        except asyncio.TimeoutError:
            return None


#: Posts a prompt and returns the answers (None: give up on this method).
Ask = Callable[[str, str, list[tuple[str, bool]]], Awaitable[list[str] | None]]


class PoolClient(asyncssh.SSHClient):
    """Checks host keys through :class:`HostKeyCheck`, asks people for passwords and codes,
    and tells the pool when the connection drops."""

    def __init__(
        self,
        check: HostKeyCheck,
        ask: Ask,
        on_lost: Callable[[PoolClient, Exception | None], None],
        who: str,
    ) -> None:
        self.check = check
        self._ask = ask
        self._on_lost = on_lost
        self._who = who
        self._password_tries = 0
        self._kbdint_tries = 0
        self._kbdint_refused = False  # the last keyboard-interactive attempt was refused
        self.prompted = False

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.check.seen = key
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(self, exc)

    def password_auth_requested(self) -> Any:
        return self._password()

    async def _password(self) -> str | None:
        self._password_tries += 1
        if self._password_tries > 3:
            return None
        self.prompted = True
        again = "The password was not accepted. " if self._password_tries > 1 else ""
        answers = await self._ask(f"Password for {self._who}", again, [("Password:", False)])
        return answers[0] if answers else None

    def kbdint_auth_requested(self) -> Any:
        # Called again after the server refused the answers: it starts over from its first
        # question. Three attempts, as for passwords, then the login fails.
        self._kbdint_tries += 1
        if self._kbdint_tries > 3:
            return None
        self._kbdint_refused = self._kbdint_tries > 1
        return ""  # no submethods: let the server choose

    def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: Sequence[tuple[str, bool]]
    ) -> Any:
        if not prompts:
            return []  # an informational round: nothing to ask
        return self._kbdint(name, instructions, prompts)

    async def _kbdint(
        self, name: str, instructions: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str] | None:
        self.prompted = True
        if self._kbdint_refused:  # say so on the first question of the new attempt only
            self._kbdint_refused = False
            instructions = "The answers were not accepted. " + instructions
        answers = await self._ask(name or f"Login to {self._who}", instructions, list(prompts))
        if answers is not None and len(answers) != len(prompts):
            return None
        return answers
