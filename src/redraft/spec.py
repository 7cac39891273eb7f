"""One spec grammar and one registry shape for strategies, feedback sources and tasks.

Every component is written the same way, `NAME[:ARG][key=value,...]`:
`self_refine[max_rounds=2]`, `checklist[threshold=0.75]`, `tests[detail=pass_fail]`,
`jsonl:data.jsonl[question=problem,answer=solution]`. Each registered class carries a
pydantic `Params` with defaults and descriptions, so the CLI, the evaluator and the server
list, validate and record parameters identically. Outside packages add components through
entry points (groups `redraft.strategies`, `redraft.feedback`, `redraft.tasks`), loaded the
first time a registry is read, as llm's plugins are. A leaf: it imports only `errors`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from redraft.errors import RedraftError


class SpecError(RedraftError, ValueError):
    """A spec that does not parse, or names something that is not registered."""


class Component(Protocol):
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]


C = TypeVar("C", bound=type)

COMPONENT = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.-]*)(?::(?P<arg>[^\[]*?))?\s*(?:\[(?P<params>.*)\])?\s*$",
                       re.DOTALL)


class ComponentSpec(BaseModel):
    """One parsed component: `name`, the text after `:` (a task's path), and bracketed params."""

    name: str
    arg: str | None = None
    params: dict[str, Any] = {}


def split_top(text: str, separator: str) -> list[str]:
    """Split on `separator` outside brackets and quotes (a list value may hold commas)."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_value(raw: str) -> Any:
    """A parameter value: JSON when it parses (numbers, true, lists), else the plain string."""
    text = raw.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip("\"'")


def parse_params(body: str, spec: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in split_top(body, ","))):
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"bad parameter {pair!r} in {spec!r}: use KEY=VALUE")
        params[key.strip()] = parse_value(raw)
    return params


def parse_component(spec: str) -> ComponentSpec:
    match = COMPONENT.match(spec)
    if match is None:
        raise SpecError(f"bad spec {spec!r}: use NAME, NAME[key=value,...] or NAME:ARG[...]")
    arg = match.group("arg")
    return ComponentSpec(name=match.group("name"), arg=arg.strip() if arg is not None else None,
                         params=parse_params(match.group("params") or "", spec))


def validate_params(owner: str, params_cls: type[BaseModel], given: dict[str, Any],
                    error: type[Exception] = SpecError) -> BaseModel:
    """`given` checked against `params_cls`: unknown keys and bad values named in one line."""
    unknown = set(given) - set(params_cls.model_fields)
    if unknown:
        valid = ", ".join(params_cls.model_fields) or "none"
        raise error(f"{owner} has no parameter {', '.join(sorted(unknown))} (valid: {valid})")
    try:
        return params_cls(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise error(f"bad parameters for {owner}: {problems}") from None


def params_info(params_cls: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each parameter's default, type and description, as the listing commands show them."""
    return {
        key: {"default": field.default,
              "type": getattr(field.annotation, "__name__", str(field.annotation)),
              "description": field.description or ""}
        for key, field in params_cls.model_fields.items()
    }


class Registry(Generic[C]):
    """Registered classes of one kind by name, plus aliases such as `tests:pass_fail`.

    Plugins are loaded from the entry-point `group` on first read: an entry point may name
    a module (importing it registers its classes with the decorator) or a class (registered
    under its `name`). A plugin that fails to load is an error naming it, never skipped.
    """

    def __init__(self, kind: str, group: str, error: type[RedraftError] = SpecError,
                 show: Callable[[str, C], str] = lambda name, cls: name) -> None:
        self.kind = kind
        self.show = show
        self.group = group
        self.error = error
        self._classes: dict[str, C] = {}
        self.aliases: dict[str, tuple[str, dict[str, Any]]] = {}
        self._plugins_loaded = False

    def register(self, cls: C) -> C:
        """Class decorator: make `cls` available under `cls.name`."""
        self._classes[cls.name] = cls  # type: ignore[attr-defined]
        return cls

    def alias(self, alias: str, name: str, **params: Any) -> None:
        """`alias` means `name[params]` (kept so specs of the first release keep working)."""
        self.aliases[alias] = (name, params)

    def load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for point in entry_points(group=self.group):
            try:
                loaded = point.load()
            except Exception as exc:
                raise self.error(f"the {self.kind} plugin {point.name!r} ({point.value}) failed to load: "
                                 f"{type(exc).__name__}: {exc}") from exc
            name = getattr(loaded, "name", None)
            if isinstance(loaded, type) and isinstance(name, str):
                self._classes.setdefault(name, loaded)  # type: ignore[arg-type]

    def names(self) -> list[str]:
        self.load_plugins()
        return sorted(self._classes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __getitem__(self, name: str) -> C:
        return self.get(name)

    def items(self) -> list[tuple[str, C]]:
        return [(name, self._classes[name]) for name in self.names()]

    def __contains__(self, name: object) -> bool:
        self.load_plugins()
        return name in self._classes

    def get(self, name: str) -> C:
        self.load_plugins()
        if name not in self._classes:
            choices = ", ".join(self.show(n, c) for n, c in self.items())
            raise self.error(f"unknown {self.kind} {name!r}; choose from: {choices}")
        return self._classes[name]

    def resolve(self, spec: str | ComponentSpec) -> tuple[C, ComponentSpec]:
        """The class a spec names, with alias parameters merged under the spec's own."""
        parsed = parse_component(spec) if isinstance(spec, str) else spec
        key = parsed.name.lower()
        full = f"{key}:{parsed.arg}" if parsed.arg is not None else key
        if full in self.aliases:
            target, params = self.aliases[full]
            parsed = ComponentSpec(name=target, params={**params, **parsed.params})
        elif key in self.aliases:  # a name-only alias keeps the spec's argument
            target, params = self.aliases[key]
            parsed = ComponentSpec(name=target, arg=parsed.arg, params={**params, **parsed.params})
        else:
            parsed = parsed.model_copy(update={"name": key if key in self else parsed.name})
        return self.get(parsed.name), parsed

    def describe(self, info: Callable[[C], dict[str, Any]]) -> list[dict[str, Any]]:
        return [info(cls) for _, cls in self.items()]
