"""Azure storage account keys and SAS/Service Bus keys inside connection strings."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule, b64decode_loose


def _account_key(value: str) -> float | None:
    raw = b64decode_loose(value)
    return 0.98 if raw is not None and len(raw) == 64 else None


def _shared_access_key(value: str) -> float | None:
    raw = b64decode_loose(value)
    return 0.95 if raw is not None and len(raw) == 32 else None


RULES = (
    RegexRule(
        type="azure-storage-account-key",
        kind="azure_storage_key",
        severity="critical",
        keywords=("accountkey",),
        pattern=re.compile(r"(?i:AccountKey)\s*=\s*(?P<value>[A-Za-z0-9+/]{86}==)"),
        description="Azure storage account key (connection string)",
        validate=_account_key,
        example={
            "text": "DefaultEndpointsProtocol=https;AccountName=acctqxul;AccountKey=gBGRf2ua4xO8VDKYbHva5LkfExEhl4JKzUOBUmSc88a0YMTMJg65rS6ydsFBB0JP0h8OH2dZpN6a7/edTThZ1g==;EndpointSuffix=core.windows.net"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="azure-shared-access-key",
        kind="azure_shared_access_key",
        severity="high",
        keywords=("sharedaccesskey",),
        pattern=re.compile(r"(?i:SharedAccessKey)\s*=\s*(?P<value>[A-Za-z0-9+/]{43}=)"),
        description="Azure Service Bus / Event Hubs shared access key",
        validate=_shared_access_key,
        example={
            "text": "Endpoint=sb://shop.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=goKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoI="  # prodshield:allow (a rule sample)
        },
    ),
)
