"""A delivery worker as its own process, for tests that kill it (``SIGKILL``) mid-delivery.

Usage: python notify_worker.py STORE_URL API_URL [--notifier gh|slack] [--lease S]
[--deadline S]. Delivers the outbox rows of the GitHub notifier ``gh`` (repo acme/platform, token
from $GITHUB_TOKEN) or of the Slack notifier ``slack`` (bot token from $SLACK_BOT_TOKEN, channel
#ops) and prints the delivery report as JSON.
"""

from __future__ import annotations

import argparse
import json
import os

from prodshield.config.notifiers import GitHubNotifierConfig, NotifierBase, SlackNotifierConfig
from prodshield.notify import deliver_pending
from prodshield.store import open_store


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("store_url")
    p.add_argument("api_url")
    p.add_argument("--lease", type=float, default=300.0)
    p.add_argument("--deadline", type=float, default=30.0)
    p.add_argument("--notifier", choices=["gh", "slack"], default="gh")
    args = p.parse_args()
    cfg: NotifierBase
    if args.notifier == "slack":
        cfg = SlackNotifierConfig(
            type="slack",
            token=os.environ["SLACK_BOT_TOKEN"],
            channel="#ops",
            api_url=args.api_url,
            timeout=60,
            backoff=0.1,
        )
    else:
        cfg = GitHubNotifierConfig(
            type="github",
            repo="acme/platform",
            token=os.environ["GITHUB_TOKEN"],
            api_url=args.api_url,
            timeout=60,
            backoff=0.1,
        )
    store = open_store(args.store_url)
    try:
        report = deliver_pending(
            store, {args.notifier: cfg}, deadline_s=args.deadline, lease_s=args.lease
        )
    finally:
        store.close()
    print(
        json.dumps(
            {
                "sent": report.sent,
                "retried": report.retried,
                "dead": report.dead,
                "pending": report.pending,
                "outcomes": [o.__dict__ for o in report.outcomes],
            }
        )
    )


if __name__ == "__main__":
    main()
