#!/usr/bin/env bash
# Builds the offline database engine and MongoDB Database Tools into .tools/bin from the Go
# module proxy, for machines where mongodb-memory-server cannot download mongod.
#   .tools/bin/ferretdb      FerretDB v1.24.2 (MongoDB wire protocol on SQLite)
#   .tools/bin/mongodump     MongoDB Database Tools (mongo-tools, see MONGO_TOOLS_VERSION)
#   .tools/bin/mongorestore
# Idempotent: binaries that already report the pinned version are kept.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
src="$root/.tools/src"

FERRETDB_VERSION=v1.24.2
# The proxy serves mongo-tools only as a pseudo-version (its tags, like 100.18.0, are not semver
# and the proxy here cannot resolve them): this commit is 100.12.2 plus fixes (July 2025).
MONGO_TOOLS_VERSION=v0.0.0-20250715155915-887641268977
MONGO_TOOLS_LABEL=100.12.2-887641268977
# The checksum database does not know this pseudo-version, so the module hash is pinned here and
# checked after download instead (GOSUMDB=off for this one download only).
MONGO_TOOLS_SUM='h1:J9wFLko0N7sbovyHahuRw1NyfMUsNhaauLK87wQ3ruc='

fail() { echo "setup-offline-engine: $*" >&2; exit 1; }
command -v go >/dev/null || fail "Go is required (https://go.dev/dl/) to build FerretDB and mongodump offline"
mkdir -p "$bin" "$src"
# One build at a time (two commands may find no engine at once): the kernel drops the lock on exit.
if command -v flock >/dev/null; then
  exec 9>"$root/.tools/setup.lock"
  flock -n 9 || { echo "waiting for another build of the offline engine"; flock 9; }
fi
export CGO_ENABLED=0

# Copies a downloaded module into a writable folder (the module cache is read-only).
fetch_module() { # module version dest [gosumdb]
  local json dir sum
  json=$(GOFLAGS=-mod=mod GOSUMDB="${4:-${GOSUMDB:-sum.golang.org}}" go mod download -json "$1@$2") \
    || fail "could not download $1@$2 from the Go module proxy"
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  sum=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || fail "go mod download gave no directory for $1@$2"
  if [ -n "${EXPECTED_SUM:-}" ] && [ "$sum" != "$EXPECTED_SUM" ]; then
    fail "checksum mismatch for $1@$2: got $sum, expected $EXPECTED_SUM"
  fi
  rm -rf "$3"
  cp -r "$dir" "$3"
  chmod -R u+w "$3"
}

# Version output is captured before matching: with pipefail, `cmd | grep -q` can fail on SIGPIPE.
version_of() { [ -x "$1" ] && "$1" --version 2>/dev/null || true; }

if [[ "$(version_of "$bin/ferretdb")" == *"version: $FERRETDB_VERSION"* ]]; then
  echo "ferretdb $FERRETDB_VERSION: already built"
else
  echo "ferretdb $FERRETDB_VERSION: building (about a minute the first time)"
  fetch_module github.com/FerretDB/FerretDB "$FERRETDB_VERSION" "$src/ferretdb"
  # Built as its own main module with build/version/version.txt filled in: a plain
  # `go install` (or a build from a scratch module with Go >= 1.24, which records FerretDB as the
  # main module) panics at start-up on the missing version file.
  echo "$FERRETDB_VERSION" > "$src/ferretdb/build/version/version.txt"
  (cd "$src/ferretdb" && go build -mod=mod -trimpath -o "$bin/ferretdb" ./cmd/ferretdb) \
    || fail "building FerretDB failed (see the go output above)"
fi

if [[ "$(version_of "$bin/mongodump")" == *"$MONGO_TOOLS_LABEL"* ]] \
  && [[ "$(version_of "$bin/mongorestore")" == *"$MONGO_TOOLS_LABEL"* ]]; then
  echo "mongodump/mongorestore $MONGO_TOOLS_LABEL: already built"
else
  echo "mongodump/mongorestore $MONGO_TOOLS_LABEL: building"
  EXPECTED_SUM=$MONGO_TOOLS_SUM fetch_module github.com/mongodb/mongo-tools "$MONGO_TOOLS_VERSION" "$src/mongo-tools" off
  rm -rf "$src/mongo-tools/vendor" # module zips carry an incomplete vendor folder; use go.sum
  ldflags="-X main.VersionStr=$MONGO_TOOLS_LABEL -X main.GitCommit=${MONGO_TOOLS_VERSION##*-}"
  for tool in mongodump mongorestore; do
    (cd "$src/mongo-tools" && go build -mod=mod -trimpath -ldflags "$ldflags" -o "$bin/$tool" "./$tool/main") \
      || fail "building $tool failed (see the go output above)"
  done
fi

rm -rf "$src"
for tool in ferretdb mongodump mongorestore; do
  first_line=$(version_of "$bin/$tool")
  [ -n "$first_line" ] || fail "$bin/$tool does not run"
  echo "$tool: ${first_line%%$'\n'*}"
done
