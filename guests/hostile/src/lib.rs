//! Misbehaving exports: infinite loops, memory bombs, deep recursion, output floods, file
//! handle hoarding, symlinks out of a mount.

use std::hint::black_box;
use std::io::Write;

wit_bindgen::generate!({ world: "hostile", path: "wit" });

struct Hostile;

impl Guest for Hostile {
    fn spin() -> u64 {
        let mut n: u64 = 0;
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }

    fn work(rounds: u64) -> u64 {
        let mut sum: u64 = 0;
        for i in 0..rounds {
            sum = black_box(sum.wrapping_mul(31).wrapping_add(i));
        }
        sum
    }

    fn allocate(megabytes: u32) -> u32 {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        for i in 0..megabytes {
            blocks.push(vec![i as u8; 1 << 20]);
        }
        black_box(&blocks);
        blocks.len() as u32
    }

    fn recurse(depth: u32) -> u32 {
        // Small frames live on the wasm stack itself (not Rust's shadow stack in linear
        // memory), so a deep recursion exhausts the host-enforced wasm stack.
        fn go(depth: u32) -> u32 {
            if depth == 0 {
                return 0;
            }
            black_box(go(black_box(depth - 1))) + 1
        }
        go(depth)
    }

    fn flood(megabytes: u32) -> u32 {
        let line = "x".repeat(1023);
        let mut out = std::io::stdout().lock();
        let mut lines = 0;
        for _ in 0..megabytes * 1024 {
            writeln!(out, "{line}").expect("stdout is writable");
            lines += 1;
        }
        lines
    }

    fn hoard_files(path: String, count: u32) -> Result<u32, String> {
        let mut files = Vec::new();
        for i in 0..count {
            let file = std::fs::File::open(&path)
                .map_err(|e| format!("open number {} of {path} failed: {e}", i + 1))?;
            files.push(file);
        }
        black_box(&files);
        Ok(files.len() as u32)
    }

    fn make_symlink(mount: String, target: String, link: String) -> Result<(), String> {
        let (dir, _) = wasip2::filesystem::preopens::get_directories()
            .into_iter()
            .find(|(_, path)| *path == mount)
            .ok_or_else(|| format!("nothing is mounted at {mount}"))?;
        dir.symlink_at(&target, &link)
            .map_err(|code| code.name().to_string())
    }
}

export!(Hostile);
