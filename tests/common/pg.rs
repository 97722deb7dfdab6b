//! A PostgreSQL database of a test's own, on the server at 127.0.0.1:5432 (trust
//! authentication), dropped when the test ends.
//!
//! Without a server the tests that need one print SKIPPED and pass, unless
//! `CADENCE_REQUIRE_POSTGRES` is set (`.ci/run` sets it once it has seen the server answer):
//! then they fail, saying what is missing.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the server is: `CADENCE_TEST_POSTGRES`, else the local one.
pub fn server() -> String {
    std::env::var("CADENCE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A database made for one test.
pub struct Db {
    pub name: String,
    pub url: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn admin() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = format!("{}/test", server()).parse()?;
    config.connect_timeout(std::time::Duration::from_secs(5));
    config.connect(postgres::NoTls)
}

/// A fresh, empty database, or `None` (with SKIPPED printed) when no server answers.
pub fn fresh(test: &str) -> Option<Db> {
    let mut client = match admin() {
        Ok(c) => c,
        Err(e) => {
            let what = format!(
                "no PostgreSQL server answers at {} (database `test`): {e}",
                server()
            );
            if std::env::var_os("CADENCE_REQUIRE_POSTGRES").is_some() {
                panic!("{what}; start it, or unset CADENCE_REQUIRE_POSTGRES to skip these tests");
            }
            eprintln!("SKIPPED {test}: {what}");
            return None;
        }
    };
    sweep(&mut client);
    let name = format!(
        "cadence_t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(24)
            .collect::<String>()
            .to_lowercase()
    );
    // Each alone: CREATE DATABASE cannot run inside the transaction a multi-statement query is.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {}", reason(&e)));
    }
    Some(Db {
        url: format!("{}/{name}", server()),
        name,
    })
}

/// Drops the databases of test processes that are gone (killed before they could drop them).
fn sweep(client: &mut postgres::Client) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(rows) = client.query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'cadence\\_t%'",
            &[],
        ) else {
            return;
        };
        for r in rows {
            let name: String = r.get(0);
            let pid = name
                .trim_start_matches("cadence_t")
                .split('_')
                .next()
                .and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
                let _ =
                    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    });
}

fn reason(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

impl Db {
    /// A connection to it, for what a test checks or breaks by hand.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut c) = admin() {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
