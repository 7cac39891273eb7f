"""A scripted fake model, so tests pin a strategy's control flow call by call."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from redraft.models.base import Completion, Message, ModelError, TokenLogprob, TopLogprob, wants_logprobs

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

    Asked for logprobs (`logprobs=True`), a text reply comes with its words as tokens, each
    certain (logprob 0, itself its only alternative); script real values with `logprob_reply`.
    A `Completion` reply is returned as it is, so one without logprobs plays a server that drops
    them. `supports_logprobs=False` plays a model that has none (a call asking is an error).
    """

    def __init__(
        self,
        replies: Iterable[Reply] | ReplyFunction,
        *,
        name: str = "scripted",
        supports_choices: bool = False,
        supports_logprobs: bool = True,
    ) -> None:
        self.name = name
        self.supports_choices = supports_choices
        self.supports_logprobs = supports_logprobs
        self.endpoint = f"scripted:{name}"
        self._function: ReplyFunction | None = replies if callable(replies) else None
        self._sees_sampling = self._function is not None and _arity(self._function) >= 2
        self._queue: list[Reply] = [] if callable(replies) else list(replies)
        self.history: list[tuple[list[Message], dict[str, Any]]] = []

    def enqueue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        self.history.append(([dict(m) for m in messages], dict(sampling)))  # type: ignore[misc]
        asked = wants_logprobs(sampling)
        if asked and not self.supports_logprobs:
            raise ModelError(f"scripted model {self.name!r} returns no logprobs")
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
        text = " ".join(words[:cap]) if truncated else reply
        return Completion(
            text=text,
            finish_reason="length" if truncated else "stop",
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=min(len(words), cap) if cap is not None else len(words),
            model=self.name,
            logprobs=logprob_reply(text).logprobs if asked else None,
        )

    def count_tokens(self, messages: list[Message]) -> int:
        """The prompt tokens a call with `messages` will be charged (its words)."""
        return sum(len(m["content"].split()) for m in messages)


def word_tokens(text: str) -> list[str]:
    """`text` cut into the scripted model's tokens: its words, each with the whitespace before it
    (the last also with what follows), so the tokens join back to `text` exactly."""
    pieces = re.findall(r"\s*\S+", text)
    if not pieces:
        return [text] if text else []
    pieces[-1] += text[len("".join(pieces)):]
    return pieces


def logprob_reply(
    text: str, logprobs: float | Sequence[float] = 0.0, top: Sequence[Mapping[str, float]] = (),
) -> Completion:
    """A scripted reply with token logprobs: `text`'s words (`word_tokens`) as tokens, each with
    `logprobs` (one value for all, or one per word), and `top[i]` (token -> logprob) the
    alternatives at word i; words without an entry in `top` have themselves as their only one."""
    tokens = word_tokens(text)
    values = [float(logprobs)] * len(tokens) if isinstance(logprobs, int | float) else list(logprobs)
    if len(values) != len(tokens):
        raise ModelError(f"{len(values)} logprobs for the {len(tokens)} tokens of {text!r}")
    entries = []
    for i, (token, value) in enumerate(zip(tokens, values, strict=True)):
        alternatives = top[i] if i < len(top) else {token: value}
        entries.append(TokenLogprob(token=token, logprob=value, top_logprobs=[
            TopLogprob(token=t, logprob=v) for t, v in alternatives.items()]))
    return Completion(text=text, finish_reason="stop", completion_tokens=len(tokens), model="scripted",
                      logprobs=entries)


def _arity(function: Callable[..., Any]) -> int:
    """How many positional arguments `function` takes (a reply function takes one or two)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
