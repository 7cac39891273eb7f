"""Scripted models for studies: a first draft right or wrong per problem, a review, and a refiner
whose answer follows a policy of (problem index, round, previous answer right), all by prompt."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.critical import IMPROVE_PROMPT, REVIEW_PROMPT
from redraft.strategies.self_refine import REFINE_INSTRUCTION
from redraft.studies import Study, StudyContext, StudyResult, get_study
from redraft.tasks import MultiArith

PROBLEMS = MultiArith().load(limit=40)
INDEX = {p.prompt: i for i, p in enumerate(PROBLEMS)}
ANSWER = re.compile(r"The answer is (-?[\d.]+)\.")

#: (problem index, round, previous answer right) -> the refined answer is right
Policy = Callable[[int, int, bool], bool]
#: (problem index, the answer under review is right) -> the critic says "VERDICT: correct" (True),
#: "VERDICT: revise" (False), or writes no verdict line at all (None)
Critic = Callable[[int, bool], bool | None]
#: (problem index, own answer shown first, own answer right, other answer right) -> the judge's reply
JudgePolicy = Callable[[int, bool, bool, bool], str]
#: (problem index, sample seed) -> that sample is right
SampleRule = Callable[[int, int], bool]


def answer(index: int, right: bool) -> str:
    reference = PROBLEMS[index].reference
    value = reference if right else str(int(float(reference)) + 1)
    return f"Some reasoning. The answer is {value}."


def problem_index(text: str) -> int:
    """The problem a request is about: its prompt, or the longest problem prompt quoted in it."""
    if text in INDEX:
        return INDEX[text]
    return INDEX[max((p for p in INDEX if p in text), key=len)]


def is_right(index: int, text: str) -> bool:
    match = ANSWER.search(text)
    return match is not None and match.group(1) == PROBLEMS[index].reference


def always_revise(index: int, right: bool) -> bool:
    """A critic that cannot tell: it asks for a revision of every answer."""
    return False


def sees_the_truth(index: int, right: bool) -> bool:
    """A strong critic: it approves exactly the right answers."""
    return right


def always_approves(index: int, right: bool) -> bool:
    return True


def critique(index: int, text: str, critic: Critic) -> str:
    """self_refine's critic on the answer its prompt quotes, ending in a VERDICT line."""
    candidate = text.rpartition("Proposed answer:")[2]
    approves = critic(index, is_right(index, candidate))
    if approves is None:
        return "Hard to say; the steps look plausible."
    if approves:
        return "The steps check out.\nVERDICT: correct"
    return "Check step 2 again.\nVERDICT: revise"


def critic_replies(critic: Critic) -> Callable[[list[dict[str, Any]]], str]:
    """A model that is only ever asked to critique (bound to the `critic` role)."""
    def reply(messages: list[dict[str, Any]]) -> str:
        text = messages[-1]["content"]
        return critique(problem_index(text), text, critic)

    return reply


def replies(draft_right: Callable[[int], bool], policy: Policy, *, critic: Critic = always_revise,
            sample_right: SampleRule | None = None, judge: JudgePolicy | None = None) -> Callable[..., str]:
    """The generator: drafts (and, sampled at temperature > 0 with a seed, samples by `sample_right`),
    its own critiques by `critic`, Huang et al.'s review, refinements by `policy`, and pairwise
    judgments of its answer against another model's by `judge`."""
    def reply(messages: list[dict[str, Any]], sampling: dict[str, Any] | None = None) -> str:
        index = problem_index(messages[0]["content"])
        last = messages[-1]["content"]
        if len(messages) == 1 and last in INDEX:
            sampling = sampling or {}
            if sample_right is not None and sampling.get("temperature") and sampling.get("seed") is not None:
                return answer(index, sample_right(index, sampling["seed"]))
            return answer(index, draft_right(index))
        if "VERDICT" in last and REFINE_INSTRUCTION not in last:  # self_refine's critic, by the generator
            return critique(index, last, critic)
        if judge is not None and "PREFERRED: 1" in last:
            return judgment(index, last, judge)
        if last == REVIEW_PROMPT:
            return "Step 2 may be wrong."
        if IMPROVE_PROMPT in last or REFINE_INSTRUCTION in last:
            attempts = [m["content"] for m in messages
                        if m["role"] == "assistant" and ANSWER.search(m["content"])]
            return answer(index, policy(index, len(attempts), is_right(index, attempts[-1])))
        raise AssertionError(f"unexpected prompt: {last[:80]}")

    return reply


