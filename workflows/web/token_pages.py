"""The API tokens page: a user's own tokens, issued and revoked as the API does.

A new token's secret is rendered once, in the answer to the POST that issued
it: never in the session, the URL or a later page (only its digest is kept).
Validation is the API's own (TokenCreateSerializer) and issuing/revoking are
the model's (ApiToken.issue / revoke): nothing here is a second rule.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from workflows.api.serializers import TokenCreateSerializer
from workflows.tokens import ApiToken


def get_token_for(user, token_id) -> ApiToken:
    """One of `user`'s own tokens, else 404: tokens are personal, staff included."""
    try:
        return ApiToken.objects.get(pk=token_id, user=user)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404("no such token") from None


def form_errors(errors: dict) -> list[str]:
    """A serializer's {field: [messages]} as lines for people."""
    return [
        str(message) if field == "non_field_errors" else f"{field}: {message}"
        for field, field_messages in errors.items()
        for message in field_messages
    ]


@never_cache  # the POST answer carries a secret: no cache may keep it
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    context = {"nav": "tokens", "name": "", "errors": [], "new_token": None, "secret": None}
    status = 200
    if request.method == "POST":
        body = TokenCreateSerializer(data={"name": request.POST.get("name", "")})
        if body.is_valid():
            context["new_token"], context["secret"] = ApiToken.issue(request.user, body.validated_data["name"])
        else:
            context.update(name=request.POST.get("name", ""), errors=form_errors(body.errors))
            status = 400
    context["tokens"] = ApiToken.objects.filter(user=request.user)
    return render(request, "tokens/list.html", context, status=status)


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_token_for(request.user, token_id)
    token.revoke()
    messages.success(request, f"Token {token.name or token.prefix + '…'} revoked: it no longer authenticates.")
    return redirect("token-list")
