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
    // (`body file "x"`) would be read from the working folder. The server works in a new,
    // empty folder of its own, so they name nothing.
    let empty = empty_folder();
    match &empty {
        Ok(dir) => {
            if let Err(e) = std::env::set_current_dir(dir) {
                eprintln!("warning: cadence lsp: cannot work in `{}`: {e}", dir.display());
            }
        }
        Err(e) => eprintln!(
            "warning: cadence lsp: no empty working folder ({e}); a `body file` in an unsaved buffer is read from the current folder"
        ),
    }
    let input = Box::new(std::io::BufReader::new(std::io::stdin()));
    let mut output = std::io::stdout().lock();
    let result = crate::lsp::serve(input, &mut output);
    if let Ok(dir) = &empty {
        let _ = std::env::set_current_dir(std::env::temp_dir());
        let _ = std::fs::remove_dir(dir);
    }
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

/// A new folder with an unguessable name in the temporary folder, readable by this user only.
fn empty_folder() -> std::io::Result<std::path::PathBuf> {
    let mut tmp = std::env::temp_dir();
    if tmp.is_relative() {
        tmp = std::env::current_dir()?.join(tmp);
    }
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    let dir = tmp.join(format!("cadence-lsp-{}", crate::mail::hex(&b)));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    // `create`, not `create_all`: a folder that is already there is not ours.
    builder.create(&dir)?;
    Ok(dir)
}
