use std::process::ExitCode;

/// The allocator the bench uses too (benches/check.rs): see Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    autopilot::cli::main()
}
