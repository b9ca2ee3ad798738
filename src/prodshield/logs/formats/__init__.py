"""Log formats: one module per format, each a ``FORMAT`` implementing ``base.LogFormat``.

``REGISTRY`` is the explicit list; its order breaks detection ties (the more specific format
first). ``layout.py`` compiles the layouts a source declares (nginx ``log_format``, Apache
``LogFormat``) and ``access.py`` is the access-log parsing nginx and Apache share; neither is a
member. Detection and lookup by name: ``registry.py``.
"""

from prodshield.logs.formats import (
    apache,
    bgl,
    cbs,
    hdfs,
    healthapp,
    hpc,
    journald,
    json_lines,
    logcat,
    logfmt,
    mysql_slow,
    nginx,
    openstack,
    postgres,
    proxifier,
    python,
    raw,
    spark,
    syslog,
    thunderbird,
)
from prodshield.logs.formats.base import LogFormat

REGISTRY: dict[str, LogFormat] = {
    f.type: f
    for f in (
        journald.FORMAT,
        json_lines.FORMAT,
        nginx.FORMAT,
        apache.FORMAT,
        postgres.FORMAT,
        mysql_slow.FORMAT,
        hdfs.FORMAT,
        spark.FORMAT,
        openstack.FORMAT,
        logcat.FORMAT,
        bgl.FORMAT,
        cbs.FORMAT,
        thunderbird.FORMAT,
        hpc.FORMAT,
        healthapp.FORMAT,
        proxifier.FORMAT,
        syslog.FORMAT,
        python.FORMAT,
        logfmt.FORMAT,
        raw.FORMAT,
    )
}

__all__ = ["REGISTRY", "LogFormat"]
