"""llm.chat against a fake OpenAI-compatible server on 127.0.0.1."""

import json

import pytest

from registry.catalog import ComponentError
from tests.registry import builtin, reply, serve

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "tiny-1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}


def answers(status, payload):
    def respond(handler):
        reply(handler, status=status, body=json.dumps(payload).encode(), content_type="application/json")

    return respond


@pytest.fixture
def configure(settings):
    def configure(url, key="sk-test", model="tiny-1"):
        settings.OAWEB_LLM_BASE_URL = url + "/v1/"
        settings.OAWEB_LLM_API_KEY = key
        settings.OAWEB_LLM_MODEL = model

    return configure


def chat(**inputs):
    return builtin("llm.chat")(**inputs)


def test_chat_posts_a_chat_completion_and_returns_the_reply(configure):
    with serve(answers(200, COMPLETION)) as server:
        configure(server.url)
        result = chat(prompt="Say hello in French", system="Be brief", temperature=0.2, max_tokens=5)

    assert result == {"text": "Bonjour", "model": "tiny-1", "usage": COMPLETION["usage"]}
    [seen] = server.seen
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(seen.body) == {
        "model": "tiny-1",
        "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Say hello in French"}],
        "temperature": 0.2,
        "max_tokens": 5,
    }


def test_chat_sends_a_conversation_and_a_chosen_model(configure):
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Again"},
    ]
    with serve(answers(200, COMPLETION)) as server:
        configure(server.url)
        chat(messages=messages, model="bigger-2")

    assert json.loads(server.seen[0].body) == {"model": "bigger-2", "messages": messages}


def test_chat_sends_no_authorization_without_a_key(configure):
    with serve(answers(200, COMPLETION)) as server:
        configure(server.url, key="")
        chat(prompt="Hi")

    assert "Authorization" not in server.seen[0].headers


def test_chat_is_not_refused_by_the_address_guard(configure, settings):
    """The base URL is the operator's: a model server on 127.0.0.1 is fine."""
    settings.OAWEB_HTTP_ALLOW_PRIVATE = False
    with serve(answers(200, COMPLETION)) as server:
        configure(server.url)
        assert chat(prompt="Hi")["text"] == "Bonjour"


def test_chat_without_a_base_url_says_how_to_configure_it(settings):
    settings.OAWEB_LLM_BASE_URL = ""

    with pytest.raises(ComponentError) as caught:
        chat(prompt="Hi")

    assert str(caught.value) == (
        "llm.chat is not configured: set OAWEB_LLM_BASE_URL (and OAWEB_LLM_API_KEY, OAWEB_LLM_MODEL)"
    )


def test_chat_without_a_model_fails(configure):
    configure("http://127.0.0.1:9", model="")

    with pytest.raises(ComponentError, match="no model"):
        chat(prompt="Hi")


def test_an_error_status_fails_with_the_endpoints_message(configure):
    error = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
    with serve(answers(401, error)) as server:
        configure(server.url)
        with pytest.raises(ComponentError, match="returned HTTP 401: Incorrect API key provided"):
            chat(prompt="Hi")


def test_an_error_status_without_json_fails_with_the_body(configure):
    def respond(handler):
        reply(handler, status=502, body=b"Bad gateway from proxy")

    with serve(respond) as server:
        configure(server.url)
        with pytest.raises(ComponentError, match="returned HTTP 502: Bad gateway from proxy"):
            chat(prompt="Hi")


def test_an_answer_that_is_not_a_completion_fails(configure):
    with serve(answers(200, {"unexpected": True})) as server:
        configure(server.url)
        with pytest.raises(ComponentError, match="not a chat completion"):
            chat(prompt="Hi")


@pytest.mark.parametrize(
    "inputs",
    [{}, {"prompt": "a", "messages": [{"role": "user", "content": "b"}]}, {"messages": []}, {"messages": [{"x": 1}]}],
)
def test_chat_needs_either_a_prompt_or_messages(configure, inputs):
    configure("http://127.0.0.1:9")

    with pytest.raises(ComponentError, match="prompt|messages"):
        chat(**inputs)
