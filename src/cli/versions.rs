//! `cadence versions --db DB`: the versions of the cadences a database holds, with their
//! hashes (for `migrate from "HASH"`) and how many contacts are in flight on each.

use std::path::PathBuf;

use super::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// A table
    #[default]
    Text,
    /// A JSON array
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(serde::Serialize)]
struct Row {
    id: i64,
    cadence: String,
    hash: String,
    file: String,
    created: String,
    deployed: bool,
    live: u64,
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match super::live::open_db(&args.db) {
        Ok(s) => s,
        Err(s) => return s,
    };
    let versions = match crate::store::live::LiveStore::versions(&mut *store) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    let live = match crate::runner::program::live_by_version(&mut *store) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    let rows: Vec<Row> = versions
        .into_iter()
        .map(|v| Row {
            live: live.get(&v.id).copied().unwrap_or(0),
            id: v.id,
            cadence: v.name,
            hash: v.hash,
            file: v.file,
            created: crate::engine::format_instant(v.created),
            deployed: v.deployed,
        })
        .collect();
    match args.format {
        Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
        }
        Format::Text => {
            if rows.is_empty() {
                println!("no versions: nothing was run or deployed with this database");
                return Status::Clean;
            }
            let name_w = rows
                .iter()
                .map(|r| r.cadence.chars().count())
                .max()
                .unwrap_or(0)
                .max(7);
            println!(
                "{:<4} {:<name_w$}  {:<12}  {:<20}  {:<8}  {:>6}  file",
                "id", "cadence", "hash", "stored", "deployed", "live"
            );
            for r in &rows {
                println!(
                    "{:<4} {:<name_w$}  {:<12}  {:<20}  {:<8}  {:>6}  {}",
                    r.id,
                    crate::diagnostic::printable(&r.cadence),
                    &r.hash[..r.hash.len().min(12)],
                    r.created,
                    if r.deployed { "yes" } else { "no" },
                    r.live,
                    crate::diagnostic::printable(&r.file)
                );
            }
        }
    }
    Status::Clean
}
