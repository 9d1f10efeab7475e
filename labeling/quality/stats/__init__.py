"""Pure statistics for quality control over plain Python values, lists and frames.

``votes`` is cheap and dependency-free (it runs in the web process on submit); ``fit``,
``agreement`` and ``annotators`` import crowd-kit, pandas, krippendorff and scikit-learn inside
their functions, so only worker-side code pays for them.
"""
