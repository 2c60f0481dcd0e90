"""Credentials in the admin: made, rotated and deleted through the actions (audited); no value is ever displayed.

Values are typed as a JSON object in a write-only box, which is empty on
every page the admin renders.
"""

import json

from django import forms
from django.contrib import admin, messages

from workflows.credentials import actions, crypto
from workflows.credentials.models import Credential
from workflows.credentials.types import BadValues, check_values


class CredentialForm(forms.ModelForm):
    values = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text='a JSON object of the type\'s fields, e.g. {"token": "…"}; on a change, the fields given are '
        "replaced (blank: unchanged). Never shown again.",
    )

    class Meta:
        model = Credential
        fields = ["team", "name", "kind", "description"]

    def clean_values(self):
        text = self.cleaned_data.get("values") or ""
        if not text.strip():
            return None
        try:
            values = json.loads(text)
        except ValueError:
            raise forms.ValidationError("not JSON (the text is not shown back)") from None
        if not isinstance(values, dict):
            raise forms.ValidationError("a JSON object of the type's fields")
        return values

    def clean(self):
        """The values must fit the type (merged with the current ones on a change) and a key must encrypt them."""
        data = super().clean()
        values = data.get("values")
        if self.instance.pk is None or values:
            current = {}
            if self.instance.pk is not None:
                try:
                    current = self.instance.values()
                except crypto.Undecryptable:
                    current = {}
            try:
                check_values(data.get("kind") or self.instance.kind, {**current, **(values or {})})
            except BadValues as exc:
                self.add_error("values", str(exc))
            if not crypto.can_encrypt():
                self.add_error("values", str(crypto.KeyMissing()))
        return data


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ["name", "team", "kind", "description", "created", "rotated"]
    list_filter = ["kind", "team"]
    search_fields = ["name", "description", "team__name"]
    list_select_related = ["team"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["team", "name", "kind", "created", "rotated"]

    def save_model(self, request, obj, form, change):
        values = form.cleaned_data.get("values")
        try:
            if not change:
                made = actions.create(obj.team, obj.name, obj.kind, values or {}, request.user, obj.description)
                obj.pk = made.pk
                return
            obj.save(update_fields=["description"])
            if values:
                actions.rotate(obj, values, request.user)
        except actions.CredentialRefused as exc:
            # The admin has validated the form already: say why, without the values.
            self.message_user(request, f"Not saved: {exc.field}: {exc.message}", messages.ERROR)

    def delete_model(self, request, obj):
        actions.delete(obj, request.user)

    def delete_queryset(self, request, queryset):
        for credential in queryset:
            actions.delete(credential, request.user)
