"""Who sees what: a user sees their teams' workflows and what belongs to them; staff see all."""


def in_team(user, team_id: int) -> bool:
    """Whether `user` belongs to the team: staff see every team's runs, but deciding a run's approval asks this."""
    return user.is_authenticated and user.is_active and user.teams.filter(pk=team_id).exists()


def visible_to(queryset, user, team_path: str = "team"):
    """The rows of `queryset` that `user` may see: their teams' (the team at `team_path`); staff see all.

    The one ownership rule: workflows (team_path "team"), and what belongs to
    a workflow, its runs, schedules and webhooks ("workflow__team"), use it.
    Anonymous and inactive users see nothing.
    """
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_staff:
        return queryset
    return queryset.filter(**{f"{team_path}__members": user})
