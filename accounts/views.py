"""Users page (admin): list, add, edit role and status, set a password, delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.forms import SetPasswordForm, UserCreateForm, UserEditForm, UserFilterForm
from accounts.models import User
from accounts.permissions import role_required
from accounts.roles import Role
from core.pages import apply_validation_error, render_page


@require_GET
@role_required(Role.ADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET or None)
    qs = User.objects.order_by("username")
    if form.is_valid():
        if form.cleaned_data["q"]:
            q = form.cleaned_data["q"]
            qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(email__icontains=q))
        if form.cleaned_data["role"]:
            qs = qs.filter(role=form.cleaned_data["role"])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render_page(request, "pages/users.html", "users", {"form": form, "page": page})


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def user_add(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(by=request.user, **form.service_fields())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"User {user.username} created.")
            return redirect("users")
    status = 400 if form.is_bound else 200
    return render_page(request, "pages/user_form.html", "users", {"form": form, "title": "Add user"}, status)


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    form = UserEditForm(request.POST or None, instance=User.objects.get(pk=target.pk))
    password_form = SetPasswordForm(request.POST if request.POST.get("action") == "password" else None)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "password":
                form = UserEditForm(instance=target)
                if password_form.is_valid():
                    services.set_password(target, password_form.cleaned_data["password"], by=request.user)
                    messages.success(request, f"Password of {target.username} changed.")
                    return redirect("users")
            elif form.is_valid():
                services.update_user(target, by=request.user, **form.cleaned_data)
                messages.success(request, f"User {target.username} saved.")
                return redirect("users")
        except ValidationError as exc:
            apply_validation_error(password_form if request.POST.get("action") == "password" else form, exc)
        status = 400
    context = {"form": form, "password_form": password_form, "target": target, "title": f"Edit {target}"}
    return render_page(request, "pages/user_form.html", "users", context, status)


@require_POST
@role_required(Role.ADMIN)
def user_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    try:
        services.delete_user(target, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("user_edit", user_id=target.pk)
    messages.success(request, f"User {target.username} deleted.")
    return redirect("users")
