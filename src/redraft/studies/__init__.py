"""Studies: the self-correction literature's findings as protocols anyone can rerun on their model.

Importing a study module registers it (see `redraft.studies.registry`).
"""

from redraft.studies import (  # noqa: F401
    adaptive,
    blind_spot,
    flips,
    gen_verify_gap,
    huang2023,
    repair_vs_resample,
    reward_hacking,
    self_preference,
    strong_verifier,
)
from redraft.studies.base import Claim, Finding, Study, StudyContext, StudyResult
from redraft.studies.registry import STUDIES, get_study, register, study_info
from redraft.studies.verdict import decide, n_to_decide

__all__ = ["STUDIES", "Claim", "Finding", "Study", "StudyContext", "StudyResult", "decide", "get_study",
           "n_to_decide", "register", "study_info"]
