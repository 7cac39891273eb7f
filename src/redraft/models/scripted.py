"""A scripted fake model, so tests pin a strategy's control flow call by call."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, cast

from redraft.models.base import Completion, Message, ModelError

Reply = str | Completion | Exception
#: A function of the messages, or of the messages and the call's sampling (temperature, seed, ...).
ReplyFunction = Callable[[list[Message]], Reply] | Callable[[list[Message], dict[str, Any]], Reply]


class ScriptedModel:
    """Replies from a list (in order, error when used up) or a function of the messages.

    A function taking two arguments also gets the call's sampling, to script a model whose
    reply depends on temperature and seed. An `Exception` among the replies is raised
    instead of answered, to script failures. Every call is kept in `history` as
    (messages, sampling), so a test can check what was asked (a `choices` constraint, a
    raised `max_tokens`). `supports_choices` plays a backend that can constrain a reply; the
    script still decides the reply. Token counts are whitespace word counts, exact by
    construction (`count_tokens` gives the same count before the call), and a reply longer
    than `max_tokens` is cut to it with finish reason "length", as a real endpoint would: so
    token budgets can be tested to the token.
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
        self._sees_sampling = self._function is not None and _arity(self._function) >= 2
        self._queue: list[Reply] = [] if callable(replies) else list(replies)
        self.history: list[tuple[list[Message], dict[str, Any]]] = []

    def enqueue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        self.history.append(([dict(m) for m in messages], dict(sampling)))  # type: ignore[misc]
        if self._function is not None and self._sees_sampling:
            reply = cast(Callable[[list[Message], dict[str, Any]], Reply], self._function)(
                messages, dict(sampling))
        elif self._function is not None:
            reply = cast(Callable[[list[Message]], Reply], self._function)(messages)
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
        words, cap = reply.split(), sampling.get("max_tokens")
        truncated = cap is not None and len(words) > cap
        return Completion(
            text=" ".join(words[:cap]) if truncated else reply,
            finish_reason="length" if truncated else "stop",
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=min(len(words), cap) if cap is not None else len(words),
            model=self.name,
        )

    def count_tokens(self, messages: list[Message]) -> int:
        """The prompt tokens a call with `messages` will be charged (its words)."""
        return sum(len(m["content"].split()) for m in messages)


def _arity(function: Callable[..., Any]) -> int:
    """How many positional arguments `function` takes (a reply function takes one or two)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
