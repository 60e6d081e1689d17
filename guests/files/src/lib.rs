//! A file processor: reads a CSV from one mount and writes its result to another.

wit_bindgen::generate!({ world: "files", path: "wit" });

struct Files;

impl Guest for Files {
    fn sum_rows(input: String, output: String) -> Result<u32, String> {
        let text =
            std::fs::read_to_string(&input).map_err(|e| format!("cannot read {input}: {e}"))?;
        let mut sums = String::new();
        let mut rows = 0;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let mut sum = 0.0;
            for cell in line.split(',') {
                sum += cell
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("{input}:{}: `{cell}` is not a number", n + 1))?;
            }
            sums.push_str(&format!("{sum}\n"));
            rows += 1;
        }
        std::fs::write(&output, sums).map_err(|e| format!("cannot write {output}: {e}"))?;
        Ok(rows)
    }

    fn read_text(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))
    }

    fn write_text(path: String, text: String) -> Result<(), String> {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {path}: {e}"))
    }
}

export!(Files);
