use std::process::ExitCode;

fn main() -> ExitCode {
    autopilot::cli::main()
}
