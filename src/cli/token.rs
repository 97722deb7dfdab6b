//! `cadence token create|list|revoke --db DB`: the bearer tokens of the HTTP API. A token is
//! shown once, when it is made; the database keeps only its SHA-256.

use std::path::PathBuf;

use super::live::open_live;
use super::Status;
use crate::engine::format_instant;
use crate::runner::wall_now;
use crate::store::live::LiveStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The database of `cadence run`
    #[arg(
        long,
        value_name = "DB",
        env = "CADENCE_DB",
        hide_env_values = true,
        global = true
    )]
    db: Option<PathBuf>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Make a token and print it (once: only its hash is kept)
    Create {
        /// A name for the token: who or what uses it (`crm`, `ci`)
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// The tokens: names, when made, when revoked
    List,
    /// Revoke a token: requests with it are refused from now on
    Revoke {
        /// The token's name
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// The hash a token is stored and looked up by.
pub fn token_hash(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match open_live(args.db, args.config.as_deref()) {
        Ok(s) => s,
        Err(s) => return s,
    };
    let result = match args.action {
        Action::Create { name } => create(&mut *store, &name),
        Action::List => list(&mut *store),
        Action::Revoke { name } => match store.revoke_token(&name, wall_now()) {
            Ok(true) => {
                eprintln!("revoked token `{name}`");
                Ok(Status::Clean)
            }
            Ok(false) => Err(format!("there is no token `{name}` in use")),
            Err(e) => Err(e.to_string()),
        },
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        Status::Failure
    })
}

fn create(store: &mut dyn LiveStore, name: &str) -> Result<Status, String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid {
        return Err(format!(
            "a token name is 1 to 64 letters, digits, `-`, `_` or `.`; `{name}` is not"
        ));
    }
    let mut secret = [0u8; 24];
    getrandom::fill(&mut secret).map_err(|e| format!("no random numbers from the system: {e}"))?;
    let token = format!("cdn_{}", crate::mail::hex(&secret));
    if !store
        .create_token(name, &token_hash(&token), wall_now())
        .map_err(|e| e.to_string())?
    {
        return Err(format!(
            "a token named `{name}` exists; revoke it first or choose another name"
        ));
    }
    println!("{token}");
    eprintln!(
        "token `{name}` made; it is shown only now. Send it as `Authorization: Bearer TOKEN`"
    );
    Ok(Status::Clean)
}

fn list(store: &mut dyn LiveStore) -> Result<Status, String> {
    let tokens = store.tokens().map_err(|e| e.to_string())?;
    if tokens.is_empty() {
        eprintln!("no tokens; `cadence token create --name NAME` makes one");
    }
    for t in tokens {
        println!(
            "{:<24} made {}{}",
            t.name,
            format_instant(t.created),
            t.revoked
                .map(|r| format!("  revoked {}", format_instant(r)))
                .unwrap_or_default()
        );
    }
    Ok(Status::Clean)
}
