"""The one source of randomness a strategy may use: a generator seeded from the run.

A method that draws (RSA's subsets, AB-MCTS's Thompson samples, MC-NEST's importance
sampling) must be reproducible: the same run seed and problem give the same draws, so a
seeded run can be replayed and a test can pin it. `random.Random` seeded with a string hashes
it with SHA-512, so the stream is the same in every process (PYTHONHASHSEED plays no part).
An unseeded run draws from the stream of seed `None`: still fixed per problem, never the
process-wide generator.
"""

from __future__ import annotations

import random

from redraft.context import Context
from redraft.tasks.base import Problem


def seeded_rng(method: str, ctx: Context, problem: Problem) -> random.Random:
    """A generator for one solve of `method`: seeded by the run's seed, the problem and the method."""
    return random.Random(f"{method}|{ctx.sampling.get('seed')}|{problem.id}|{problem.prompt}")
