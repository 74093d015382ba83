"""What the client makes of the transport's failures: which are worth a retry, and which error a
refusal or a give-up becomes. A refusal of the client's configuration (unknown model, refused
credentials) and an endpoint nothing answers at are `SearchStop`s: a search ends at them."""

from __future__ import annotations

import openai

from treeagent.agents.llm.types import (
    ContextLengthError,
    LLMError,
    LLMRequestError,
    LLMSetupError,
    LLMUnavailableError,
    LLMUnreachableError,
)

_TRANSIENT = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.RateLimitError,
    openai.InternalServerError,
)
#: HTTP statuses that mean the client's configuration is wrong, and what to check
_SETUP_HINTS = {
    401: "Check the API key (TREEAGENT_API_KEY).",
    403: "Check the API key (TREEAGENT_API_KEY).",
    404: "Check the model name (TREEAGENT_MODEL; BASE_URL/models lists the served ones) and the base URL.",
}
_CONTEXT_MARKERS = ("maximum context length", "max_model_len", "context length", "too long")


def is_transient(exc: BaseException) -> bool:
    """Connection errors, timeouts, 429 and 5xx: worth another attempt."""
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def refused(exc: openai.APIStatusError, what: str, base_url: str) -> LLMError:
    """The error a non-transient HTTP refusal becomes."""
    if isinstance(exc, openai.BadRequestError):
        message = str(exc.message)
        if any(marker in message.lower() for marker in _CONTEXT_MARKERS):
            return ContextLengthError(f"prompt too long for the model's context: {message}")
        return LLMRequestError(f"the server rejected the request: {message}")
    if exc.status_code in _SETUP_HINTS:
        return LLMSetupError(
            f"{base_url} refused the {what} (HTTP {exc.status_code}): {_reason(exc)} {_SETUP_HINTS[exc.status_code]}"
        )
    return LLMRequestError(f"{what}: HTTP {exc.status_code}: {exc.message}")


def given_up(exc: BaseException, what: str, endpoints: str) -> LLMError:
    """The error a transient failure becomes once the retries are spent."""
    if isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError):
        return LLMUnreachableError(
            f"{what} failed after retries: nothing answers at {endpoints}. "
            "Is the base URL right, and the server running (`treeagent serve`)?"
        )
    return LLMUnavailableError(
        f"{what} failed after retries ({type(exc).__name__}: {exc}); endpoints: {endpoints}. "
        "Is the server running (`treeagent serve`)? A vLLM engine that died answers 500s: see its log."
    )


def _reason(exc: openai.APIStatusError) -> str:
    """The server's own words for a refusal, without the client's "Error code: N - " wrapping."""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    text = str(message or exc.message).strip()
    return text if text.endswith((".", "!", "?")) else text + "."
