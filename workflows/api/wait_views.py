"""Ending waiting steps through the API: a person's decision on an approval, and an event posted to a run."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from workflows import services
from workflows.api import serializers as api
from workflows.api.errors import Conflict
from workflows.api.schema import ERROR
from workflows.execution.models import Run, StepRun
from workflows.visibility import in_team

NOT_WAITING = OpenApiResponse(ERROR, description="the step (or no step of the run) is waiting for this")


def _step(request, run_id: int, step_id: str) -> StepRun:
    run = get_object_or_404(Run.objects.visible_to(request.user).only("pk"), pk=run_id)
    return get_object_or_404(StepRun.objects.filter(run=run).select_related("run__workflow"), step_id=step_id)


def _decide(request, run_id: int, step_id: str, approved: bool) -> Response:
    step = _step(request, run_id, step_id)
    if not in_team(request.user, step.run.workflow.team_id):  # staff of another team see the run, and only see it
        raise PermissionDenied("only the run's team decides its approvals")
    comment = api.DecisionSerializer(data=request.data)
    comment.is_valid(raise_exception=True)
    try:
        services.decide(
            step, approved, by=request.user.get_username(), comment=comment.validated_data["comment"], user=request.user
        )
    except services.WaitRefused as refused:
        raise Conflict(str(refused)) from None
    step.refresh_from_db()
    return Response(api.StepDetailSerializer(step).data)


DECISION_SCHEMA = {
    "tags": ["runs"],
    "request": api.DecisionSerializer,
    "responses": {
        200: api.StepDetailSerializer,
        403: OpenApiResponse(ERROR, description="staff of another team: only the run's team decides"),
        409: NOT_WAITING,
    },
}


@extend_schema(summary="Approve a waiting core.approval step", **DECISION_SCHEMA)
@api_view(["POST"])
def approve(request, id, step):
    return _decide(request, id, step, approved=True)


@extend_schema(summary="Reject a waiting core.approval step", **DECISION_SCHEMA)
@api_view(["POST"])
def reject(request, id, step):
    return _decide(request, id, step, approved=False)


@extend_schema(
    tags=["runs"],
    summary="Post a named event to a run: the steps waiting for it (core.wait_for_event) end with its payload",
    description="The JSON body is the payload, any JSON value. An event no step waits for yet is kept for the "
    "first step of the run that will wait for that name (`kept`: true). Refused (409) when the run has ended, "
    "or holds OAWEB_MAX_POSTED_EVENTS events no step took yet.",
    request=OpenApiTypes.ANY,
    responses={202: api.EventDeliveredSerializer, 409: NOT_WAITING},
)
@api_view(["POST"])
def post_event(request, id, name):
    run = get_object_or_404(Run.objects.visible_to(request.user), pk=id)
    try:
        delivered, kept = services.post_event(run, name, request.data)
    except services.WaitRefused as refused:
        raise Conflict(str(refused)) from None
    answer = {"run": run.pk, "event": name, "delivered": delivered, "kept": kept}
    return Response(api.EventDeliveredSerializer(answer).data, status=status.HTTP_202_ACCEPTED)
