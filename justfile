# Recipes for wippy-rs. Everything here is also a plain cargo command (see README.md).

# Run the demo: `just demo World`
demo name="World":
    cargo run --release -- -C examples/hello run greet {{name}}

# All tests (builds the guest components first, installing wasm32-wasip2 if missing)
test:
    cargo test --workspace

# Formatting and lints, as CI runs them
lint:
    cargo fmt --all -- --check
    cargo fmt --manifest-path guests/Cargo.toml --all -- --check
    cargo clippy --all-targets -- -D warnings
    cargo clippy --manifest-path guests/Cargo.toml --target wasm32-wasip2 -- -D warnings

# What CI runs
ci:
    bash .ci/run

# Rebuild examples/hello's component from guests/hello and pin its new hash
hello-wasm:
    rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
    cargo build --release --target wasm32-wasip2 --manifest-path guests/Cargo.toml --target-dir guests/target -p hello
    cp guests/target/wasm32-wasip2/release/hello.wasm examples/hello/wasm/hello.wasm
    hash=$(sha256sum examples/hello/wasm/hello.wasm | cut -d' ' -f1) && \
      sed -i -E "s/sha256:[0-9a-f]{64}/sha256:$hash/" examples/hello/src/app.yaml && \
      echo "pinned sha256:$hash"
    cargo run -q -- -C examples/hello check

# Benchmarks: criterion latencies and capacity measurements, printed as one table with the
# machine, the commands and the targets. The wasmtime CLI baseline rows need `wasmtime` on
# the PATH (or WASMTIME=path): `cargo install wasmtime-cli --version 48.0.8 --locked`; the HTTP
# rows need `wrk` (Debian: `apt-get install wrk`); the cluster rows `nats-server`.
bench:
    cargo bench --bench runtime
    cargo bench --bench capacity > "${CARGO_TARGET_DIR:-target}/capacity.md"
    cargo bench --bench http > "${CARGO_TARGET_DIR:-target}/http.md"
    cargo bench --bench cluster > "${CARGO_TARGET_DIR:-target}/cluster.md"
    cargo bench --bench reload > "${CARGO_TARGET_DIR:-target}/reload.md"
    @echo
    @echo "Machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2), commit $(git rev-parse --short HEAD)"
    @echo "Commands: cargo bench --bench runtime (criterion estimates); cargo bench --bench capacity (each part in its own process; SLEEPERS, WIDE_SLEEPERS, LUA_RECEIVERS, SPAWN_BURST, SOAK_CYCLES change the counts); cargo bench --bench http (wrk on loopback; HTTP_ROUNDS, HTTP_SECONDS, HTTP_CONNECTIONS); cargo bench --bench cluster (two nodes and nats-server on loopback; CLUSTER_MESSAGES, CLUSTER_ROUNDTRIPS, CLUSTER_SPAWNS, CLUSTER_ROUNDS, CLUSTER_KILLS); cargo bench --bench reload (a watched app's script saved RELOAD_SAVES times)"
    @echo
    @echo "| measurement | result | target |"
    @echo "|---|---|---|"
    @python3 host/benches/summarize.py "${CARGO_TARGET_DIR:-target}/criterion"
    @grep -E '^\| [0-9a-z]' "${CARGO_TARGET_DIR:-target}/capacity.md" | grep -v '^| measurement'
    @grep -E '^\| HTTP' "${CARGO_TARGET_DIR:-target}/http.md"
    @grep -E '^\| cluster' "${CARGO_TARGET_DIR:-target}/cluster.md"
    @grep -E '^\| hot reload' "${CARGO_TARGET_DIR:-target}/reload.md"
