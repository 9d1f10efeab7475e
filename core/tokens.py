"""API tokens: revoke a user's, and rotate them whenever their password changes.

A user has at most one DRF token. Revoking deletes it; the next `POST /api/auth/token/` with
the password issues a new key, so "rotated" and "revoked" are the same write.

Why a password-validator hook and not a service or a signal: a password changes through
several doors that call no service of ours (the Django admin's password form, the
`changepassword` command, `set_password()` + `save()` anywhere). All of them end in
`AbstractBaseUser.save()`, which calls `password_validation.password_changed()` once the new
password is stored, and Django calls that hook only for a real change: not for a hash upgrade
on sign-in, not for an unrelated save of the user. A `pre_save` signal would have to read the
old hash back on every save of a user to find out.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authtoken.models import Token


def tokens_revoke(*, user_id: int) -> int:
    """Delete the user's API tokens; returns how many there were."""
    deleted, _ = Token.objects.filter(user_id=user_id).delete()
    return deleted


class RotateTokenOnPasswordChange:
    """In AUTH_PASSWORD_VALIDATORS for its `password_changed` hook; it rejects no password."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None:
            tokens_revoke(user_id=user.pk)

    def get_help_text(self) -> str:
        return "A new password also revokes your API token."
