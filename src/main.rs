use std::process::ExitCode;

fn main() -> ExitCode {
    cadence::cli::main()
}
