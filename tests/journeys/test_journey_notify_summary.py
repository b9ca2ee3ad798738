"""Journey: the one line `monitor once` prints about its notifications counts notifications.

Newcomer trial: one incident whose GitHub notifier could not be reached printed `notifications:
0 sent, 5 to retry, 0 dead, 1 still queued`: five attempts of one event read as five
notifications waiting. The line now counts sent, dead and queued notifications and names the
failed attempts as attempts; the JSON keeps its documented `retry` (attempts) count.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.cli import prodshield
from support.net import answering, http_server, refused_port


def test_monitor_once_counts_notifications_not_attempts(tmp_path: Path) -> None:
    with http_server(answering(503)) as hook:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1}\n"
            "notifiers:\n"
            f"  ops: {{type: webhook, url: 'http://127.0.0.1:{hook}/hook'}}\n"
            "checks:\n"
            f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{refused_port()}/', timeout: 2s,"
            " alerts: [ops]}\n"
        )
        done = prodshield(tmp_path, "monitor", "once", "--format", "json", "--notify-wait", "6s")
    assert done.returncode == 1, done.stderr
    notes = json.loads(done.stdout)["notifications"]
    assert notes["sent"] == 0 and notes["pending"] == 1 and notes["retry"] >= 1, notes
    attempts = f"{notes['retry']} failed attempt" + ("s" if notes["retry"] > 1 else "")
    line = [x for x in done.stderr.splitlines() if x.startswith("notifications:")]
    assert line == [
        f"notifications: 0 sent, 0 dead, 1 still queued after {attempts}"
        " (`prodshield notify status` shows why)"
    ], done.stderr
    assert not re.search(r"\d+ to retry", done.stderr)
