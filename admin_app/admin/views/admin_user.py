"""Administrator accounts. Passwords are set through forms that hash them; no hash is ever shown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from sqlalchemy import inspect
from starlette.requests import Request
from starlette_admin import BooleanField, EmailField, HasMany, IntegerField, StringField
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed, FormValidationError
from starlette_admin.fields import PasswordField
from starlette_admin.flash import flash
from starlette_admin.helpers import on_commit
from starlette_admin.i18n import gettext

from admin_app.admin import compat
from admin_app.admin.base import AppModelView
from admin_app.admin.email_rule import email_address
from admin_app.admin.fields import AwareDateTimeField
from admin_app.audit.events import record_event
from admin_app.auth import totp
from admin_app.auth.email_change import AddressTakenError, request_change
from admin_app.auth.identity import Identity, current_identity, load_current_user
from admin_app.auth.passwords import PasswordPolicyError
from admin_app.auth.permissions import grants, load_grants
from admin_app.auth.reset import create_invited_user, send_invitation
from admin_app.auth.sessions import revoke_user_sessions
from admin_app.auth.users import UserExistsError, create_user, set_password
from admin_app.email.delivery import deliver_after_commit
from admin_app.email.notices import password_changed
from admin_app.models import AdminUser, Role
from admin_app.state import get_session, get_settings


def _write_only_password(name: str, label: str) -> PasswordField:
    """A password input that appears on the create form only and is never read back."""
    return PasswordField(
        name,
        label=label,
        required=False,  # not needed when an invitation is sent instead
        exclude_from_list=True,
        exclude_from_detail=True,
        exclude_from_edit=True,
        exclude_from_export=True,
        exclude_from_import=True,
    )


SET_PASSWORD_FORM = Markup(
    """
<form>
  <div class="mt-3 mb-3">
    <label class="form-label" for="new_password">New password</label>
    <input class="form-control" type="password" id="new_password" name="new_password"
           autocomplete="new-password" minlength="12" required>
  </div>
  <div class="mb-1">
    <label class="form-label" for="new_password_confirm">Repeat the new password</label>
    <input class="form-control" type="password" id="new_password_confirm"
           name="new_password_confirm" autocomplete="new-password" minlength="12" required>
  </div>
  <small class="text-muted">At least 12 characters.</small>
