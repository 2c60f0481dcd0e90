"""http.request and llm.chat with a credential: what they send, where they send it, and the env fallback kept."""

import json

import pytest

from registry.catalog import ComponentError
from tests.registry import builtin, reply, serve

COMPLETION = {"model": "m-1", "choices": [{"message": {"content": "hi"}}], "usage": {}}


@pytest.fixture(autouse=True)
def local(settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True  # the servers listen on 127.0.0.1


@pytest.mark.parametrize(
    "credential, header, value",
    [
        ({"token": "tok-1234"}, "Authorization", "Bearer tok-1234"),
        ({"username": "svc", "password": "pw-1234"}, "Authorization", "Basic c3ZjOnB3LTEyMzQ="),
        ({"header": "X-API-Key", "value": "key-1234"}, "X-API-Key", "key-1234"),
    ],
)
def test_http_request_sends_each_kind_of_credential(credential, header, value):
    with serve(lambda handler: reply(handler, body=b"{}")) as server:
        builtin("http.request")(url=server.url + "/x", credential=credential)

    assert server.seen[0].headers[header] == value


def test_a_redirect_to_another_origin_does_not_take_the_credential():
    with serve(lambda handler: reply(handler, body=b"elsewhere")) as other:
        target = other.url.replace("127.0.0.1", "localhost") + "/landing"

        def redirect(handler):
            reply(handler, status=302, headers={"Location": target})

        with serve(redirect) as first:
            result = builtin("http.request")(url=first.url, credential={"header": "X-API-Key", "value": "key-1234"})

    assert result["text"] == "elsewhere"
    assert first.seen[0].headers["X-API-Key"] == "key-1234"
    assert other.seen[0].headers["X-API-Key"] is None


def test_http_request_refuses_what_is_not_a_credential():
    with pytest.raises(ComponentError, match="bearer, basic or header"):
        builtin("http.request")(url="http://127.0.0.1:9/", credential={"api_key": "x"})


def answers(handler):
    reply(handler, body=json.dumps(COMPLETION).encode(), content_type="application/json")


def test_llm_chat_takes_its_endpoint_key_and_model_from_the_credential(settings):
    settings.OAWEB_LLM_BASE_URL, settings.OAWEB_LLM_API_KEY, settings.OAWEB_LLM_MODEL = "", "", ""
    with serve(answers) as server:
        credential = {"api_key": "sk-cred-1234", "base_url": server.url + "/v1", "model": "m-1"}
        assert builtin("llm.chat")(prompt="hello", credential=credential)["text"] == "hi"

    [seen] = server.seen
    assert seen.path == "/v1/chat/completions" and seen.headers["Authorization"] == "Bearer sk-cred-1234"
    assert json.loads(seen.body)["model"] == "m-1"


def test_llm_chat_keeps_the_operators_settings_without_a_credential(settings):
    with serve(answers) as server:
        settings.OAWEB_LLM_BASE_URL, settings.OAWEB_LLM_API_KEY, settings.OAWEB_LLM_MODEL = server.url, "sk-env", "m"
        builtin("llm.chat")(prompt="hello")
        # A credential without an endpoint uses the operator's, with its own key.
        builtin("llm.chat")(prompt="hello", credential={"api_key": "sk-cred-1234"})

    assert [seen.headers["Authorization"] for seen in server.seen] == ["Bearer sk-env", "Bearer sk-cred-1234"]


def test_a_credentials_endpoint_is_behind_the_address_guard(settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = False
    with serve(answers) as server:
        with pytest.raises(ComponentError, match="loopback"):
            builtin("llm.chat")(
                prompt="hello", credential={"api_key": "sk-cred-1234", "base_url": server.url, "model": "m"}
            )
    assert server.seen == []
