"""Configuration: the ``shield.yaml`` schema and its loader."""

from prodshield.config.loader import (
    LoadedConfig,
    Validator,
    find_config,
    load_config,
    parse_config,
)
from prodshield.config.schema import ShieldConfig
from prodshield.config.types import format_duration, parse_duration, parse_size

__all__ = [
    "LoadedConfig",
    "ShieldConfig",
    "Validator",
    "find_config",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
]
