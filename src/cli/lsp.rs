//! `cadence lsp`: the language server, for editors.

use super::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Speak over standard input and output (the only transport; accepted because editors pass
    /// it)
    #[arg(long)]
    stdio: bool,
}

pub(crate) fn run(_args: Args) -> Status {
    // A document that is not a file (an unsaved buffer) has no folder: its relative paths
    // (`body file "x"`) would be read from the working folder. The server works in an empty
    // folder of its own, so they name nothing.
    let empty = std::env::temp_dir().join(format!("cadence-lsp-{}", std::process::id()));
    let moved =
        std::fs::create_dir_all(&empty).is_ok() && std::env::set_current_dir(&empty).is_ok();
    if !moved {
        eprintln!(
            "error: cadence lsp: cannot make the empty working folder `{}`",
            empty.display()
        );
        return Status::Failure;
    }
    let input = Box::new(std::io::BufReader::new(std::io::stdin()));
    let mut output = std::io::stdout().lock();
    let result = crate::lsp::serve(input, &mut output);
    let _ = std::env::set_current_dir(std::env::temp_dir());
    let _ = std::fs::remove_dir(&empty);
    match result {
        Ok(()) => Status::Clean,
        // The protocol's exit status for `exit` without `shutdown` is 1.
        Err(e @ crate::lsp::LspError::ExitWithoutShutdown) => {
            eprintln!("error: cadence lsp: {e}");
            Status::Findings
        }
        Err(e) => {
            eprintln!("error: cadence lsp: {e}");
            Status::Failure
        }
    }
}
