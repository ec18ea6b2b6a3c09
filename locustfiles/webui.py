"""coldbench in Locust's web UI: two tabs, a page, and the session's reports.

Locust's UI takes extra tabs whose tables it fills from ``extended_stats`` in its
``/stats/requests`` answer (polled every two seconds): "coldbench: cold starts" (the
test in progress, :class:`LiveStats`) and "coldbench: runs" (this session's runs and
where their reports are). Locust's tables show text only, so ``/coldbench/`` is a page of
the same tables with links, and ``/coldbench/reports/<run>/index.html`` serves each
report the ``coldbench ui`` process renders once a test stops.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask import Response, render_template_string, request, send_from_directory

from coldbench.locustfiles.live import COLD_TAB, RUNS_TAB, TABLES, LiveStats, runs_table

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>coldbench</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;
margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
td:first-child,th:first-child{text-align:left}</style></head><body>
<h1>coldbench</h1>
<h2>Cold starts in the test in progress (from the probe headers)</h2>
<table><tr>{% for c in cold_columns %}<th>{{ c.title }}</th>{% endfor %}</tr>
{% for row in cold %}<tr>{% for c in cold_columns %}<td>{{ row.get(c.key, "") }}</td>
{% endfor %}</tr>{% endfor %}</table>
<h2>This session's runs</h2>
<table><tr><th>Run</th><th>State</th><th>Requests</th><th>Cold starts</th><th>Report</th></tr>
{% for r in runs %}<tr><td>{{ r.run }}</td><td>{{ r.state }}</td><td>{{ r.requests }}</td>
<td>{{ r.get("cold_starts", "") }}</td>
<td>{% if r.report %}<a href="{{ r.report }}">report</a>{% endif %}</td></tr>{% endfor %}
</table><p><a href="/">back to Locust</a></p></body></html>"""


def attach(web_ui, live: LiveStats, session_runs: Callable[[], list[Path]], reports: Path) -> None:
    """Add the tabs, the page and the report routes to Locust's web UI."""
    web_ui.template_args["extendedTabs"] = [COLD_TAB, RUNS_TAB]
    web_ui.template_args["extendedTables"] = TABLES
    app = web_ui.app

    def runs() -> list[dict]:
        return runs_table(session_runs(), reports, request.host_url.rstrip("/"))

    @app.after_request
    def _with_coldbench(response: Response) -> Response:
        if request.path != "/stats/requests" or response.status_code != 200:
            return response
        data = json.loads(response.get_data())
        data["extended_stats"] = [
            {"key": COLD_TAB["key"], "data": live.table()},
            {"key": RUNS_TAB["key"], "data": runs()},
        ]
        response.set_data(json.dumps(data))
        return response

    @app.route("/coldbench/")
    def _page() -> str:
        return render_template_string(
            PAGE, cold=live.table(), cold_columns=TABLES[0]["structure"], runs=runs()
        )

    @app.route("/coldbench/reports/<path:name>")
    def _report(name: str) -> Response:
        return send_from_directory(reports.resolve(), name)
