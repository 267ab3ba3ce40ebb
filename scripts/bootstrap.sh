#!/usr/bin/env bash
# Set up everything Signoff needs on a Debian/Ubuntu machine, idempotently.
#
#   bash scripts/bootstrap.sh           # demo mode: run the app
#   bash scripts/bootstrap.sh --test    # test mode: also test extras, PostgreSQL, ImageMagick
#
# Steps (each one named in the message if it fails):
#   1. system packages: apt-get installs only what `dpkg-query` says is missing
#      (`apt-get update` once, and only then); as root, or through sudo
#   2. Python >= 3.11 and a virtual environment in .venv
#   3. pip install -e . (demo) or -e '.[dev]' (test), skipped when the stamp in
#      .venv matches (hash of pyproject.toml + this script + mode + Python)
#   4. a smoke check that Qt (and QtWebEngine) load offscreen
#   5. npm packages (npm ci per project, stamped like the pip step; test mode:
#      Prism and GitHub's OpenAPI description in tests/forges/prism)
#   6. test mode: the MLflow test server's own virtualenv, .venv-mlflow
#      (tests/mlflow/requirements-server.txt), installed in the background
#      while steps 3-5 run, stamped like the pip step
#
# A re-run with nothing to do takes a second or two. The full output of every
# step goes to build/bootstrap.log; the terminal shows one line per step.
#
# Environment:
#   PYTHON=/path/to/python3.11   the interpreter for .venv (default: python3 on PATH)
#   SIGNOFF_SKIP_APT=1           skip step 1 (no root, or not Debian: install by hand)
#   BOOTSTRAP_VERBOSE=1          show every command's output on the terminal too

set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODE=demo
for arg in "$@"; do
  case "$arg" in
    --test) MODE="test" ;;
    --demo) MODE="demo" ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "bootstrap: unknown argument: $arg (use --test or --demo)" >&2; exit 2 ;;
  esac
done

VENV="$ROOT/.venv"
LOG_DIR="$ROOT/build"
LOG="$LOG_DIR/bootstrap.log"
mkdir -p "$LOG_DIR"
: >"$LOG"

# One bootstrap at a time (e.g. `make -j demo test`): the second waits for the first.
exec 9>"$LOG_DIR/bootstrap.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

STEP=""
log() { printf '%s\n' "$*" >>"$LOG"; }
say() { printf 'bootstrap: %s\n' "$*"; log "== $*"; }
step() { STEP="$1"; say "$1"; }

fail() {
  {
    echo "bootstrap: FAILED at step: ${STEP:-start}"
    [ $# -gt 0 ] && echo "bootstrap: $*"
    if [ -s "$LOG" ]; then
      echo "bootstrap: last lines of $LOG:"
      tail -n 25 "$LOG" | sed 's/^/    /'
    fi
  } >&2
  [ -n "${MLFLOW_PID:-}" ] && kill "$MLFLOW_PID" 2>/dev/null  # the background install of step 6
  exit 1
}
trap 'fail "unexpected error (line $LINENO)"' ERR

# Run a command; its output goes to the log (and the terminal if BOOTSTRAP_VERBOSE=1).
run() {
  log "\$ $*"
  if [ "${BOOTSTRAP_VERBOSE:-0}" = 1 ]; then
    "$@" 2>&1 | tee -a "$LOG"
  else
    "$@" >>"$LOG" 2>&1
  fi
}

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------------------
# 1. System packages
# ---------------------------------------------------------------------------
# "a|b": either is fine (Debian 13 / Ubuntu 24.04 renamed some libraries);
# the first one apt knows is installed when neither is there.
APT_COMMON=(
  git make xauth xvfb fonts-dejavu-core
  # Qt's xcb platform plugin and QtWebEngine (Chromium) need these at run time.
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-shape0
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libnss3 libxcomposite1 libxdamage1
  libxrandr2 libxtst6 libxkbfile1 "libasound2|libasound2t64"
)
APT_TEST=(
  postgresql   # the store tests start a real server (tests/support/postgres.py)
  imagemagick  # screenshots of the window under Xvfb
  # >>> packaging (make package, tests/packaging) <<<
  binutils            # PyInstaller runs objcopy/objdump on Linux (usually there with gcc)
  desktop-file-utils  # desktop-file-validate checks packaging/linux/signoff.desktop
)

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 127
  fi
}

