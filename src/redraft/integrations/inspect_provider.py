"""`redraft/SPEC:MODEL`: an Inspect model provider that answers with a redraft strategy (`[inspect]`).

    inspect eval TASK --model redraft/self_refine[max_rounds=2]:openai/gpt-4o-mini \\
        --model-role critic=openai/gpt-4o -M budget_calls=6

Inspect hands the provider everything after `redraft/`; SPEC is a strategy spec as `redraft eval`
takes it (compositions and `@FEEDBACK` too) and MODEL, after the first `:` that is followed by
`PROVIDER/`, is the Inspect model that generates (so `ollama/llama3:8b` keeps its colon). Inspect
splits a model list on commas before a provider sees it, so parameters are separated by `;` here
(`best_of_n[n=2;temperature=0.5]`), read as the spec's commas. Each
`generate` runs the strategy on the conversation's last user turn, every call through Inspect (a
model event each, under its role: see `inspect_run`), and answers with the strategy's final text.
Any task, solver chain or agent can use a strategy this way without knowing of redraft.

Model args (`-M`): `answer`, `budget_calls` and `budget_tokens` are redraft's (see
`inspect_solvers`); the others, with `--model-base-url` and the generate config, go to MODEL.

The output's usage is set and zero: the strategy's calls are each counted by Inspect under their
own model already, and counting their sum again under this one would double every total (and trip
token limits at half). What they cost, by role, is in the output's `metadata["redraft"]`.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from redraft.errors import UsageError
from redraft.integrations.inspect_model import redraft_messages, sampling_of
from redraft.integrations.inspect_run import (
    bound_roles,
    budget_of,
    extractor,
    outcome_summary,
    role_models,
    split_chat,
)
from redraft.runs.runner import run_strategy
from redraft.spec import split_top
from redraft.strategies.base import Strategy
from redraft.strategies.registry import build_strategy

USAGE = "redraft/SPEC:MODEL, e.g. redraft/self_refine[max_rounds=2]:openai/gpt-4o-mini"


def split_model_name(name: str) -> tuple[str, str]:
    """`SPEC:MODEL` -> (SPEC, MODEL), at the first top-level `:` followed by `PROVIDER/`; the spec's `;`
    are its parameters' commas (a comma would have split the model name in Inspect)."""
    parts = split_top(name, ":")
    for index in range(1, len(parts)):
        spec, model = ":".join(parts[:index]), ":".join(parts[index:])
        provider, slash, rest = model.partition("/")
        if spec.strip() and slash and rest and provider.replace("_", "").replace("-", "").isalnum():
            return spec.strip().replace(";", ","), model.strip()
    raise UsageError(
        f"model {'redraft/' + name!r}: use {USAGE} (the Inspect model that generates after the colon)"
    )


@modelapi(name="redraft")
class RedraftModelAPI(ModelAPI):
    """Each generate is one run of the strategy SPEC with MODEL as its generator."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008  (Inspect's own signature)
        answer: str = "text",
        budget_calls: int | None = None,
        budget_tokens: int | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        self.spec, self.generator_name = split_model_name(model_name)
        self.build()  # a bad spec fails when the model is made, before any sample runs
        self.extract = extractor(answer)
        self.budget = budget_of(budget_calls, budget_tokens)
        self.generator_args = model_args

    def build(self) -> Strategy:
        built = build_strategy(self.spec)
        built.require_calibrated()
        return built

    async def generate(
        self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice, config: GenerateConfig
    ) -> ModelOutput:
        if tools:
            raise UsageError(f"redraft/{self.model_name} answers text; it cannot be offered tools")
        if "generator" in bound_roles():
            raise UsageError(
                f"redraft/{self.model_name} names its generator ({self.generator_name}); "
                "do not also bind --model-role generator"
            )
        strategy = self.build()
        inner = get_model(
            self.generator_name,
            config=config,
            base_url=self.base_url,
            api_key=self.api_key,
            **self.generator_args,
        )
        generator = get_model(role="generator", default=inner)  # labels its events "generator"
        problem, conversation, trailing = split_chat(redraft_messages(input), "inspect")
        outcome = await run_strategy(
            strategy,
            problem,
            role_models(strategy.all_roles(), generator),
            budget=self.budget,
            sampling=sampling_of(config),
            extract=self.extract,
            conversation=conversation,
            trailing=trailing,
        )
        output = ModelOutput.from_content(model=self.model_name, content=outcome.text)
        output.usage = ModelUsage()  # counted under each call's own model (see the module docstring)
        output.metadata = {"redraft": outcome_summary(outcome)}
        return output
