"""Users (admin only): list, create, update, deactivate, delete, password reset."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import services
from accounts.api.serializers import (
    PasswordResetResultSerializer,
    PasswordResetSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from accounts.permissions import IsAdmin
from accounts.roles import Role
from core.api.base import CrowdSafeViewSet, ErrorSerializer, parse_body

User = get_user_model()


class UserFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=Role.choices)
    is_active = filters.BooleanFilter()
    search = filters.CharFilter(field_name="username", lookup_expr="icontains")

    class Meta:
        model = User
        fields = ["role", "is_active", "search"]


_errors = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class UserViewSet(CrowdSafeViewSet):
    permission_classes = [IsAdmin]
    bodyless_actions = frozenset({"deactivate"})
    serializer_class = UserSerializer
    filterset_class = UserFilter
    queryset = User.objects.order_by("-date_joined", "-id")

    @extend_schema(responses={200: UserSerializer(many=True), **_errors})
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(responses={200: UserSerializer, **_errors})
    def retrieve(self, request, pk=None):
        return Response(UserSerializer(self.get_object()).data)

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer, **_errors})
    def create(self, request):
        user = services.create_user(by=request.user, **parse_body(UserCreateSerializer, request))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer, **_errors})
    def update(self, request, pk=None):
        user = services.update_user(
            self.get_object(), by=request.user, **parse_body(UserUpdateSerializer, request)
        )
        return Response(UserSerializer(user).data)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer, **_errors})
    def partial_update(self, request, pk=None):
        return self.update(request, pk)

    @extend_schema(responses={204: None, **_errors})
    def destroy(self, request, pk=None):
        services.delete_user(self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: UserSerializer, **_errors})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return Response(UserSerializer(services.deactivate_user(self.get_object(), by=request.user)).data)

    @extend_schema(request=PasswordResetSerializer, responses={200: PasswordResetResultSerializer, **_errors})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        """Set a new password given in the body, or get a one-time set-password link.

        A password is never part of a response.
        """
        user = self.get_object()
        password = parse_body(PasswordResetSerializer, request).get("password")
        if password:
            services.set_password(user, password, by=request.user)
            return Response({"detail": f"The password of {user.username} was changed."})
        link = services.password_reset_link(user, by=request.user, request=request)
        return Response({"detail": "Send this one-time link to the user.", "set_password_link": link})
