"""A scripted fake model, so tests pin a strategy's control flow call by call."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from redraft.models.base import Completion, Message, ModelError

Reply = str | Completion | Exception
ReplyFunction = Callable[[list[Message]], Reply]


class ScriptedModel:
    """Replies from a list (in order, error when used up) or a function of the messages.

    An `Exception` among the replies is raised instead of answered, to script
    failures. Every call is kept in `history` as (messages, sampling), so a test can check
    what was asked (a `choices` constraint, a raised `max_tokens`). `supports_choices`
    plays a backend that can constrain a reply; the script still decides the reply.
    Token counts are whitespace word counts: deterministic and good enough to
    exercise budgets.
    """

    def __init__(
        self,
        replies: Iterable[Reply] | ReplyFunction,
        *,
        name: str = "scripted",
        supports_choices: bool = False,
    ) -> None:
        self.name = name
        self.supports_choices = supports_choices
        self.endpoint = f"scripted:{name}"
        self._function: ReplyFunction | None = replies if callable(replies) else None
        self._queue: list[Reply] = [] if callable(replies) else list(replies)
        self.history: list[tuple[list[Message], dict[str, Any]]] = []

    def enqueue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        self.history.append(([dict(m) for m in messages], dict(sampling)))  # type: ignore[misc]
        if self._function is not None:
            reply = self._function(messages)
        elif self._queue:
            reply = self._queue.pop(0)
        else:
            raise ModelError(
                f"scripted model {self.name!r} ran out of replies after {len(self.history) - 1} calls"
            )
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, Completion):
            return reply
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return Completion(
            text=reply,
            finish_reason="stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(reply.split()),
            model=self.name,
        )
