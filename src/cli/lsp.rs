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
    let input = Box::new(std::io::BufReader::new(std::io::stdin()));
    let mut output = std::io::stdout().lock();
    match crate::lsp::serve(input, &mut output) {
        Ok(()) => Status::Clean,
        Err(e) => {
            eprintln!("error: cadence lsp: {e}");
            Status::Failure
        }
    }
}
