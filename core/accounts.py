"""Sign-in and API tokens: the two throttled sign-in doors, and token revocation for staff."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import StrictJSONParser
from core.throttles import SIGN_IN_THROTTLES, signin_failed, signin_wait, submitted_username
from core.tokens import tokens_revoke


def _wrong_credentials(exc: exceptions.ValidationError) -> bool:
    """AuthTokenSerializer's "Unable to log in" (a password was checked), not a missing field."""
    codes = exc.get_codes()
    flat = codes.get("non_field_errors", []) if isinstance(codes, dict) else codes
    return isinstance(flat, list) and "authorization" in flat


class TokenApi(ObtainAuthToken):
    """`POST /api/auth/token/`: DRF's, throttled by failed sign-ins (429 with Retry-After)."""

    throttle_classes = SIGN_IN_THROTTLES
    # DRF's view names its own JSON parser: the strict one refuses deep nesting and the rest.
    parser_classes = (FormParser, MultiPartParser, StrictJSONParser)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError as exc:
            if _wrong_credentials(exc):
                signin_failed(request)
            raise


class SignInView(LoginView):
    """Django's login form, throttled like the token endpoint: a caller over the limit gets
    the form back with 429 and Retry-After, and no password is checked."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = signin_wait(request)
        if wait is None:
            return super().post(request, *args, **kwargs)
        seconds = max(1, math.ceil(wait))
        # An unbound form: a bound one would check the password when the template shows errors.
        form = self.get_form_class()(request, initial={"username": submitted_username(request)})
        context = self.get_context_data(form=form, retry_after=seconds)
        response = self.render_to_response(context, status=status.HTTP_429_TOO_MANY_REQUESTS)
        response["Retry-After"] = str(seconds)
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        if form.data.get("username") and form.data.get("password"):
            signin_failed(self.request)
        return super().form_invalid(form)


class UserTokensApi(APIView):
    """`DELETE /api/users/{id}/tokens/`: staff revoke a user's API tokens (e.g. a leaked key)."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses={204: OpenApiResponse(description="revoked (or there was none)")})
    def delete(self, request: Request, pk: int) -> Response:
        user = get_object_or_404(get_user_model(), pk=pk)
        tokens_revoke(user_id=user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
