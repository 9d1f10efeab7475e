"""Pure statistics behind the scores: no Django, only numpy (imported by workers and tests).

Import from the modules themselves: this package imports nothing, so that a web process that
needs only `intervals` (pure math) does not load numpy.

- intervals: Wilson score interval for a rate.
- bootstrap: means with a bootstrap over prompts, two-level (prompts, then annotators within a
  prompt), and paired differences between two models over shared prompts.
- ppi: prediction-powered inference for a mean or a rate (Angelopoulos et al., Science 2023),
  with the power tuning of PPI++ (Angelopoulos, Duchi, Zrnic 2023).
- ranks: shared ranks from intervals (Chatbot Arena's rule).
"""