installed_packages() {
  # Every package of the list that dpkg says is installed ("ii"), one per line.
  dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\n' "$@" 2>/dev/null | awk '$2 == "ii" { print $1 }' || true
}

pick_available() {
  # First alternative of "a|b" that apt has a candidate for (or the first one).
  local alt
  IFS='|' read -r -a alts <<<"$1"
  for alt in "${alts[@]}"; do
    if apt-cache policy "$alt" 2>/dev/null | grep -q 'Candidate: [^(]'; then
      echo "$alt"; return
    fi
  done
  echo "${alts[0]}"
}

system_packages() {
  step "system packages ($MODE mode)"
  if [ "${SIGNOFF_SKIP_APT:-0}" = 1 ]; then
    say "  SIGNOFF_SKIP_APT=1: not checking system packages"
    return
  fi
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    say "  not a Debian/Ubuntu system (no dpkg/apt-get): install the packages listed in scripts/bootstrap.sh yourself"
    return
  fi

  local wanted=("${APT_COMMON[@]}")
  [ "$MODE" = test ] && wanted+=("${APT_TEST[@]}")
  # No python3 at all and no PYTHON given: Debian's python3 (3.11 on Debian 12).
  if [ -z "${PYTHON:-}" ] && ! command -v python3 >/dev/null 2>&1; then
    wanted+=(python3 python3-venv)
  fi

  local names=() w
  for w in "${wanted[@]}"; do IFS='|' read -r -a alts <<<"$w"; names+=("${alts[@]}"); done
  local have
  have="$(installed_packages "${names[@]}")"

  local missing=()
  for w in "${wanted[@]}"; do
    IFS='|' read -r -a alts <<<"$w"
    local found=0 a
    for a in "${alts[@]}"; do
      if grep -qx -- "$a" <<<"$have"; then found=1; break; fi
    done
    [ $found = 1 ] || missing+=("$w")
  done

  if [ ${#missing[@]} -eq 0 ]; then
    say "  all present"
    return
  fi
  apt_install "${missing[@]}"
}

apt_install() {
  # $@: package names, possibly "a|b" alternatives; apt-get update once first.
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    local names=() p
    for p in "$@"; do names+=("$(pick_available "$p")"); done
    fail "system packages are missing and there is no sudo; as root run: apt-get update && apt-get install -y ${names[*]}  (or set SIGNOFF_SKIP_APT=1 to skip this step)"
  fi
  say "  missing: $*"
  say "  apt-get update (log: build/bootstrap.log)"
  run as_root env DEBIAN_FRONTEND=noninteractive apt-get update \
    || fail "apt-get update failed"
  local pkgs=() p
  for p in "$@"; do
    if [[ "$p" == *"|"* ]]; then pkgs+=("$(pick_available "$p")"); else pkgs+=("$p"); fi
  done
  say "  apt-get install ${pkgs[*]}"
  run as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" \
    || fail "apt-get install failed for: ${pkgs[*]}"
}

# ---------------------------------------------------------------------------
# 2. Python and the virtual environment
# ---------------------------------------------------------------------------
python_ok() {
  # $1: interpreter; succeeds when it runs and is 3.11+
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    python_ok "$PYTHON" || fail "PYTHON=$PYTHON is not a working Python 3.11 or newer"
    echo "$PYTHON"; return
  fi
  local c
  for c in python3 python3.13 python3.12 python3.11; do
    if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then command -v "$c"; return; fi
  done
  local found="none"
  command -v python3 >/dev/null 2>&1 && found="$(python3 --version 2>&1)"
  fail "Signoff needs Python 3.11 or newer; found: $found. Install one (Debian 12 ships 3.11) and re-run, or point PYTHON=/path/to/python3.11 at it."
}

make_venv() {
  step "virtual environment (.venv)"
  if [ -x "$VENV/bin/python" ] && python_ok "$VENV/bin/python"; then
    say "  present ($("$VENV/bin/python" --version 2>&1))"
    return
  fi
  if [ -e "$VENV" ]; then
    say "  .venv is broken or older than Python 3.11: recreating it"
    rm -rf "$VENV"
  fi
  local py
  py="$(find_python)" || exit 1
  say "  creating with $py ($("$py" --version 2>&1))"
  if ! run "$py" -m venv "$VENV"; then
    # Debian's own python3 ships venv/ensurepip separately.
    rm -rf "$VENV"
    if command -v apt-get >/dev/null 2>&1 && [ "${SIGNOFF_SKIP_APT:-0}" != 1 ]; then
      local ver
      ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      say "  'python -m venv' failed: installing python3-venv"
      apt_install python3-venv "python${ver}-venv"
      run "$py" -m venv "$VENV" || fail "'$py -m venv .venv' failed even with python3-venv installed"
    else
      fail "'$py -m venv .venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
  fi
}

# ---------------------------------------------------------------------------
# 3. Python packages (stamped)
# ---------------------------------------------------------------------------
stamp_file() { echo "$VENV/.signoff-bootstrap-$1"; }

stamp_value() {
  # What the installed packages depend on: the project's metadata, this
  # script, the mode and the interpreter.
  printf '%s %s %s\n' "$(hash_of pyproject.toml scripts/bootstrap.sh)" "$1" \
    "$("$VENV/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null | head -n1)"
}

stamp_ok() {
  local f; f="$(stamp_file "$1")"
  [ -f "$f" ] && [ "$(cat "$f")" = "$(stamp_value "$1")" ] && [ -x "$VENV/bin/signoff" ]
}

python_packages() {
  step "Python packages ($MODE mode)"
  # Test mode installs a superset of demo mode, so its stamp satisfies both.
  if stamp_ok "$MODE" || { [ "$MODE" = demo ] && stamp_ok test; }; then
    say "  up to date (pyproject.toml unchanged since the last install)"
    return
  fi
  rm -f "$(stamp_file demo)" "$(stamp_file test)"
  local spec="."
  [ "$MODE" = test ] && spec=".[dev]"
  say "  pip install -e '$spec' (first time: a few minutes; log: build/bootstrap.log)"
  run "$VENV/bin/python" -m pip install --disable-pip-version-check -e "$spec" \
    || fail "pip install -e '$spec' failed"
  qt_smoke_check
  stamp_value "$MODE" >"$(stamp_file "$MODE")"
}

# ---------------------------------------------------------------------------
# 4. Qt smoke check (only after an install)
# ---------------------------------------------------------------------------
missing_shared_libs() {
  # Shared libraries Qt's libraries cannot find on this machine, for the message.
  "$VENV/bin/python" - <<'EOF' 2>/dev/null || true
import pathlib, subprocess, PySide6
qt = pathlib.Path(PySide6.__file__).parent / "Qt"
libs = list((qt / "lib").glob("libQt6WebEngineCore.so*")) + list((qt / "plugins" / "platforms").glob("libqxcb.so"))
missing = set()
for lib in libs:
    out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
    missing.update(line.split()[0] for line in out.splitlines() if "not found" in line)
print(" ".join(sorted(missing)))
EOF
}

qt_smoke_check() {
  step "Qt smoke check (offscreen)"
  if ! run env QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -c \
      'from PySide6 import QtCore, QtGui, QtWidgets; print("Qt", QtCore.qVersion())'; then
    fail "PySide6 does not load; missing shared libraries: $(missing_shared_libs)"
  fi
  if ! run env QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1 "$VENV/bin/python" -c \
      'from PySide6 import QtWebEngineWidgets'; then
    # Charts need it; everything else works without it.
    say "  WARNING: QtWebEngine does not load (charts will not show); missing libraries: $(missing_shared_libs)"
  else
    say "  Qt and QtWebEngine load"
  fi
}

# ---------------------------------------------------------------------------
# 5. npm packages
# ---------------------------------------------------------------------------
# Each npm project is installed with `npm ci` from its package-lock.json,
# skipped when the stamp in its node_modules matches (hash of the lock file +
# node version). Add a project to the list of the mode that needs it.
NPM_PROJECTS_DEMO=()
NPM_PROJECTS_TEST=(
  tests/forges/prism   # Prism + GitHub's OpenAPI description: the GitHub sink's spec tests
)

npm_packages() {
  # >>> npm packages <<<
  local dirs=()
  [ ${#NPM_PROJECTS_DEMO[@]} -gt 0 ] && dirs+=("${NPM_PROJECTS_DEMO[@]}")
  [ "$MODE" = test ] && [ ${#NPM_PROJECTS_TEST[@]} -gt 0 ] && dirs+=("${NPM_PROJECTS_TEST[@]}")
  [ ${#dirs[@]} -eq 0 ] && return
  step "npm packages ($MODE mode)"
  if ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "${SIGNOFF_SKIP_APT:-0}" != 1 ]; then
      apt_install nodejs npm
    fi
    command -v npm >/dev/null 2>&1 || fail "npm is missing (Debian/Ubuntu: apt-get install nodejs npm)"
  fi
  local d stamp want
  for d in "${dirs[@]}"; do
    [ -f "$ROOT/$d/package-lock.json" ] || fail "$d/package-lock.json is missing"
    stamp="$ROOT/$d/node_modules/.signoff-npm-stamp"
    want="$(hash_of "$ROOT/$d/package-lock.json") $(node --version 2>/dev/null)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
      say "  $d: up to date"
      continue
    fi
    say "  npm ci in $d (first time: about a minute; log: build/bootstrap.log)"
    # --ignore-scripts: nothing here needs an install script (one is only telemetry)
    run npm ci --prefix "$ROOT/$d" --no-audit --no-fund --ignore-scripts \
      || fail "npm ci failed in $d"
    printf '%s\n' "$want" >"$stamp"
  done
}

# ---------------------------------------------------------------------------
# 6. The MLflow test server (test mode)
# ---------------------------------------------------------------------------
# >>> MLflow test server <<<
# tests/mlflow start a real `mlflow server` and fill it with the real mlflow
# client. Signoff itself never imports mlflow, so both live in a virtualenv of
# their own. A fresh install took 3m32s here (mlflow + scikit-learn, about
# 680 MB), so it runs in the background while steps 3-5 run; a re-run with
# the stamp in place costs nothing.
MLFLOW_VENV="$ROOT/.venv-mlflow"
MLFLOW_REQ="$ROOT/tests/mlflow/requirements-server.txt"
MLFLOW_LOG="$LOG_DIR/bootstrap-mlflow.log"
MLFLOW_STAMP="$MLFLOW_VENV/.signoff-mlflow-stamp"
MLFLOW_PID=""

mlflow_stamp_value() {
  printf '%s %s\n' "$(hash_of "$MLFLOW_REQ")" \
    "$("$MLFLOW_VENV/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null | head -n1)"
}

mlflow_venv_start() {
  [ "$MODE" = test ] || return 0
  [ -f "$MLFLOW_REQ" ] || fail "$MLFLOW_REQ is missing"
  if [ -x "$MLFLOW_VENV/bin/mlflow" ] && [ -f "$MLFLOW_STAMP" ] && [ "$(cat "$MLFLOW_STAMP")" = "$(mlflow_stamp_value)" ]; then
    say "MLflow test server (.venv-mlflow): up to date"
    return
  fi
  local py
  py="$(find_python)" || exit 1
  say "MLflow test server (.venv-mlflow): installing in the background (first time: 3-4 minutes; log: build/bootstrap-mlflow.log)"
  (
    trap - ERR
    exec 9>&-   # not the bootstrap lock: the main script releases it when it ends
    set -x
    rm -rf "$MLFLOW_VENV" &&
      "$py" -m venv "$MLFLOW_VENV" &&
      "$MLFLOW_VENV/bin/python" -m pip install --disable-pip-version-check -r "$MLFLOW_REQ" &&
      "$MLFLOW_VENV/bin/mlflow" --version
  ) >"$MLFLOW_LOG" 2>&1 &
  MLFLOW_PID=$!
}

mlflow_venv_wait() {
  [ -n "$MLFLOW_PID" ] || return 0
  step "MLflow test server (.venv-mlflow)"
  local pid=$MLFLOW_PID t0=$SECONDS
  MLFLOW_PID=""
  if ! wait "$pid"; then
    {
      echo "bootstrap: last lines of $MLFLOW_LOG:"
      tail -n 25 "$MLFLOW_LOG" | sed 's/^/    /'
    } >&2
    fail "installing mlflow into .venv-mlflow failed (pip install -r tests/mlflow/requirements-server.txt)"
  fi
  mlflow_stamp_value >"$MLFLOW_STAMP"
  say "  installed ($(tail -n 1 "$MLFLOW_LOG"); waited $((SECONDS - t0))s after the other steps)"
}

# ---------------------------------------------------------------------------
start=$SECONDS
log "bootstrap $MODE mode, $(date -u +%Y-%m-%dT%H:%M:%SZ), in $ROOT"
system_packages
make_venv
mlflow_venv_start
python_packages
npm_packages
mlflow_venv_wait
STEP="done"
say "ready ($MODE mode, $((SECONDS - start))s): $VENV"
