"""Create the first admin from arguments or the environment.

    manage.py create_admin --username ops --email ops@example.org --password '...'
    CROWDSAFE_ADMIN_USERNAME=ops CROWDSAFE_ADMIN_PASSWORD=... manage.py create_admin
    manage.py create_admin --generate-password      # prints a generated password once

There is no default password: without a password and without --generate-password the
command fails.
"""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import Role


class Command(BaseCommand):
    help = "Create an admin user (role admin, may use the admin site)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default=os.environ.get("CROWDSAFE_ADMIN_USERNAME", "admin"))
        parser.add_argument("--email", default=os.environ.get("CROWDSAFE_ADMIN_EMAIL", ""))
        parser.add_argument("--password", default=os.environ.get("CROWDSAFE_ADMIN_PASSWORD", ""))
        parser.add_argument(
            "--generate-password", action="store_true", help="Generate a password and print it once."
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing (exit 0) when the user already exists, instead of failing.",
        )

    def handle(self, *args, **opts) -> None:
        User = get_user_model()
        username: str = opts["username"].strip()
        if not username:
            raise CommandError("--username must not be empty.")
        if User.objects.filter(username=username).exists():
            if opts["if_missing"]:
                self.stdout.write(f"Admin '{username}' already exists; nothing to do.")
                return
            raise CommandError(f"A user named '{username}' already exists.")

        password: str = opts["password"]
        generated = False
        if not password:
            if not opts["generate_password"]:
                raise CommandError(
                    "Give --password (or CROWDSAFE_ADMIN_PASSWORD), or --generate-password."
                )
            password, generated = secrets.token_urlsafe(12), True

        user = User(username=username, email=opts["email"], role=Role.ADMIN, full_name="Administrator")
        try:
            User._meta.get_field("username").run_validators(username)
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS(f"Created admin '{username}'."))
        if generated:
            self.stdout.write(f"Generated password (shown once): {password}")
