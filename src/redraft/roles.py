"""The roles a model call can be made in, and what each falls back to.

Roles are declared, not free strings: a strategy names the roles it calls, a feedback
source the roles it judges in, and a call in a role nobody declared is an error. Judging
roles fall back to the critic, so one `--critic-model` reaches every judging call ("small
models need strong verifiers"); generating roles fall back to the generator. A leaf module.
"""

from __future__ import annotations

from typing import Any

from redraft.errors import RedraftError

#: Roles that write or rewrite answers; they fall back to the generator. `other` is another model
#: whose answers a study sets beside the generator's (`redraft replicate self_preference`).
GENERATING_ROLES = ("generator", "refiner", "rewriter", "planner", "reflector", "explainer", "test_writer",
                    "other")
#: Roles that judge; they fall back to the critic, then the generator.
JUDGING_ROLES = ("critic", "reward", "verifier", "asker", "truster", "reviewer", "executor", "judge",
                 "instructor")
ROLES = GENERATING_ROLES + JUDGING_ROLES


#: The least `max_tokens` a judging call gets: judges put their machine-readable line
#: (VERDICT, score, Q) last, and a critique cut at the generator's cap loses exactly it.
JUDGE_MAX_TOKENS = 768


class RoleError(RedraftError, ValueError):
    """A role name that no strategy or feedback source declares, or a malformed binding."""


def check_role(role: str) -> str:
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    return role


def fallback(role: str) -> str | None:
    """The role a call in `role` goes to when `role` has no model of its own (None: the end)."""
    check_role(role)
    if role == "generator":
        return None
    return "critic" if role in JUDGING_ROLES and role != "critic" else "generator"


def parse_binding(text: str) -> tuple[str, str | None, str | None]:
    """`NAME=MODEL[@BASE_URL]` (as `--role` takes it) -> (role, model, base_url).

    An empty MODEL (`reward=@http://host/v1`) means "the endpoint's own model".
    """
    name, sep, target = text.partition("=")
    if not sep or not name.strip():
        raise RoleError(f"--role expects NAME=MODEL[@BASE_URL], got {text!r}")
    model, _, base_url = target.partition("@")
    if not model.strip() and not base_url.strip():
        raise RoleError(f"--role {name.strip()}= names neither a model nor an endpoint")
    return check_role(name.strip()), model.strip() or None, base_url.strip() or None


def sampling_for(role: str, sampling: dict[str, Any]) -> dict[str, Any]:
    """`sampling` as a call in `role` is sent: judging roles get at least `judge_max_tokens`.

    The one place the judging cap is applied (`Context.complete_n` calls it). A call with
    `max_tokens` set in a judging role gets `max(max_tokens, judge_max_tokens)`;
    `judge_max_tokens` is itself a sampling key (default `JUDGE_MAX_TOKENS`) so a caller can
    change the floor, and it is never sent to the model. With no `max_tokens`, the model's
    own default stands (an endpoint's may be larger than any floor).
    """
    params = dict(sampling)
    floor = params.pop("judge_max_tokens", JUDGE_MAX_TOKENS)
    if role in JUDGING_ROLES and params.get("max_tokens") is not None and floor is not None:
        params["max_tokens"] = max(params["max_tokens"], floor)
    return params
