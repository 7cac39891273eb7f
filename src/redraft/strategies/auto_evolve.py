"""Auto-Evolve (Aswani et al. 2024): write your own reasoning modules, plan with them, refine the plan, solve.

    modules = M(GENERATE | x)                       # task-specific reasoning modules, made up, not seeded
    plan_0  = M(IMPLEMENT | x, modules)             # a JSON reasoning structure: steps to fill, unsolved
    for k in 1..K:
        c_k    = M(critique | x, plan_{k-1})        # what the structure lacks or gets wrong
        plan_k = M(refine | x, plan_{k-1}, c_k)     # REFINE: the structure evolved by its critique
    y = M(solve | x, plan_K)                        # fill in the structure, then answer
    final = y

3 + 2K calls, all in sequence (each needs the one before). Where this departs from the paper:
- The paper builds the structure once per *task* (stage 1, from the task's description and a few
  unlabelled instances) and reuses it for every instance (stage 2); a solve here sees one
  problem, so stage 1 runs per problem, on that problem alone. It costs 2K + 2 calls more per
  problem than the paper's amortised stage 1, and the structure can fit the instance better.
- The paper's REFINE is one component run several times; the issue this transcribes asks for K
  critique-and-refine rounds, so each round is a critique (role `critic`) and a refinement
  (role `planner`), which makes the critique a separate, traced, bindable call. K = 3 is this
  library's default (the paper iterates REFINE but the text consulted gives no count).
Modules, plans and critiques are kept on the answer's candidate (`metadata`), with whether each
plan parses as JSON (`plans_json`): a plan that does not is still used as text, as the model wrote
it. The answer is a first attempt at the problem under its plan, so it goes through
`ctx.first_draft`: in `A>auto_evolve`, A solves it with the plan.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

GENERATE_PROMPT = """\
Before anyone solves the problem below, write the reasoning modules a careful solver needs for \
problems of this kind: a numbered list of short, specific reasoning strategies (how to break the \
problem down, what to compute, what to check), one line each. Do not solve the problem.

Problem:
{problem}"""

IMPLEMENT_PROMPT = """\
Using the reasoning modules below, write a step-by-step reasoning structure for solving the \
problem: a JSON object whose keys are the steps to carry out, in order, each with an empty \
string as its value, to be filled in while solving. Do not solve the problem.

Reasoning modules:
{modules}

Problem:
{problem}"""

CRITIQUE_PROMPT = """\
Here is a reasoning structure for solving the problem below. Criticize it: which steps are \
missing, vague, redundant or wrong for this problem, and what should change? Do not solve the \
problem.

Problem:
{problem}

Reasoning structure:
{plan}"""

REFINE_PROMPT = """\
Improve the reasoning structure for the problem below using the critique: keep what is right and \
fix everything the critique names. Output only the revised reasoning structure, as a JSON object \
of steps with empty values. Do not solve the problem.

Problem:
{problem}

Reasoning structure:
{plan}

Critique:
{critique}"""

SOLVE_PROMPT = """\
{problem}

Follow this reasoning structure step by step, filling in every step, then give the final answer \
in the form the problem asks for.

Reasoning structure:
{plan}"""


def is_json_plan(text: str) -> bool:
    """Whether `text` holds a JSON object (bare or in a code fence), as IMPLEMENT and REFINE ask."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match is None:
        return False
    try:
        return isinstance(json.loads(match[0]), dict)
    except json.JSONDecodeError:
        return False


@register
class AutoEvolve(Strategy):
    name = "auto_evolve"
    paper = ("Auto-Evolve: Enhancing Large Language Model's Performance via Self-Reasoning Framework "
             "(Aswani et al., 2024)")
    summary = (
        "generate reasoning modules, plan a JSON reasoning structure, K critique-and-refine rounds, solve"
    )
    roles = ("generator", "planner", "critic")

    class Params(BaseModel):
        rounds: int = Field(3, ge=0, description="critique-and-refine rounds K on the plan")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        modules = (await ctx.ask("planner", GENERATE_PROMPT.format(problem=problem.prompt))).strip()
        plans = [
            (
                await ctx.ask("planner", IMPLEMENT_PROMPT.format(modules=modules, problem=problem.prompt))
            ).strip()
        ]
        critiques: list[str] = []
        for _ in range(self.params.rounds):
            critiques.append(
                (
                    await ctx.ask("critic", CRITIQUE_PROMPT.format(problem=problem.prompt, plan=plans[-1]))
                ).strip()
            )
            plans.append(
                (
                    await ctx.ask(
                        "planner",
                        REFINE_PROMPT.format(problem=problem.prompt, plan=plans[-1], critique=critiques[-1]),
                    )
                ).strip()
            )
        planned = problem.model_copy(
            update={
                "id": f"{problem.id}/planned",
                "prompt": SOLVE_PROMPT.format(problem=problem.prompt, plan=plans[-1]),
            }
        )
        ctx.record(
            round=0,
            kind="solution",
            text=await ctx.first_draft(planned),
            metadata={
                "modules": modules,
                "plans": plans,
                "critiques": critiques,
                "plans_json": [is_json_plan(plan) for plan in plans],
            },
        )
        return Final(candidate=self.select(ctx.candidates), stop_reason="max_rounds")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The one solution (none when the budget ended during planning)."""
        return candidates[-1] if candidates else None
