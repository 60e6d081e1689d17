//! The `wippy-guest` library's counter: adds the numbers sent on "add" and, on "stop",
//! replies with the total and ends with it.

use wippy_guest::{Process, Received};

struct Counter;

impl Process for Counter {
    type Args = ();
    type Output = i64;

    fn run((): ()) -> Result<i64, String> {
        let mut total = 0;
        while let Some(received) = wippy_guest::receive(None) {
            match received {
                Received::Message(m) if m.topic == "add" => total += m.payload::<i64>()?,
                Received::Message(m) if m.topic == "stop" => {
                    m.reply("total", &total)?;
                    return Ok(total);
                }
                Received::Cancel { .. } => return Ok(total),
                _ => {}
            }
        }
        Ok(total)
    }
}

wippy_guest::process!(Counter);
