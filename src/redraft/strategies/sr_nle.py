"""SR-NLE (Wang & Atanasova 2025): self-critique and refinement of a post-hoc natural-language explanation.

    y   = M(answer | x)                         # the prediction, no explanation
    e_0 = M(explain | x, y)                     # a post-hoc explanation of y
    for r in 1..k (k = 3):
        f_r = M(feedback | x, y, e_{r-1})       # "nl": self-critique of the explanation, or
                                                # "iw": the input words the model says mattered most
        e_r = M(refine | x, y, e_{r-1}, f_r)
    final = y with e_k                          # the prediction never changes, only its explanation

Each candidate is the answer with one explanation (`metadata["explanation"]`), its `answer`
fixed to y's, so the accuracy of every round is y's and only the explanation is judged: by the
evaluation's counterfactual faithfulness test (an inserted word that flips y must be named by
the explanation, `redraft.runs.counterfactual`), which runs the whole method again on each
edited input, apart from this run. The loop has no stop rule, as in the paper (a refinement that
needs no change repeats the explanation).

As in the authors' code (ymwangv/SR-NLE): k = 3 rounds (iter0..2), greedy decoding, the important
words parsed from lines `<rank>. <word>, <score>` (lower-cased, duplicates kept at their best
score, sorted by score) and the top 5 shown to the refiner. The important-word prompt does not
see the explanation, so at the paper's greedy decoding every round's ranking is the same: it is
asked once, alongside e_0 (both need only y), and shown in every round: 3 + k calls, against
2 + 2k for "nl". A ranking with no readable line stops before any refinement (stop reason
"unparsed_feedback"), as the code skips such items. The prompts are the paper's, made generic
over tasks (the paper's name the premise and hypothesis of each dataset); a reply without its
"Explanation:" / "Feedback:" marker is used whole and flagged (`marker: false`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context, both
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

ANSWER_PROMPT = """\
{problem}

Give only your final answer, in the form asked for above, without any explanation."""

CONTEXT = """\
Problem:
{problem}

Your selected answer is: {answer}"""

EXPLAIN_PROMPT = """\
You were given a problem and you have selected an answer.

{context}

Now, please provide an explanation for your answer. Your explanation should be clear, complete \
and concise, ideally within two short sentences.

You must give your explanation only in the following format:
Explanation: [your explanation here.]"""

NL_FEEDBACK_PROMPT = """\
You were given a problem, you selected an answer and then explained it.

{context}
Your explanation is:
{explanation}

Now, please provide feedback on this explanation. Your feedback should:
- Identify whether the explanation accurately reflects your actual reasoning.
- Point out any key factor or important detail that is missing, unclear or incorrect.
- Briefly describe what should be added or revised.
- Clearly state that no improvement is needed when the explanation is good enough.
- Be concise.

You must give your feedback only in the following format:
Feedback: [your feedback here.]"""

IW_FEEDBACK_PROMPT = """\
You were given a problem and you have selected an answer.

{context}

Now, please evaluate all the words in the problem and rank them by how important they were in \
helping you choose your answer. Only include individual words of the problem, each once; give \
each a score from 1 to 100 for its importance; rank them most important first; add no comments.

You must give your output only as the ranked list, one word a line, in the format:
<rank>. <word>, <importance_score>"""

REFINE_PROMPT = """\
You were given a problem, you selected an answer and explained it, and you received {what}.

{context}
Your explanation is:
{explanation}
{received}

{instruction}

Your refined explanation should be clear, complete and concise, similar in length to the \
original, and keep any correct part of it.