def seventy_percent(index: int) -> bool:
    return index % 10 < 7


def breaks_right_answers(index: int, round_number: int, was_right: bool) -> bool:
    """Huang et al.'s finding: right answers are talked out of, while the first drafts that were
    wrong get fixed (and, reviewed again, broken too)."""
    return False if was_right else not seventy_percent(index)


def fixes_wrong_answers(index: int, round_number: int, was_right: bool) -> bool:
    """Self-correction that works: right answers kept, wrong ones fixed."""
    return True


def keeps_its_answer(index: int, round_number: int, was_right: bool) -> bool:
    return was_right


def run_study(name: str | Study, tmp_path: Path, draft_right: Callable[[int], bool], policy: Policy, *,
              limit: int, cache: bool = True, self_critic: Critic = always_revise,
              strong_critic: Critic | None = None, sample_right: SampleRule | None = None,
              seed: int | None = None) -> StudyResult:
    """Run a study on the scripted generator; `strong_critic` binds a second scripted model (named
    "strong", so the cache never mixes the two) to the `critic` role."""
    cached = ResponseCache(tmp_path / "cache.db") if cache else None
    generator = replies(draft_right, policy, critic=self_critic, sample_right=sample_right)
    models = {"generator": ManagedModel(ScriptedModel(generator), cache=cached)}
    if strong_critic is not None:
        models["critic"] = ManagedModel(ScriptedModel(critic_replies(strong_critic), name="strong"),
                                        cache=cached)
    context = StudyContext("multiarith", RunStore(tmp_path / "runs.db"), limit=limit, concurrency=1,
                           cache=cache, models=models, seed=seed)
    study = get_study(name) if isinstance(name, str) else name
    return asyncio.run(study.run(context))


OTHER_REASONING = "Another way to see it."


def other_answer(index: int, right: bool) -> str:
    """The other model's answer: its own wording, so the judge (and a test) can tell whose it is."""
    return answer(index, right).replace("Some reasoning.", OTHER_REASONING)


def other_replies(other_right: Callable[[int], bool]) -> Callable[[list[dict[str, Any]]], str]:
    """A model bound to the `other` role: it only ever answers the problem."""
    def reply(messages: list[dict[str, Any]]) -> str:
        return other_answer(INDEX[messages[-1]["content"]], other_right(INDEX[messages[-1]["content"]]))

    return reply


def judgment(index: int, prompt: str, judge: JudgePolicy) -> str:
    """pairwise_preference's comparison, answered by `judge` from whose answer is shown first."""
    first = prompt.partition("Answer 1:")[2].partition("Answer 2:")[0]
    second = prompt.partition("Answer 2:")[2]
    own_first = OTHER_REASONING not in first
    own, other = (first, second) if own_first else (second, first)
    return judge(index, own_first, is_right(index, own), is_right(index, other))


def position(own_first: bool, prefer_own: bool) -> str:
    """The line naming the own answer's position (or the other's)."""
    return f"PREFERRED: {1 if own_first == prefer_own else 2}"


def favours_itself(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
    return "Answer A reads better.\n" + position(own_first, True)


def favours_the_other(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
    return position(own_first, False)


def first_shown(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
    """All position bias: the answer shown first, whoever wrote it."""
    return "PREFERRED: 1"


def quality_then_first(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
    """The right answer when only one is right; otherwise the one shown first (no self-preference)."""
    return position(own_first, own_right) if own_right != other_right else "PREFERRED: 1"


def run_self_preference(tmp_path: Path, own_right: Callable[[int], bool], other_right: Callable[[int], bool],
                        judge: JudgePolicy, *, limit: int, other: bool = True) -> StudyResult:
    """self_preference with the scripted generator (its drafts by `own_right`, its judgments by
    `judge`) and, with `other`, a second scripted model (named "other") bound to the `other` role."""
    cached = ResponseCache(tmp_path / "cache.db")
    generator = replies(own_right, keeps_its_answer, judge=judge)
    models = {"generator": ManagedModel(ScriptedModel(generator), cache=cached)}
    if other:
        models["other"] = ManagedModel(ScriptedModel(other_replies(other_right), name="other"), cache=cached)
    context = StudyContext("multiarith", RunStore(tmp_path / "runs.db"), limit=limit, concurrency=1,
                           models=models)
    return asyncio.run(get_study("self_preference").run(context))
