"""A step's error never holds a URL's password: errors are for people, and people paste them around."""

from tests.conftest import run_definition
from tests.server import free_port


def one_step(slug: str, step: dict) -> dict:
    return {"id": slug, "steps": [{"id": "call", **step}]}


def test_a_components_error_loses_the_urls_credentials(workers):
    message = "could not reach https://bot:hunter2@api.example.com/v1"
    run = run_definition(one_step("leaky-error", {"component": "test.raise", "inputs": {"message": message}}))

    step = run.steps.get(step_id="call")
    assert run.status == "failed"
    assert "https://***@api.example.com/v1" in step.error
    assert "hunter2" not in step.error and "bot" not in step.error
    assert [attempt.error for attempt in step.attempts.all()] == [step.error]


def test_http_request_to_a_refusing_server_names_the_url_without_its_password(workers, settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True  # the embedded worker; runworker processes have it already
    url = f"http://user:s3cretpw@127.0.0.1:{free_port()}/"  # nothing listens there
    step = {"component": "http.request", "inputs": {"url": url}, "retry": {"max_attempts": 1}}
    run = run_definition(one_step("leaky-http", step))

    step = run.steps.get(step_id="call")
    assert run.status == "failed"
    assert "s3cretpw" not in step.error
    assert f"http://***@127.0.0.1:{url.rsplit(':', 1)[1]}" in step.error
    # The recorded inputs keep the URL whole: a re-run needs it.
    assert step.inputs["url"] == url