You must give your refined explanation only in the following format:
Refined Explanation: [your refined explanation here.]"""

NL_REFINE = (
    "feedback on the explanation",
    "The feedback you received is:\n{feedback}",
    "If the feedback indicates that no improvement is needed, repeat the original explanation "
    "as the refined explanation. Otherwise, refine your explanation based on the feedback, "
    "addressing the issues it identifies.",
)
IW_REFINE = (
    "a list of the words that contributed most to your answer",
    "The important words you received are:\n{feedback}",
    "If the explanation already includes the important words in a natural and meaningful way, "
    "repeat the original explanation as the refined explanation. Otherwise, refine your "
    "explanation based on the important words, integrating them naturally: do not list or "
    "quote them.",
)

RANKED_WORD = re.compile(r"^\d+\.\s*(\S+),\s*(\d+)(?:\s*\(.*?\))?\s*$")


def after_marker(text: str, marker: str) -> tuple[str, bool]:
    """The text after the last `marker:` (and whether it was there); else the whole text, stripped."""
    parts = re.split(rf"{re.escape(marker)}\s*:\s*", text, flags=re.IGNORECASE)
    return (parts[-1].strip(), True) if len(parts) > 1 else (text.strip(), False)


def important_words(text: str, top: int) -> list[str]:
    """The `top` words of a ranking `<rank>. <word>, <score>`: lower-cased, each at its best score."""
    best: dict[str, float] = {}
    for line in text.strip().splitlines():
        if match := RANKED_WORD.match(line.strip()):
            word = match[1].strip().lower()
            best[word] = max(best.get(word, 0.0), float(match[2]))
    return [word for word, _ in sorted(best.items(), key=lambda item: -item[1])][:top]


def explained(explanation: str, answer_text: str) -> str:
    """A candidate's text: the explanation, then the answer as the model gave it (read last)."""
    return f"Explanation: {explanation}\n\n{answer_text.strip()}"


@register
class SRNLE(Strategy):
    name = "sr_nle"
    paper = "Self-Critique and Refinement for Faithful Natural Language Explanations (Wang & Atanasova, 2025)"
    summary = ("answer, explain post hoc, then k rounds of feedback (self-critique or important words) "
               "and a refined explanation")
    roles = ("generator", "explainer", "critic")

    class Params(BaseModel):
        rounds: int = Field(3, ge=0, description="feedback-refinement rounds k (the authors' code: 3)")
        style: Literal["nl", "iw"] = Field(
            "nl",
            description="nl: the model critiques its explanation; iw: it names the input words that "
            "mattered most (asked once, shown every round)",
        )
        top_words: int = Field(5, ge=1, description="important words shown to the refiner (the code: 5)")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        answer_text = await ctx.first_draft(
            problem.model_copy(
                update={"id": f"{problem.id}/answer", "prompt": ANSWER_PROMPT.format(problem=problem.prompt)}
            )
        )
        answer = ctx.extract(answer_text)
        context = CONTEXT.format(problem=problem.prompt, answer=answer or answer_text.strip())
        explain = ctx.ask("explainer", EXPLAIN_PROMPT.format(context=context))
        if self.params.style == "iw" and self.params.rounds:
            first, ranking = await both(
                explain, ctx.ask("critic", IW_FEEDBACK_PROMPT.format(context=context))
            )
        else:
            first, ranking = await explain, ""
        explanation, marked = after_marker(first, "Explanation")
        current = ctx.record(
            round=0,
            kind="explanation",
            text=explained(explanation, answer_text),
            answer=answer,
            metadata={"explanation": explanation, "marker": marked},
        )
        words = important_words(ranking, self.params.top_words)
        if self.params.style == "iw" and self.params.rounds:
            self._attach(ctx, current, ranking.strip(), {"words": words})
            if not words:
                return Final(candidate=self.select(ctx.candidates), stop_reason="unparsed_feedback")
        for round_number in range(1, self.params.rounds + 1):
            explanation = current.metadata["explanation"]
            if self.params.style == "nl":
                reply = await ctx.ask(
                    "critic", NL_FEEDBACK_PROMPT.format(context=context, explanation=explanation)
                )
                feedback, marked = after_marker(reply, "Feedback")
                self._attach(ctx, current, feedback, {"feedback_marker": marked})
                what, received, instruction = NL_REFINE
            else:
                feedback = ", ".join(words)
                what, received, instruction = IW_REFINE
            prompt = REFINE_PROMPT.format(
                what=what,
                context=context,
                explanation=explanation,
                received=received.format(feedback=feedback),
                instruction=instruction,
            )
            refined, marked = after_marker(await ctx.ask("explainer", prompt), "Refined Explanation")
            current = ctx.record(
                round=round_number,
                kind="refine",
                text=explained(refined, answer_text),
                answer=answer,
                parent=current.seq,
                metadata={"explanation": refined, "marker": marked},
            )
        return Final(candidate=self.select(ctx.candidates), stop_reason="max_rounds")

    @staticmethod
    def _attach(ctx: Context, candidate: Candidate, feedback: str, metadata: dict[str, object]) -> None:
        """The feedback on an explanation, kept on its candidate (no verdict: nobody judges it)."""
        candidate.feedback = feedback
        candidate.metadata.update(metadata)
        ctx.update(candidate)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The latest explanation (of the one answer)."""
        return candidates[-1] if candidates else None
