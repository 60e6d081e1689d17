//! Tries one capability per export, through the raw WASI bindings.

use wasip2::sockets::network::IpAddressFamily;

wit_bindgen::generate!({ world: "prober", path: "wit" });

struct Prober;

impl Guest for Prober {
    fn wall_clock_seconds() -> u64 {
        wasip2::clocks::wall_clock::now().seconds
    }

    fn monotonic_now() -> u64 {
        wasip2::clocks::monotonic_clock::now()
    }

    fn random_u64() -> u64 {
        wasip2::random::random::get_random_u64()
    }

    fn arguments() -> Vec<String> {
        wasip2::cli::environment::get_arguments()
    }

    fn print(text: String) {
        let stdout = wasip2::cli::stdout::get_stdout();
        stdout
            .blocking_write_and_flush(format!("{text}\n").as_bytes())
            .expect("stdout is writable");
    }

    fn print_in_pieces(text: String, pieces: u32) {
        let stdout = wasip2::cli::stdout::get_stdout();
        let bytes = format!("{text}\n").into_bytes();
        let size = bytes.len().div_ceil(pieces.max(1) as usize).max(1);
        for piece in bytes.chunks(size) {
            stdout
                .blocking_write_and_flush(piece)
                .expect("stdout is writable");
        }
    }

    fn read_stdin() -> String {
        let stdin = wasip2::cli::stdin::get_stdin();
        let mut bytes = Vec::new();
        while let Ok(chunk) = stdin.blocking_read(4096) {
            bytes.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn preopens() -> Vec<String> {
        wasip2::filesystem::preopens::get_directories()
            .into_iter()
            .map(|(_, path)| path)
            .collect()
    }

    fn tcp_socket() -> Result<(), String> {
        wasip2::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4)
            .map(drop)
            .map_err(|e| format!("{e:?}"))
    }

    fn sleep_ms(ms: u64) -> u64 {
        wasip2::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
        ms
    }

    fn http_fields() -> u32 {
        let fields = wasip2::http::types::Fields::new();
        fields.entries().len() as u32
    }
}

export!(Prober);
