"""llm.chat: one call to an OpenAI-compatible chat-completions endpoint.

The endpoint, key and model come from the step's `credential` (issue 20: an
"openai" credential of its team, `{{ secrets.NAME }}`), else from the
operator's OAWEB_LLM_* settings.
"""

import httpx
from django.conf import settings

from registry.catalog import ComponentError, component
from registry.netguard import GuardedTransport

NOT_CONFIGURED = "llm.chat is not configured: set OAWEB_LLM_BASE_URL (and OAWEB_LLM_API_KEY, OAWEB_LLM_MODEL)"
ROLES = ("system", "user", "assistant")
EXCERPT_CHARS = 300

MESSAGE = {
    "type": "object",
    "properties": {"role": {"type": "string", "enum": list(ROLES)}, "content": {"type": "string"}},
    "required": ["role", "content"],
}

INPUTS = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "description": "The user's message (or give `messages`)."},
        "system": {"type": "string", "description": "A system message put first."},
        "messages": {"type": "array", "items": MESSAGE, "description": "A conversation, instead of `prompt`."},
        "model": {"type": "string", "description": "OAWEB_LLM_MODEL when unset."},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "max_tokens": {"type": "integer", "minimum": 1},
        # Issue 20: the engine checks the credential's type (workflows/definitions/secret_checks.py).
        "credential": {
            "type": "object",
            "x-oaweb-credential": ["openai"],
            "description": "An OpenAI-compatible endpoint credential, `{{ secrets.NAME }}` (else OAWEB_LLM_*).",
        },
    },
    "additionalProperties": False,
}

OUTPUTS = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "The reply."},
        "model": {"type": "string", "description": "The model that answered."},
        "usage": {"type": "object", "description": "Token counts as the endpoint reports them."},
    },
    "required": ["text", "model", "usage"],
}


@component("llm.chat", kind="agent", inputs=INPUTS, outputs=OUTPUTS, tags=("llm",))
class LlmChat:
    """Ask a chat model (OpenAI-compatible endpoint set in OAWEB_LLM_* settings) and return its reply."""

    def __init__(self):
        # One client per worker process: connections to the endpoint are reused.
        # No address guard here: the base URL is set by the operator, not by a
        # workflow author, and is often a model server on the private network.
        self.client = httpx.Client()
        # A credential's endpoint is a team member's choice: behind the address guard, as http.request is.
        self.guarded = httpx.Client(transport=GuardedTransport(), trust_env=False)

    def __call__(
        self,
        prompt: str | None = None,
        system: str | None = None,
        messages: list | None = None,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        credential: dict | None = None,
    ) -> dict:
        credential = checked_credential(credential)
        base_url = credential.get("base_url") or settings.OAWEB_LLM_BASE_URL
        if not base_url:
            raise ComponentError(NOT_CONFIGURED)
        model = model or credential.get("model") or settings.OAWEB_LLM_MODEL
        if not model:
            raise ComponentError("llm.chat: no model: give `model` or set OAWEB_LLM_MODEL")
        payload = {"model": model, "messages": conversation(prompt, system, messages)}
        if temperature is not None:
            payload["temperature"] = temperature
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        api_key = credential.get("api_key") or settings.OAWEB_LLM_API_KEY
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        url = base_url.rstrip("/") + "/chat/completions"
        client = self.guarded if credential.get("base_url") else self.client
        try:
            response = client.post(url, json=payload, headers=headers, timeout=settings.OAWEB_LLM_TIMEOUT)
        except httpx.TimeoutException:
            raise ComponentError(f"llm.chat: {url} timed out after {settings.OAWEB_LLM_TIMEOUT} s") from None
        except httpx.HTTPError as exc:
            raise ComponentError(f"llm.chat: {url} failed: {exc}") from None
        if response.status_code >= 400:
            raise ComponentError(f"llm.chat: {url} returned HTTP {response.status_code}: {error_message(response)}")
        return reply(response, model)


def checked_credential(credential) -> dict:
    """The credential's fields ({} without one); an "openai" credential has an `api_key`."""
    if credential is None:
        return {}
    if not isinstance(credential, dict) or not isinstance(credential.get("api_key"), str):
        raise ComponentError("llm.chat: `credential` must be an OpenAI-compatible endpoint credential")
    return credential


def conversation(prompt, system, messages) -> list[dict]:
    """The messages to send: the system message first, then the prompt or the given conversation."""
    if (prompt is None) == (messages is None):
        raise ComponentError("llm.chat: give either `prompt` or `messages`")
    if messages is not None:
        if not isinstance(messages, list) or not all(is_message(message) for message in messages) or not messages:
            raise ComponentError(
                "llm.chat: `messages` must be a non-empty list of {role, content} "
                f"with role one of {', '.join(ROLES)}"
            )
        turns = [{"role": message["role"], "content": message["content"]} for message in messages]
    else:
        turns = [{"role": "user", "content": prompt}]
    if system is not None:
        turns.insert(0, {"role": "system", "content": system})
    return turns


def is_message(message) -> bool:
    return isinstance(message, dict) and message.get("role") in ROLES and isinstance(message.get("content"), str)


def error_message(response: httpx.Response) -> str:
    """The endpoint's own message (OpenAI puts it in error.message), else the start of the body."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    return " ".join(response.text.split())[:EXCERPT_CHARS] or "(empty body)"


def reply(response: httpx.Response, model: str) -> dict:
    try:
        data = response.json()
        text = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        excerpt = " ".join(response.text.split())[:EXCERPT_CHARS]
        raise ComponentError(f"llm.chat: the endpoint's answer is not a chat completion: {excerpt}") from None
    if text is None:  # a model that answered with tool calls only
        text = ""
    if not isinstance(text, str):
        raise ComponentError(f"llm.chat: the reply's content is a {type(text).__name__}, not text")
    usage = data.get("usage")
    return {
        "text": text,
        "model": data.get("model") or model,
        "usage": usage if isinstance(usage, dict) else {},
    }
