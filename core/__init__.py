"""Cross-cutting helpers (errors, settings parsing, raw SQL, token auth, API helpers).

Imports no app of the project: every app may import core, never the other way round.
"""
