"""The database battery: PostgreSQL resilience through the fault proxy.

1. Bank invariant (Jepsen's bank test): ``accounts`` rows with a fixed total, concurrent transfers
   and whole-table reads while a seeded fault schedule cycles (reset_peer, timeout, limit_data, down,
   latency). Every read must see the total, no negative balance, no unknown account, no NULL.
   Errors on a transfer whose outcome the client cannot know are counted as indeterminate.
2. Connection dropped mid-transaction: between two statements (the server must roll back and the
   client must get an error) and while COMMIT is in flight (all-or-nothing; reported as
   indeterminate, not as a failure).
3. Pool exhaustion: every pooled connection held by a toxic, request N+1 fails within the pool's
   acquire timeout, new requests work within 1 s once the toxic is gone, and ``pg_stat_activity``
   returns to its baseline (no leaked connections).

With ``service`` set, 1 and 3 drive a service's HTTP API instead of the battery's own client
(``POST /transfer``, ``GET /accounts``, ``GET /pool``; see examples/bank_service), so the battery
judges the service's database code; ``dsn`` is then used only to set up and inspect the database.

One module per concept: ``options``, ``schedule`` (the seeded faults), ``setup`` (proxy, direct
connections, accounts), ``banks`` (the two bank clients behind one protocol), one module per check
(``bank``, ``mid_transaction``, ``pool``) and ``run``.
"""

from prodshield.chaos.batteries.db.banks import check_read
from prodshield.chaos.batteries.db.options import DbOptions
from prodshield.chaos.batteries.db.run import run_db_battery, run_db_battery_async
from prodshield.chaos.batteries.db.schedule import fault_schedule

__all__ = ["DbOptions", "check_read", "fault_schedule", "run_db_battery", "run_db_battery_async"]
