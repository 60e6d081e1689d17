//! A process that only sleeps: the floor of what a live WASM process costs the host.

wit_bindgen::generate!({ world: "sleeper", path: "wit" });

struct Sleeper;

impl Guest for Sleeper {
    fn sleep_ms(ms: u64) -> u64 {
        wasip2::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
        ms
    }
}

export!(Sleeper);
