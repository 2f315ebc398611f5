"""Schemathesis hooks for the contract run (scripts/contract/run.sh).

Two things the stock run cannot know about this API:

1. Credentials that the run itself revokes. DELETE /api/tokens revokes every token of the caller,
   a new password (PATCH /api/users/{id}) revokes them too, and DELETE /api/users/{id} deletes the
   caller. A fixed Authorization header would turn the rest of the run into 401s, so the token is
   fetched again every second: by logging in, or by registering a new user when the old one is gone
   or its password was changed.

2. Refusals that a schema cannot express; each is one check exception with its reason
   (see positive_data_acceptance_with_reasons below and schemathesis.toml).
"""

import json
import os
import secrets
import threading

import requests
import schemathesis

API = os.environ["CONTRACT_API_URL"].rstrip("/")
PASSWORD = "correct horse battery"
_lock = threading.Lock()
_user = {"username": None}


def _login(username):
    res = requests.post(f"{API}/api/tokens", json={"username": username, "password": PASSWORD}, timeout=30)
    return res.json()["token"] if res.status_code == 200 else None


def _register():
    username = f"contract_{secrets.token_hex(6)}"
    res = requests.post(
        f"{API}/api/users",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        timeout=30,
    )
    res.raise_for_status()
    return username


@schemathesis.auth(refresh_interval=1)
class FreshToken:
    def get(self, case, ctx):
        with _lock:
            token = _login(_user["username"]) if _user["username"] else None
            if token is None:
                _user["username"] = _register()
                token = _login(_user["username"])
            return token

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# What schemathesis's positive_data_acceptance accepts from a schema-valid request.
ACCEPTED = {401, 403, 404, 409, 429}


def _error_code(response):
    try:
        return json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def positive_data_acceptance_with_reasons(ctx, response, case):
    """schemathesis's positive_data_acceptance (turned off in schemathesis.toml), with two exceptions.

    - 400 invalid-cursor for a request that carries a cursor. A cursor is an opaque token that
      belongs to one list and its parameters (path id, tag, reader, filters, sort): no schema can
      say which strings a list issued. A cursor drawn from the pattern is refused, and so is the
      document's example cursor when the generator pairs it with other parameters than the
      example's (test/contract/examples.test.ts sends each example as published: it is accepted).
    - 422 cannot-follow-self for PUT/DELETE /api/users/{id}/follow: whether {id} is the caller's
      own id depends on who is calling, which a schema cannot say.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status >= 500 or status in ACCEPTED:
        return None
    code = _error_code(response)
    if status == 400 and code == "invalid-cursor" and "cursor" in (case.query or {}):
        return None
    if status == 422 and code == "cannot-follow-self" and case.path.endswith("/follow"):
        return None
    raise AssertionError(
        f"Schema-valid request rejected with {status} {code}: {response.content[:300]!r}"
    )
