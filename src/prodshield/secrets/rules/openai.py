"""OpenAI and Anthropic API keys (OpenAI keys carry ``T3BlbkFJ``, the base64 of "OpenAI")."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule

RULES = (
    RegexRule(
        type="openai-api-key",
        kind="openai_api_key",
        severity="high",
        keywords=("t3blbkfj",),
        pattern=re.compile(
            r"(?<![\w-])sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{16,200}T3BlbkFJ[A-Za-z0-9_-]{16,200}(?![\w-])"
        ),
        description="OpenAI API key",
        confidence=0.98,
        example={
            "text": "OPENAI_API_KEY=sk-proj-r0U5MUBkwmEbIZ0k70qWpO0bF3G6mvvrmlETKaCKT3BlbkFJF9AkJnexSJ8VHoAWLVsP65ZkcdraWwz9g4bNRy5V"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="anthropic-api-key",
        kind="anthropic_api_key",
        severity="high",
        keywords=("sk-ant-",),
        pattern=re.compile(r"(?<![\w-])sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,120}(?![\w-])"),
        description="Anthropic API key",
        confidence=0.97,
        example={
            "text": "ANTHROPIC_API_KEY=sk-ant-api03-DDllIEGEM5rmGoDtcAY62dggpUC3gBPnt-PtiWuRqkaRrgwffxyCBZNbR4x292nSygcb8ebr32VhbMpN8wH06i0vsgnC8AA"  # prodshield:allow (a rule sample)
        },
    ),
)