</form>
"""
)


def _locked(view: AppModelView, request: Request, name: str) -> bool:
    return name in view.readonly_fields(request)


class AdminUserView(AppModelView):
    model = AdminUser
    key = "admin-user"
    menu_label = "Admin users"
    icon = "fa fa-user-shield"
    menu_group = "Administration"
    fields = [
        IntegerField("id", label="ID"),
        EmailField("email", required=True, maxlength=254, validators=[email_address()]),
        StringField(
            "pending_email",
            label="New email, awaiting confirmation",
            read_only=True,
            exclude_from_create=True,
            exclude_from_list=True,
        ),
        StringField("full_name", maxlength=150),
        BooleanField(
            "send_invitation",
            label="Send an invitation instead of setting a password",
            help_text="The new user gets an email with a link to choose their own password.",
            exclude_from_list=True,
            exclude_from_detail=True,
            exclude_from_edit=True,
            exclude_from_export=True,
            exclude_from_import=True,
        ),
        _write_only_password("password", "Password"),
        _write_only_password("password_confirm", "Repeat password"),
        BooleanField("is_active", label="Active", default=True),
        BooleanField("is_superuser", label="Superuser"),
        HasMany("roles", key="role"),
        AwareDateTimeField("last_login", read_only=True, exclude_from_create=True),
        AwareDateTimeField("password_changed_at", read_only=True, exclude_from_create=True),
        AwareDateTimeField("created_at", read_only=True, exclude_from_create=True),
    ]
    create_template = "admin_user/create.html"  # hides the passwords for an invitation
    case_insensitive_unique = ("email",)
    searchable_fields = ["email", "full_name"]
    sortable_fields = ["id", "email", "full_name", "last_login", "created_at"]
    fields_default_sort = ["email"]
    exporters = ["csv"]
    importers: list[str] = []

    def readonly_fields(self, request: Request) -> set[str]:
        """Only a superuser can hand out superuser status or roles (no self-promotion)."""
        locked = super().readonly_fields(request)
        me = current_identity(request)
        return locked if me and me.is_superuser else locked | {"is_superuser", "roles"}

    async def create(self, request: Request, data: dict[str, Any]) -> Any:
        """Create through the account service, which checks the policy and hashes."""
        if data.get("send_invitation"):
            return await self._invite(request, data)
        if not data.get("password"):
            raise FormValidationError(
                {"password": gettext("Enter a password, or choose to send an invitation.")}
            )
        if data.get("password") != data.get("password_confirm"):
            raise FormValidationError({"password_confirm": gettext("The two passwords differ.")})
        try:
            user = await create_user(
                session=get_session(request),
                email=data["email"] or "",
                password=data["password"] or "",
                full_name=data.get("full_name") or "",
                is_superuser=bool(data.get("is_superuser")),
                roles=await self._chosen_roles(request, data),
            )
        except PasswordPolicyError as error:
            raise FormValidationError({"password": str(error)}) from None
        except UserExistsError as error:
            raise FormValidationError({"email": str(error)}) from None
        return self._created(request, user, data)

    def _created(self, request: Request, user: AdminUser, data: dict[str, Any]) -> AdminUser:
        user.is_active = bool(data.get("is_active", True))
        # starlette-admin's own create() would do this; without it nothing hears of the
        # new account after commit (the live feed, for one).
        on_commit(request, lambda: compat.emit_after_create_committed(self, request, user))
        return user

    async def _chosen_roles(self, request: Request, data: dict[str, Any]) -> list[Role]:
        """The roles picked in the form, loaded; none when the user may not hand out roles."""
        if _locked(self, request, "roles"):
            return []
        return list((await compat.arrange_data(self, request, data)).get("roles") or [])

    async def _invite(self, request: Request, data: dict[str, Any]) -> AdminUser:
        """Create the account without a password and email its owner a link to choose one."""
        if data.get("password") or data.get("password_confirm"):
            raise FormValidationError(
                {"password": gettext("Leave the password empty: the invitee chooses it.")}
            )
        session = get_session(request)
        try:
            user = await create_invited_user(
                session,
                email=data["email"] or "",
                full_name=data.get("full_name") or "",
                is_superuser=bool(data.get("is_superuser")),
                roles=await self._chosen_roles(request, data),
            )
        except UserExistsError as error:
            raise FormValidationError({"email": str(error)}) from None
        except ValueError as error:
            raise FormValidationError({"email": str(error)}) from None
        self._created(request, user, data)
        inviter = await load_current_user(request)
        row = await send_invitation(
            session, request, user, inviter.display_name if inviter else "An administrator"
        )
        deliver_after_commit(request, row)
        on_commit(request, lambda: compat.emit_after_create_committed(self, request, user))
        return user

    async def before_edit(self, request: Request, data: dict[str, Any], obj: Any) -> None:
        """Deactivating an account, or taking away superuser, ends its sessions."""
        await super().before_edit(request, data, obj)
        state = inspect(obj).attrs
        me = current_identity(request)
        if me is not None and obj.id == me.id:
            if not obj.is_active:
                raise FormValidationError(
                    {"is_active": gettext("You cannot deactivate your own account.")}
                )
            if me.is_superuser and not obj.is_superuser:
                raise FormValidationError(
                    {"is_superuser": gettext("You cannot take superuser status from yourself.")}
                )
        if state.is_active.history.deleted or state.is_superuser.history.deleted:
            await revoke_user_sessions(get_session(request), obj.id)
        await self._hold_new_address(request, obj)

    async def _hold_new_address(self, request: Request, obj: AdminUser) -> None:
        """A new email address waits for its owner to confirm it (`auth.email_change`)."""
        history = inspect(obj).attrs.email.history
        if not (history.added and history.deleted) or history.added[0] == history.deleted[0]:
            return
        new, obj.email = obj.email, history.deleted[0]
        me = await load_current_user(request)
        try:
            rows = await request_change(
                get_session(request), request, obj, new, me.display_name if me else "Someone"
            )
        except AddressTakenError as error:
            raise FormValidationError({"email": str(error)}) from None
        for row in rows:
            deliver_after_commit(request, row)
        flash(
            request,
            gettext(
                "A link to confirm %(new)s was sent there: the address changes once it is "
                "followed. %(old)s was told."
            )
            % {"new": obj.pending_email, "old": obj.email},
            "info",
        )

    async def deletion_refusals(self, request: Request, pks: Sequence[Any]) -> list[str]:
        """Shown before the delete, so nobody is offered a confirmation that would fail."""
        me = current_identity(request)
        own = [gettext("You cannot delete your own account.")] if me and me.id in pks else []
        return own + await super().deletion_refusals(request, pks)

    async def change_refusal(self, request: Request, obj: Any) -> str | None:
        """Only someone who holds everything an account holds may change it: a superuser's
        account only a superuser (its email, password, 2FA, active flag, anything), and a
        role's holder only someone holding at least as much. Otherwise a delegated
        administrator could take the account over."""
        mine = grants(request)
        if mine.superuser:
            return None
        if obj.is_superuser:
            return "Only a superuser may change a superuser's account."
        theirs = await load_grants(get_session(request), Identity.of(obj))
        if not mine.covers(theirs):
            return "This account holds permissions you do not hold; only a superuser may change it."
        return None

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        """Edit, delete, set a password, reset 2FA: not on an account the user may not change."""
        if name != "view" and await self.change_refusal(request, obj):
            return False
        allowed: bool = await super().is_row_action_allowed_for_obj(request, name, obj)
        return allowed

    async def before_delete(self, request: Request, obj: Any) -> None:
        me = current_identity(request)
        if me is not None and obj.id == me.id:
            raise ActionFailed(gettext("You cannot delete your own account."))

    @row_action(
        name="set_password",
        text="Set password",
        header="Set a new password",
        # starlette-admin opens the modal (and so shows the form) only for actions
        # with a confirmation; without one, a click posts an empty form at once.
        confirmation="The account's sessions end when its password changes.",
        modal_size="md",
        icon_class="fa fa-key",
        submit_btn_text="Set password",
        form=SET_PASSWORD_FORM,
    )
    async def set_password_action(self, request: Request, pk: Any) -> None:
        """Hash and store a new password for the account, and end its sessions.

        The confirmation is flashed: starlette-admin 1.0 ignores a row action's return
        value and reloads the page, so only a flash message reaches the user.
        """
        form = await request.form()
        password = str(form.get("new_password") or "")
        if password != str(form.get("new_password_confirm") or ""):
            raise ActionFailed(gettext("The two passwords differ."))
        user = await self.find_by_pk(request, pk)
        if user is None:
            raise ActionFailed(gettext("This account no longer exists."))
        keep = getattr(request.state, "admin_session_id", None)
        try:
            await set_password(
                session=get_session(request),
                user=user,
                password=password,
                keep_session=keep
                if user.id == getattr(current_identity(request), "id", None)
                else None,
            )
        except PasswordPolicyError as error:
            raise ActionFailed(str(error)) from None
        notice = await password_changed(get_session(request), get_settings(request), user, request)
        deliver_after_commit(request, notice)
        flash(
            request,
            gettext("The password of %(email)s was changed.") % {"email": user.email},
            "success",
        )

    @row_action(
        name="reset_2fa",
        text="Reset two-factor login",
        confirmation="Turn off this account's two-factor login? Its sessions will end.",
        icon_class="fa fa-shield-halved",
        submit_btn_text="Reset",
    )
    async def reset_2fa_action(self, request: Request, pk: Any) -> None:
        """For a user who lost their phone and codes: off, codes gone, sessions ended, logged."""
        user = await self.find_by_pk(request, pk)
        if user is None:
            raise ActionFailed(gettext("This account no longer exists."))
        db = get_session(request)
        await totp.disable(db, user)
        ended = await revoke_user_sessions(db, user.id)
        await record_event(db, "2fa_reset", user=user, sessions_ended=ended)
        flash(
            request,
            gettext("Two-factor login of %(email)s was reset; they can set it up again.")
            % {"email": user.email},
            "success",
        )
