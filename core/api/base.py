"""Base classes every API view uses: the error handler, bounded pagination, query parsing."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from core.api.errors import exception_handler
from core.api.strict import reject_unknown_body


class BoundedPagination(LimitOffsetPagination):
    """?limit=&offset= pages; a client can never ask for more than `max_limit` rows at once."""

    default_limit = 50
    max_limit = 500


class APIErrorsMixin:
    """Consistent error bodies even before the settings point DRF at our handler."""

    def get_exception_handler(self):
        return exception_handler


class BodylessMixin:
    """Actions (viewsets) or methods (views) listed in `bodyless_actions` take no body: a field
    sent to them is a 400 naming it, checked after authentication, before the handler acts."""

    bodyless_actions: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        name = getattr(self, "action", None) or request.method.lower()
        if name in self.bodyless_actions:
            reject_unknown_body(request)


class CrowdSafeAPIView(APIErrorsMixin, BodylessMixin, APIView):
    pass


class CrowdSafeViewSet(APIErrorsMixin, BodylessMixin, GenericViewSet):
    pagination_class = BoundedPagination
    # Only ids that fit a bigint reach the database; anything else is a plain 404.
    lookup_value_regex = r"[0-9]{1,18}"


def parse_query(serializer_class: type[serializers.Serializer], request) -> dict:
    """Validated query parameters (a 400 with one message per bad parameter)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(required=False)


def parse_body(serializer_class: type[serializers.Serializer], request, **kwargs) -> dict:
    """Validated request body; a body that is not an object is a 400, not a 500."""
    data = request.data
    if not hasattr(data, "get"):
        raise serializers.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


MAX_ID = 2**63 - 1


def get_or_404(model, pk: int, **filters):
    """The object, or a 404 (also for ids no database column can hold)."""

    if not 0 < int(pk) <= MAX_ID:
        raise NotFound(f"No {model._meta.verbose_name} with id {pk}.")
    obj = model.objects.filter(pk=pk, **filters).first()
    if obj is None:
        raise NotFound(f"No {model._meta.verbose_name} with id {pk}.")
    return obj
