"""Every vote records its ties and breaks them by one rule (first seen); Self-Contrast weighs clusters."""

from __future__ import annotations

import copy

from redraft.models.scripted import ScriptedModel
from redraft.strategies.gsr import GSR
from redraft.strategies.self_consistency import SelfConsistency
from redraft.strategies.self_contrast import SelfContrast
from redraft.strategies.self_polish import SelfPolish
from redraft.strategies.voting import vote
from redraft.tasks.extract import extract_number
from tests.helpers import run_scripted
from tests.strategies.test_self_contrast import contrast_model
from tests.strategies.test_self_polish import polish_model


def test_a_tie_lists_the_tied_answers_and_the_first_seen_wins() -> None:
    tied = vote(["5", "4", "4", "5", None])
    assert (tied.winner, tied.tied, tied.tie) == ("5", ["5", "4"], True)
    assert tied.model_dump()["tie"] is True  # what the stored metadata carries
    clear = vote(["4", "5", "4"])
    assert (clear.winner, clear.tied, clear.tie) == ("4", [], False)
    weighted = vote(["4", "5", "6"], weights=[0.25, 0.5, 0.25 + 0.25])
    assert (weighted.winner, weighted.tied) == ("5", ["5", "6"])
    assert vote([None]).tied == []


def test_self_consistency_records_a_two_two_tie_on_the_winner() -> None:
    model = ScriptedModel(["The answer is 5.", "It is 4.", "So 4.", "I get 5."])
    outcome = run_scripted(SelfConsistency(k=4), model, extract=extract_number)
    assert outcome.answer == "5"
    chosen = next(c for c in outcome.candidates if c.text == outcome.text)
    assert chosen.metadata["vote"]["tied"] == ["5", "4"] and chosen.metadata["vote"]["tie"]


def test_gsr_majority_records_its_tie() -> None:
    model = ScriptedModel(["The answer is 5.", "It is 4.", "The answer is 4."])
    outcome = run_scripted(GSR(n=2), model, extract=extract_number)
    assert outcome.candidates[-1].metadata["vote"]["tied"] == ["5", "4"]


def test_self_polish_vote_records_that_no_answer_repeated() -> None:
    outcome = run_scripted(SelfPolish(final="vote"), polish_model(["3", "4", "6", "7"]),
                           extract=extract_number)
    assert outcome.answer == "3" and outcome.candidates[0].metadata["vote"]["tied"] == ["3", "4", "6", "7"]


def test_self_contrast_weighs_each_revision_by_its_answer_clusters_size() -> None:
    """Two perspectives said 4 and one said 5: one revision each, but 4 speaks for two."""
    solutions = {"fingers": "It is 5.", "number line": "It is 4.", "backwards": "So 4."}
    model = contrast_model(solutions, {"It is 5.": "Still 5.", "It is 4.": "Still 4."})
    outcome = run_scripted(SelfContrast(), model, extract=extract_number)
    assert (outcome.answer, outcome.text) == ("4", "Still 4.")
    chosen = outcome.candidates[-1]
    assert chosen.metadata["vote"]["counts"] == {"5": 1.0, "4": 2.0}
    assert chosen.metadata["vote"]["tie"] is False


def test_self_contrast_reports_a_tie_and_select_stays_pure() -> None:
    solutions = {"fingers": "It is 5.", "number line": "It is 4."}
    model = contrast_model(solutions, {"It is 5.": "Still 5.", "It is 4.": "Still 4."},
                           listing="1. Count on fingers.\n2. Use a number line.")
    strategy = SelfContrast(perspectives=2)
    outcome = run_scripted(strategy, model, extract=extract_number)
    assert outcome.answer == "5"  # first seen
    assert outcome.candidates[-2].metadata["vote"]["tied"] == ["5", "4"]
    fresh = [c.model_copy(update={"metadata": {}}) for c in outcome.candidates]
    before = copy.deepcopy(fresh)
    strategy.select(fresh)
    assert fresh == before


def test_an_unscored_voter_is_counted_apart_never_given_the_top_weight() -> None:
    from redraft.strategies.voting import vote

    result = vote(["4", "5", "5"], [0.9, None, None])
    assert result.winner == "4" and result.unscored == 2 and result.counts == {"4": 0.9}
    assert vote(["4", "5", "5"], [None, None, None]).winner == "5"  # nobody scored: a plain majority


def test_weighted_self_consistency_does_not_let_unscored_samples_outvote_scored_ones() -> None:
    from redraft.feedback.base import Source
    from redraft.models.scripted import ScriptedModel
    from redraft.strategies.self_consistency import SelfConsistency
    from redraft.tasks.extract import extract_number
    from redraft.trace import Feedback, Verdict
    from tests.helpers import run_scripted

    class ScoresOnlyFour(Source):
        name = "scores_only_four"

        async def judge(self, problem, candidate, ctx):  # type: ignore[no-untyped-def]
            if "4" in candidate:
                return Feedback(verdict=Verdict.OK, score=0.9)
            return Feedback(verdict=Verdict.UNKNOWN, text="unreadable")

    model = ScriptedModel(["The answer is 4", "The answer is 5", "The answer is 5"])
    outcome = run_scripted(SelfConsistency(ScoresOnlyFour(), k=3), model, extract=extract_number)
    assert outcome.answer == "4"  # today each unscored sample weighed 1.0 > 0.9: 5 won
    assert outcome.candidates[0].metadata["vote"]["unscored"] == 2


def test_best_of_n_without_scores_ranks_by_verdict() -> None:
    from redraft.feedback.base import Source
    from redraft.models.scripted import ScriptedModel
    from redraft.strategies.best_of_n import BestOfN
    from redraft.trace import Feedback, Verdict
    from tests.helpers import run_scripted

    class VerdictOnly(Source):
        name = "verdict_only"

        async def judge(self, problem, candidate, ctx):  # type: ignore[no-untyped-def]
            verdict = {"a": Verdict.REVISE, "b": Verdict.UNKNOWN, "c": Verdict.OK}[candidate]
            return Feedback(verdict=verdict)

    outcome = run_scripted(BestOfN(VerdictOnly(), n=3), ScriptedModel(["a", "b", "c"]))
    assert outcome.text == "c"  # today: the first sample, "a", which its judge said to revise
    outcome = run_scripted(BestOfN(VerdictOnly(), n=2), ScriptedModel(["a", "b"]))
    assert outcome.text == "b"
