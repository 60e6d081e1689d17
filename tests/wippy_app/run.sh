#!/usr/bin/env bash
# Runs Wippy's WASM test app (tests/app/src/test/wasm of a wippyai/runtime checkout, with its
# lib/assert.lua) with wippy-rs and our runner, in a temporary project. Nothing of Wippy's is
# kept in this repository: pass the checkout's path.
#   tests/wippy_app/run.sh /path/to/wippyai-runtime [filter]
set -euo pipefail
wippy_src=${1:?usage: run.sh /path/to/wippyai-runtime [filter]}
here=$(cd "$(dirname "$0")" && pwd)
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
mkdir -p "$project/src/test" "$project/src/lib"
cp -r "$wippy_src/tests/app/src/test/wasm" "$project/src/test/"
cp "$wippy_src/tests/app/src/lib/"* "$project/src/lib/"
cp "$here/app.yaml" "$here/runner.lua" "$project/src/"
wippy=${WIPPY:-$here/../../target/release/wippy}
"$wippy" -C "$project" run test ${2:+"$2"}
