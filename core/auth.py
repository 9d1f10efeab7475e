"""Token authentication in one hand-written statement.

DRF's TokenAuthentication builds an ORM query per request; on the annotation hot path that
compile cost more than the lookup itself. Same table, same semantics, same errors.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from core.rawsql import Columns, hot_cursor, split_row

_TOKEN = Columns(Token)
_USER: Columns[Any] = Columns(get_user_model())
_SQL = (
    f'SELECT {_TOKEN.sql("t")}, {_USER.sql("u")} FROM "{Token._meta.db_table}" t'
    f' JOIN "{_USER.model._meta.db_table}" u'
    f' ON u."{_USER.model._meta.pk.column}" = t."{Token._meta.get_field("user").column}"'
    ' WHERE t."key" = %s'
)


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        with hot_cursor() as cursor:
            cursor.execute(_SQL, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token, user = split_row(row, _TOKEN, _USER)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        token.user = user
        return user, token
