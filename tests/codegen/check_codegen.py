"""ariadne-codegen beside pytest-logscale: generate a client from the served schema, use it.

Run by noxfile.py's ``codegen`` session in an environment made by
``pip install pytest-logscale ariadne-codegen``. It starts a fake, lets
ariadne-codegen introspect it over HTTP (as a user pointing it at LogScale
would), generates a typed client for ``queries.graphql`` and runs a query and a
mutation through it against the fake. Exits non-zero on any difference.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_logscale import FakeLogScale

HERE = Path(__file__).parent


def main() -> int:
    with FakeLogScale() as fake, tempfile.TemporaryDirectory(prefix="logscale-codegen-") as out:
        config = Path(out) / "codegen.toml"
        config.write_text(
            "[tool.ariadne-codegen]\n"
            f"remote_schema_url = {json.dumps(fake.graphql_url)}\n"
            f'remote_schema_headers = {{"Authorization" = {json.dumps("Bearer " + fake.token)}}}\n'
            f"queries_path = {json.dumps(str(HERE / 'queries.graphql'))}\n"
            'target_package_name = "logscale_client"\n'
            f"target_package_path = {json.dumps(out)}\n"
            "async_client = false\n"
        )
        subprocess.run(["ariadne-codegen", "--config", str(config)], check=True, cwd=out)
        sys.path.insert(0, out)
        client_module = importlib.import_module("logscale_client")
        client = client_module.Client(
            url=fake.graphql_url, headers={"Authorization": f"Bearer {fake.token}"}
        )
        page = client.first_sessions(limit=3)
        expected = fake.execute(
            "{ sessions(limit: 3) { totalResults results { id ip isCurrentSession"
            " user { username } } } }"
        )["data"]["sessions"]
        sessions = page.sessions
        assert sessions.total_results == expected["totalResults"], (sessions, expected)
        assert [(r.id, r.ip, r.is_current_session, r.user.username) for r in sessions.results] == [
            (r["id"], r["ip"], r["isCurrentSession"], r["user"]["username"])
            for r in expected["results"]
        ]
        victim = next(r.id for r in sessions.results if not r.is_current_session)
        assert client.revoke(id=victim).revoke_session is True
        assert fake.journal[-1].operation_name == "Revoke", fake.journal[-1]
        print(f"ariadne-codegen client: {sessions.total_results} sessions, revoked {victim}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
