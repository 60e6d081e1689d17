//! Rust actors on `wippy:process`: an echo server, a counter that keeps state across
//! messages, a supervisor that restarts a failing worker, and calls through
//! `wippy:runtime/funcs`.

wit_bindgen::generate!({
    world: "wippy-guests:actor/actor",
    path: ["../../wit/process", "../../wit/runtime", "wit"],
    generate_all,
});

use wippy::process::host::{self, Event, Received};
use wippy::runtime::funcs;

struct Actor;

impl Guest for Actor {
    fn echo() -> u32 {
        let mut echoed = 0;
        loop {
            match host::receive(None) {
                Some(Received::Message(message)) if message.topic == "stop" => return echoed,
                Some(Received::Message(message)) => {
                    if let Some(sender) = message.sender {
                        host::send(&sender, "echo", &message.payload).expect("the sender is alive");
                        echoed += 1;
                    }
                }
                Some(Received::Event(Event::Cancel(_))) | None => return echoed,
                Some(Received::Event(_)) => {}
            }
        }
    }

    fn counter() -> i64 {
        let mut total: i64 = 0;
        loop {
            match host::receive(None) {
                Some(Received::Message(message)) => match message.topic.as_str() {
                    "add" => total += message.payload.trim().parse::<i64>().unwrap_or(0),
                    "get" => {
                        if let Some(sender) = message.sender {
                            let _ = host::send(&sender, "count", &total.to_string());
                        }
                    }
                    "stop" => return total,
                    _ => {}
                },
                Some(Received::Event(Event::Cancel(_))) | None => return total,
                Some(Received::Event(_)) => {}
            }
        }
    }

    fn ping(target: String, count: u32) -> u32 {
        let mut in_order = 0;
        for i in 0..count {
            host::send(&target, "ping", &i.to_string()).expect("the target is alive");
            loop {
                match host::receive(Some(10_000)) {
                    Some(Received::Message(reply)) if reply.topic == "echo" => {
                        if reply.payload.trim() == i.to_string() {
                            in_order += 1;
                        }
                        break;
                    }
                    Some(_) => {}
                    None => return in_order,
                }
            }
        }
        in_order
    }

    fn flood(target: String, count: u32) -> i64 {
        for _ in 0..count {
            host::send(&target, "add", "1").expect("the target is alive");
        }
        host::send(&target, "get", "null").expect("the target is alive");
        loop {
            match host::receive(Some(60_000)) {
                Some(Received::Message(reply)) if reply.topic == "count" => {
                    return reply.payload.trim().parse().unwrap_or(-1);
                }
                Some(_) => {}
                None => return -1,
            }
        }
    }

    fn call_function(id: String, input: String) -> Result<String, String> {
        funcs::call_string(&id, &input)
    }

    fn call_bytes(id: String, input: Vec<u8>) -> Result<Vec<u8>, String> {
        funcs::call_bytes(&id, &input)
    }

    fn supervise(worker: String, host_id: String, args: String, restarts: u32) -> u32 {
        let mut started = 0;
        loop {
            let pid =
                host::spawn_monitored(&worker, &host_id, &args).expect("the worker can be spawned");
            started += 1;
            loop {
                match host::receive(None) {
                    Some(Received::Event(Event::Exit(exit))) if exit.sender == pid => {
                        if exit.error.is_none() || started > restarts {
                            return started;
                        }
                        break;
                    }
                    None => return started,
                    _ => {}
                }
            }
        }
    }
}

export!(Actor);
