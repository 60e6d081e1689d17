fn main() -> std::process::ExitCode {
    wippy::cli::main()
}
