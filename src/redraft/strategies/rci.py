"""RCI, Recursively Criticize and Improve (Kim et al. 2023), as CorrectBench runs it for reasoning.

    y0 = M(x)
    for t in 1..T (T = 1):
        [oracle setting only] stop if judge(y_{t-1}) is OK
        r_t = M(x, y0, ..., "Review your previous answer and find problems with your answer.")
        y_t = M(..., r_t, "Based on the problems you found, improve your answer.")
    final = last y

The loop and the two prompts are `critical`'s, and deliberately so: Huang et al. took their
review/improve prompts from RCI, so this module reuses `Critical` (same conversation, same
prompts, same recording) and differs only in what it is and its default. What differs:
- T = 1: CorrectBench's intrinsic RCI runs one critique/improve iteration (Huang et al. run 2).
- RCI's own reasoning experiments stop the loop once the answer matches the label, which is
  what Huang et al. criticised; here that is only an explicit oracle run (`rci@oracle`,
  labelled oracle in every report), never the default. CorrectBench's code does the same
  label check, but with one iteration it cannot change the result.
- The improve prompt carries `critical`'s one added sentence asking to restate the complete
  answer in the question's form (RCI's original says only "improve your answer"): an answer
  the task cannot extract would be scored wrong for its format, not its content.
"""

from __future__ import annotations

from pydantic import Field

from redraft.strategies.critical import Critical
from redraft.strategies.registry import register


@register
class RCI(Critical):
    name = "rci"
    paper = "Language Models can Solve Computer Tasks (Kim et al., 2023): RCI prompting"
    summary = "answer, 'find problems with your answer', 'improve your answer' (critical's loop, 1 round)"

    class Params(Critical.Params):
        max_rounds: int = Field(1, ge=0, description="critique/improve rounds (CorrectBench: 1)")

    params: Params
