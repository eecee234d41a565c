# Sourced by scripts/test and .ci/run: use the active virtualenv, or make and enter .venv.
# A venv keeps the install off a system Python that refuses pip (PEP 668).
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv .venv; }
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install --quiet --disable-pip-version-check --upgrade pip
