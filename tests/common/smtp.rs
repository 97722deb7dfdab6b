//! A real SMTP server on loopback for the tests (`tests/support/smtp_sink.py`, on Debian's
//! python3-aiosmtpd): it logs every message it accepts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::Deserialize;

/// One message the server accepted.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub message_id: Option<String>,
    #[serde(default)]
    pub mail_from: String,
    #[serde(default)]
    pub rcpt_tos: Vec<String>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub body: String,
}

impl Received {
    /// Every value of a header (names compared without case).
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub struct Sink {
    pub port: u16,
    log: PathBuf,
    child: Child,
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Python that has aiosmtpd (Debian's), if any.
pub fn python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

impl Sink {
    /// Starts a server logging to `dir/smtp.jsonl`; `extra` are more arguments (`--reject A`).
    /// Returns `None` (after saying so) where aiosmtpd is not installed, unless the CI asks
    /// for it with `CADENCE_REQUIRE_SMTP`.
    pub fn start(dir: &Path, port: u16, extra: &[&str]) -> Option<Sink> {
        let Some(py) = python() else {
            if std::env::var_os("CADENCE_REQUIRE_SMTP").is_some() {
                panic!("python3-aiosmtpd is required (CADENCE_REQUIRE_SMTP is set)");
            }
            eprintln!(
                "SKIPPED: python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)"
            );
            return None;
        };
        let log = dir.join("smtp.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = Command::new(py)
            .arg(script)
            .arg(port.to_string())
            .arg(&log)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Some(Sink { port, log, child })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
