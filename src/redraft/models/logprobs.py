"""Reading a completion's token logprobs: a sequence's log-likelihood, an option's probability.

Pure functions over `Completion.logprobs`, so selection by likelihood or by P(True) reads the
numbers the same way whichever model returned them (an endpoint, the embedded model, a script).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from redraft.models.base import TokenLogprob

#: What a token says once spaces and the option's brackets are stripped: "(A" -> "A", " True" -> "True".
_OPTION_PUNCTUATION = " \t\n()[]{}:.,*\"'`"


def total_logprob(logprobs: Sequence[TokenLogprob]) -> float | None:
    """log p(y | x): the sum over the reply's tokens; None for a reply of no tokens."""
    return sum(t.logprob for t in logprobs) if logprobs else None


def mean_logprob(logprobs: Sequence[TokenLogprob]) -> float | None:
    """The mean token log-likelihood (length-normalized, so long replies are not penalized for
    their length alone); None for a reply of no tokens."""
    total = total_logprob(logprobs)
    return None if total is None else total / len(logprobs)


def option_label(token: str) -> str:
    """A token as an option label: stripped of whitespace and brackets ("(A" -> "A")."""
    return token.strip(_OPTION_PUNCTUATION)


def option_probability(
    logprobs: Sequence[TokenLogprob], yes: Collection[str], no: Collection[str]
) -> float | None:
    """P(yes) / (P(yes) + P(no)) at the first token of the reply that names an option.

    `yes` and `no` are labels (`option_label` of a token, compared exactly: "A" is the option and
    the article "a" is not). At that position the probability of each side is the summed
    probability of its labels among the alternatives returned there (the token itself included),
    renormalized over the two sides, as P(True) is read in Kadavath et al. (2022). None when no
    token of the reply names an option (the model answered something else: the caller records it).
    """
    labels = set(yes) | set(no)
    for entry in logprobs:
        if option_label(entry.token) not in labels:
            continue
        alternatives = {a.token: a.logprob for a in entry.top_logprobs}
        alternatives.setdefault(entry.token, entry.logprob)
        p_yes = sum(math.exp(lp) for token, lp in alternatives.items() if option_label(token) in yes)
        p_no = sum(math.exp(lp) for token, lp in alternatives.items() if option_label(token) in no)
        return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else None
    return None
