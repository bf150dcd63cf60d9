"""JWT login, refresh, logout (blacklists the refresh token) and the current user."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import logout as session_logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.api.serializers import (
    LoginSerializer,
    RefreshResultSerializer,
    RefreshSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.permissions import IsViewer
from core.api.base import CrowdSafeAPIView, DetailSerializer, ErrorSerializer, parse_body


class LoginRateThrottle(ScopedRateThrottle):
    """Per client address. X-Forwarded-For counts only when NUM_PROXIES says a proxy sets it,
    so a client cannot dodge the limit by sending a new header each time."""

    def get_ident(self, request) -> str:
        if api_settings.NUM_PROXIES is not None:
            return super().get_ident(request)
        return request.META.get("REMOTE_ADDR", "")


class _TokenEndpoint(CrowdSafeAPIView):
    """No authentication on the way in, but bad credentials are still a 401 (not a 403)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def _access_seconds() -> int:
    return int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


class LoginView(_TokenEndpoint):
    """Username and password in, a JWT pair and the user out. Throttled per client address."""

    throttle_classes = [LoginRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: TokenPairSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            429: ErrorSerializer,
        },
        auth=[],
    )
    def post(self, request):
        data = parse_body(LoginSerializer, request)
        # With the request, a failure reaches `user_login_failed` with the client's address.
        serializer = TokenObtainPairSerializer(data=data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)  # 401 for bad credentials or an inactive user
        tokens = serializer.validated_data
        # simplejwt sends no signal on success: the audit trail hears of it as of a form login.
        user_logged_in.send(sender=type(serializer.user), request=request._request, user=serializer.user)
        return Response(
            {
                "access": tokens["access"],
                "refresh": tokens["refresh"],
                "access_token": tokens["access"],
                "refresh_token": tokens["refresh"],
                "expires_in": _access_seconds(),
                "user": UserSerializer(serializer.user).data,
            }
        )


class RefreshView(_TokenEndpoint):
    """A refresh token in, a new access token (and a rotated refresh token) out."""

    @extend_schema(
        request=RefreshSerializer,
        responses={200: RefreshResultSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
        auth=[],
    )
    def post(self, request):
        token = parse_body(RefreshSerializer, request)["refresh"]
        serializer = TokenRefreshSerializer(data={"refresh": token})
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc
        data = serializer.validated_data
        return Response(
            {
                "access": data["access"],
                "refresh": data.get("refresh", token),
                "access_token": data["access"],
                "expires_in": _access_seconds(),
            }
        )


class LogoutView(CrowdSafeAPIView):
    """Blacklists the refresh token (and ends the session of a browser login)."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=RefreshSerializer,
        responses={200: DetailSerializer, 400: ErrorSerializer},
    )
    def post(self, request):
        token = parse_body(RefreshSerializer, request)["refresh"]
        try:
            refresh = RefreshToken(token)
            refresh.blacklist()
        except TokenError as exc:
            return Response(
                {
                    "status": 400,
                    "code": "invalid",
                    "detail": f"refresh: {exc}",
                    "errors": {"refresh": [str(exc)]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        if request.user.is_authenticated and getattr(request, "session", None) is not None:
            session_logout(request._request)  # sends user_logged_out
        else:  # the refresh token alone: its owner signed out
            owner_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
            owner = get_user_model().objects.filter(pk=owner_id).first()
            if owner is not None:
                user_logged_out.send(sender=type(owner), request=request._request, user=owner)
        return Response({"detail": "Logged out; the refresh token is revoked."})


class MeView(CrowdSafeAPIView):
    permission_classes = [IsViewer]

    @extend_schema(responses={200: UserSerializer, 401: ErrorSerializer})
    def get(self, request):
        return Response(UserSerializer(request.user).data)


__all__ = ["LoginView", "LogoutView", "MeView", "RefreshView", "OpenApiResponse"]
