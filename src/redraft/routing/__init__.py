"""Adaptive refinement: decide per problem whether and how hard to refine.

The literature's lesson is that refinement helps on some problems and hurts on others. This package
turns finished evaluations into a small, inspectable decision rule:

- `signals`: what is measured about a problem before deciding (agreement of a few quick samples,
  the draft's length and finish reason, optionally the critic's verdict, P(True), the draft's mean
  log-likelihood), recorded on every run so a fit reads exactly what the router will see;
- `policy`: the policy file (readable JSON) and its decision rule, evaluated in plain Python so the
  strategy that runs it (`adaptive[policy=FILE]`) needs no heavy dependency;
- `frontier`: the accuracy-against-tokens frontier of fixed strategies a router is compared with.

A leaf below the strategies: what reads evaluations to fit a policy is in `redraft.runs`
(`routing_data`: one row per problem from the fixed arms' evaluations; `routing_fit`: the
cross-validated classifiers, scikit-learn's, in the `[route]` extra).
"""
