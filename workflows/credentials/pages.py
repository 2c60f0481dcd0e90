"""The Credentials pages: a team's credentials listed, created, rotated and deleted; no value is ever rendered.

A secret field is a password input that is never filled in: after a refused
form its text is gone, not sent back. The rules and the audit are the
actions' (actions.py), as for the API.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from workflows.credentials import actions
from workflows.credentials.models import Credential
from workflows.credentials.types import TYPES
from workflows.models import Team

DEFAULT_KIND = "bearer"


def get_credential_for(user, credential_id) -> Credential:
    """One of the user's teams' credentials (staff: any), else 404: another team's doesn't exist for them."""
    return get_object_or_404(Credential.objects.visible_to(user).select_related("team"), pk=credential_id)


def teams_of(user):
    return Team.objects.all() if user.is_staff else user.teams.all()


def field_rows(kind: str, posted=None, creating: bool = False) -> list[dict]:
    """The form's inputs for a type: secret ones are never filled in again.

    `creating`: the type's required fields are required in the form; a rotation keeps what is left blank.
    """
    credential_type = TYPES[kind]
    return [
        {
            "name": name,
            "input": f"value-{name}",
            "secret": name in credential_type.secret,
            "required": creating and name in credential_type.required,
            "description": schema.get("description", ""),
            "value": "" if posted is None or name in credential_type.secret else posted.get(f"value-{name}", ""),
        }
        for name, schema in credential_type.schema["properties"].items()
    ]


def posted_values(request, kind: str, keep_blank: bool = False) -> dict:
    values = {name: request.POST.get(f"value-{name}", "") for name in TYPES[kind].fields}
    return {name: value for name, value in values.items() if value or keep_blank}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def credential_list(request):
    kind = request.POST.get("kind") or request.GET.get("kind") or DEFAULT_KIND
    kind = kind if kind in TYPES else DEFAULT_KIND
    context = {"nav": "credentials", "kind": kind, "kind_type": TYPES[kind], "types": TYPES, "errors": [], "form": {}}
    status = 200
    if request.method == "POST":
        try:
            team = actions.team_for(request.user, request.POST.get("team") or None)
            credential = actions.create(
                team,
                request.POST.get("name", "").strip(),
                kind,
                posted_values(request, kind),
                request.user,
                request.POST.get("description", "").strip(),
            )
        except actions.CredentialRefused as exc:
            context["errors"] = [f"{exc.field}: {exc.message}"]
            context["form"] = {key: request.POST.get(key, "") for key in ("team", "name", "description")}
            status = 400
        else:
            messages.success(
                request, f"Credential {credential.name} saved: steps read it as {{{{ secrets.{credential.name} }}}}."
            )
            return redirect("credential-list")
    context["fields"] = field_rows(kind, request.POST if request.method == "POST" else None, creating=True)
    context["teams"] = teams = list(teams_of(request.user))
    context["team_options"] = [(team.name, team.name) for team in teams]  # for templates/_form_row.html
    context["credentials"] = Credential.objects.visible_to(request.user).select_related("team", "created_by")
    return render(request, "credentials/list.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def credential_detail(request, credential_id):
    """A credential's settings, and the form that rotates its values (blank fields keep theirs)."""
    credential = get_credential_for(request.user, credential_id)
    errors, status = [], 200
    if request.method == "POST":
        try:
            values = posted_values(request, credential.kind)
            if not values:
                raise actions.CredentialRefused("values", "give at least one new value")
            actions.rotate(credential, values, request.user)
        except actions.CredentialRefused as exc:
            errors, status = [f"{exc.field}: {exc.message}"], 400
        else:
            messages.success(request, f"Credential {credential.name} rotated: steps use the new values from now on.")
            return redirect("credential-detail", credential.pk)
    settings = credential.settings()
    context = {
        "nav": "credentials",
        "credential": credential,
        "fields": [{**row, "setting": settings.get(row["name"], "")} for row in field_rows(credential.kind)],
        "errors": errors,
    }
    return render(request, "credentials/detail.html", context, status=status)


@login_required
@require_POST
def credential_delete(request, credential_id):
    credential = get_credential_for(request.user, credential_id)
    actions.delete(credential, request.user)
    messages.success(request, f"Credential {credential.name} deleted: steps that read it now fail.")
    return redirect("credential-list")
