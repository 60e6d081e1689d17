/// mimalloc rather than glibc's malloc: a process's allocations are often freed on another
/// worker thread, which glibc serialises on its arena locks (a spawn-heavy run spent a sixth
/// of its time in malloc and free, some of it waiting for those locks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wippy::cli::main()
}
