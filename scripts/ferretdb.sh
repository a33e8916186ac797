#!/usr/bin/env bash
# FerretDB v1.24.2 (a MongoDB-wire-compatible server on SQLite) as the tests' real MongoDB.
#
#   scripts/ferretdb.sh build              builds it once per machine (Go module proxy)
#   scripts/ferretdb.sh start PORT [DIR]   starts it on 127.0.0.1:PORT, data in DIR (a temp
#                                          dir by default); prints MONGODB_URL; waits until
#                                          it answers
#   scripts/ferretdb.sh stop [DIR]         stops the one started with DIR
set -euo pipefail

VERSION=v1.24.2
CACHE="${FERRETDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/account-links/ferretdb-$VERSION}"
BIN="$CACHE/ferretdb"

build() {
  [ -x "$BIN" ] && return 0
  command -v go >/dev/null || { echo "ferretdb.sh: Go is needed to build FerretDB" >&2; exit 1; }
  mkdir -p "$CACHE"
  local src
  src=$(go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src" ] || { echo "ferretdb.sh: could not download FerretDB $VERSION" >&2; exit 1; }
  local work
  work=$(mktemp -d)
  cp -R "$src/." "$work/"
  chmod -R u+w "$work"
  # The binary refuses to start without a version file that begins with "v".
  mkdir -p "$work/build/version"
  echo "$VERSION" > "$work/build/version/version.txt"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$BIN.$$.tmp" ./cmd/ferretdb)
  # Two builds at once (CI and a test run) each finish; mv replaces atomically.
  mv "$BIN.$$.tmp" "$BIN"
  rm -rf "$work"
}

start() {
  local port="${1:?port}"
  local dir="${2:-$(mktemp -d)}"
  build
  mkdir -p "$dir/data"
  "$BIN" --handler=sqlite --sqlite-url="file:$dir/data/" \
    --listen-addr="127.0.0.1:$port" --state-dir=- --debug-addr=- \
    --telemetry=disable --log-level=warn >"$dir/ferretdb.log" 2>&1 &
  echo $! >"$dir/ferretdb.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "MONGODB_URL=mongodb://127.0.0.1:$port/account-links"
      echo "FERRETDB_DIR=$dir"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/ferretdb.pid")" 2>/dev/null; then
      echo "ferretdb.sh: FerretDB exited:" >&2
      cat "$dir/ferretdb.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "ferretdb.sh: FerretDB did not answer on port $port" >&2
  exit 1
}

stop() {
  local dir="${1:?dir}"
  [ -f "$dir/ferretdb.pid" ] && kill "$(cat "$dir/ferretdb.pid")" 2>/dev/null || true
}

case "${1:-}" in
  build) build ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 build | start PORT [DIR] | stop DIR" >&2; exit 2 ;;
esac
