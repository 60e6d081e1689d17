#!/usr/bin/env bash
# Builds guest/ into wasm/worker.wasm and pins its sha256 in src/app.yaml.
set -euo pipefail
cd "$(dirname "$0")"
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
cargo build --release --target wasm32-wasip2 --manifest-path guest/Cargo.toml
target="${CARGO_TARGET_DIR:-guest/target}"
mkdir -p wasm
cp "$target/wasm32-wasip2/release/worker.wasm" wasm/worker.wasm
hash="sha256:$(sha256sum wasm/worker.wasm | cut -d' ' -f1)"
sed -i.bak -E "s/sha256:[0-9a-f]{64}/$hash/" src/app.yaml && rm src/app.yaml.bak
echo "built wasm/worker.wasm, pinned $hash"
