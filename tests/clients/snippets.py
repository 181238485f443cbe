"""The documented snippets kept as files in tests/data/clients, and how the tests fill them in.

Only the URL and the token are ever filled in: by substitution into the text for
Perl, through the environment for Node.js.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

CLIENTS = Path(__file__).parent.parent / "data" / "clients"
PRINT_JSON = CLIENTS / "print-json.js"


def client_file(name: str) -> str:
    """The text of a snippet file."""
    return (CLIENTS / name).read_text(encoding="utf-8")


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new``, which must occur exactly once."""
    count = text.count(old)
    assert count == 1, f"expected {old!r} once, found it {count} times"
    return text.replace(old, new)


def fill_perl(code: str, url: str, token: str) -> str:
    """A documented Perl snippet with the fake's URL and a token in place of the placeholders."""
    code = replace_once(code, "'$YOUR_LOGSCALE_URL/graphql'", f"'{url}/graphql'")
    return replace_once(code, 'my $TOKEN = "TOKEN";', f'my $TOKEN = "{token}";')


def node_env(url: str, token: str) -> dict[str, str]:
    """The environment the adapted Node.js snippets read the fake's address and token from."""
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None, url
    return {"LOGSCALE_HOST": address.hostname, "LOGSCALE_PORT": str(address.port), "TOKEN": token}
