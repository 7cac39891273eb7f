"""Refinement traces become training data for self-correction, in the formats TRL's trainers take.

Reads only the run store: `traces` builds one canonical record per problem (every candidate
with its round, role, parent, critique, verdict, score and a correctness label whose source is
kept), `formats` projects it into rows, `card` writes what the rows are made of beside them.
"""

from __future__ import annotations

from redraft.export.formats import FORMATS, ExportOptions, export_rows
from redraft.export.traces import CandidateTrace, LabelSource, ProblemTrace, load_traces, read_traces

__all__ = [
    "FORMATS",
    "CandidateTrace",
    "ExportOptions",
    "LabelSource",
    "ProblemTrace",
    "export_rows",
    "load_traces",
    "read_traces",
]
