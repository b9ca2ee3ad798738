"""OpenAI and Anthropic API keys (OpenAI keys carry ``T3BlbkFJ``, the base64 of "OpenAI")."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule

RULES = (
    RegexRule(
        id="openai-api-key",
        kind="openai_api_key",
        severity="high",
        keywords=("t3blbkfj",),
        pattern=re.compile(
            r"(?<![\w-])sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{16,200}T3BlbkFJ[A-Za-z0-9_-]{16,200}(?![\w-])"
        ),
        description="OpenAI API key",
        confidence=0.98,
    ),
    RegexRule(
        id="anthropic-api-key",
        kind="anthropic_api_key",
        severity="high",
        keywords=("sk-ant-",),
        pattern=re.compile(r"(?<![\w-])sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,120}(?![\w-])"),
        description="Anthropic API key",
        confidence=0.97,
    ),
)
