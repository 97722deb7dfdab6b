//! `cadence explain CODE`

use super::Status;
use crate::diagnostic::{explain, CODES};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A diagnostic code such as E105 (case does not matter)
    #[arg(value_name = "CODE", required_unless_present = "list")]
    code: Option<String>,
    /// List every code with its title
    #[arg(long)]
    list: bool,
}

pub(crate) fn run(args: Args) -> Status {
    if args.list {
        for c in CODES {
            println!("{}  {}", c.code, c.title);
        }
        for r in crate::lint::RULES {
            println!("{}  {} ({})", r.code, r.name, r.summary);
        }
        return Status::Clean;
    }
    let code = args.code.unwrap_or_default();
    match explain(&code).or_else(|| crate::lint::explain(&code)) {
        Some(page) => {
            print!("{page}");
            Status::Clean
        }
        None => {
            eprintln!("error: unknown diagnostic code `{code}`");
            eprintln!("help: `cadence explain --list` lists every code");
            Status::Failure
        }
    }
}
