"""Configuration: the ``shield.yaml`` schema and its loader."""

from prodshield.config.loader import (
    LoadedConfig,
    find_config,
    load_config,
    parse_config,
    register_validator,
)
from prodshield.config.schema import ShieldConfig
from prodshield.config.types import format_duration, parse_duration, parse_size

__all__ = [
    "LoadedConfig",
    "ShieldConfig",
    "find_config",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
    "register_validator",
]
