"""Shows a run as it happens: each draft, critique and redraft as its call returns.

A person at a terminal gets rich panels under a spinner; a pipe gets plain text
with the same content, so logs and CI output stay readable.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

from redraft.trace import CallRecord, Candidate, Event

ROLE_TITLES = {"generator": "draft", "critic": "critique", "refiner": "redraft", "reward": "reward",
               "verifier": "verifier"}


class LiveView:
    """A trace listener that prints calls and verdicts to a console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.fancy = console.is_terminal

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallRecord):
            self._call(event)
        elif isinstance(event, Candidate) and event.verdict is not None:
            self._verdict(event)

    def _call(self, call: CallRecord) -> None:
        title = f"{ROLE_TITLES.get(call.role, call.role)} · {call.model}"
        if call.error:  # the command reports the failure itself, once
            return
        tokens = f"{call.prompt_tokens}+{call.completion_tokens} tokens, {call.latency_s:.1f}s"
        texts = call.texts or [call.text]
        for index, text in enumerate(texts, start=1):
            label = f"{title} · sample {index}/{len(texts)}" if len(texts) > 1 else title
            if self.fancy:
                self.console.print(Panel(text.strip() or "(empty)", title=label, subtitle=tokens,
                                         title_align="left", subtitle_align="right"))
            else:
                self.console.print(f"--- {label} ({tokens})", markup=False, highlight=False)
                self.console.print(text.strip(), markup=False, highlight=False)

    def _verdict(self, candidate: Candidate) -> None:
        verdict = candidate.verdict.value if candidate.verdict else "none"
        score = f", score {candidate.score:.2f}" if candidate.score is not None else ""
        text = f"round {candidate.round}: verdict {verdict}{score}"
        if self.fancy:
            colour = {"ok": "green", "revise": "yellow"}.get(verdict, "magenta")
            self.console.print(f"[{colour}]{text}[/{colour}]")
        else:
            self.console.print(text, markup=False, highlight=False)
