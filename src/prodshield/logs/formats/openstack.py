"""``openstack``: OpenStack services' oslo.log lines (nova, neutron, cinder, keystone...)::

    2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b-... 113d3a... 54fadb... - - -] 10.11.10.1 "GET /v2/..." status: 200

oslo.log's ``logging_context_format_string`` (``%(asctime)s.%(msecs)03d %(process)d
%(levelname)s %(name)s [%(request_id)s %(user_identity)s] %(instance)s%(message)s``) and its
default format (``[-]`` for the context). A line may start with the name of the file it came from
(``nova-api.log.1.2017-05-16_13:53:08 2017-05-16 ...``, as collections of several services'
logs such as Loghub's keep it); it is kept as the ``file`` field. The time has no zone: local
time, as in the other formats. Stack traces under a line join it.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, norm_level, parse_iso

_LINE = re.compile(
    r"(?:(?P<file>[A-Za-z_][\w.:-]*) )?"
    r"(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}) (?P<pid>\d+) "
    r"(?P<level>TRACE|DEBUG|INFO|AUDIT|WARNING|ERROR|CRITICAL) (?P<logger>[\w.-]+) "
    r"(?:\[(?P<ctx>[^\]]*)\] ?)?(?P<msg>.*)$"
)


class OpenStackFormat(LineFormat):
    pattern = _LINE
    type = "openstack"
    example: dict[str, Any] = {
        "lines": [
            "2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server "
            "[req-38101a0b-2096-447d-96ea-a692162415ae 113d3a99c3da401fbd62cc2caa5b96d2 "
            '54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/'
            'servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829',
            "2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [-] [instance: "
            "b9000564-fe1a-409b-b8cc-1e88b294cd1d] During sync_power_state the instance has a "
            "pending task (spawning). Skip.",
            "2017-05-16 00:00:05.185 2931 ERROR nova.compute.manager [req-3ea4052c-895d-4b64-9e2d"
            "-04d64c4d94ab - - - - -] [instance: 3edec1e4-9678-4a3a-a21b-a145a4ee5e61] Instance "
            "failed to spawn",
        ]
    }
    description = "OpenStack oslo.log lines (time.ms pid LEVEL logger [request context] message)"
    multiline = True

    def record(self, m: re.Match[str]) -> Record | None:
        fields: dict[str, Any] = {"pid": int(m.group("pid")), "logger": m.group("logger")}
        ctx = m.group("ctx")
        if ctx and ctx.startswith("req-"):
            fields["request_id"] = ctx.split(" ", 1)[0]
        if m.group("file"):
            fields["file"] = m.group("file")
        level = "info" if m.group("level") == "AUDIT" else norm_level(m.group("level"))
        return Record(m.group("msg"), parse_iso(m.group("ts")), level, fields)


FORMAT = OpenStackFormat()
