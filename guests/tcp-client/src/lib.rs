//! A TCP client through Rust's std::net, which wasm32-wasip2 maps onto `wasi:sockets`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

wit_bindgen::generate!({ world: "tcp-client", path: "wit" });

struct TcpClient;

impl Guest for TcpClient {
    fn request(address: String, line: String) -> Result<String, String> {
        let mut stream = TcpStream::connect(&address)
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        stream
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        Ok(answer.trim_end().to_string())
    }
}

export!(TcpClient);
