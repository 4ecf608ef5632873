fn main() -> std::process::ExitCode {
    vigia::cli::run()
}
