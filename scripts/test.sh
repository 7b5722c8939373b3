#!/usr/bin/env bash
# Set up, then run the whole suite: on SQLite, and on PostgreSQL too when one is reachable
# (TALENTBOT_TEST_DATABASE_URL; in CI it must be reachable). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TALENTBOT_TEST_DATABASE_URL=${TALENTBOT_TEST_DATABASE_URL-postgresql://postgres@127.0.0.1:5432/test}
if [ -n "$TALENTBOT_TEST_DATABASE_URL" ]; then
  if ! .venv/bin/python - <<'PY'
import os, sys
import sqlalchemy as sa
from storage.db import make_engine
try:
    with make_engine(os.environ["TALENTBOT_TEST_DATABASE_URL"]).connect() as c:
        c.execute(sa.text("SELECT 1"))
except Exception as exc:
    print(f"PostgreSQL at TALENTBOT_TEST_DATABASE_URL is unreachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
  then
    if [ "${CI:-}" = true ]; then exit 1; fi
    echo "running on SQLite only (set TALENTBOT_TEST_DATABASE_URL= to silence this)" >&2
    unset TALENTBOT_TEST_DATABASE_URL
  fi
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
