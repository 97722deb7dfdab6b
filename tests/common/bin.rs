//! The real binary, run like a user runs it: `cadence(&[...]).env(..).status(0)`.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub struct Run {
    args: Vec<String>,
    stdin: Option<String>,
    env: Vec<(String, String)>,
    dir: String,
}

pub fn cadence<S: AsRef<str>>(args: &[S]) -> Run {
    Run {
        args: args.iter().map(|s| s.as_ref().to_string()).collect(),
        stdin: None,
        env: Vec::new(),
        dir: env!("CARGO_MANIFEST_DIR").to_string(),
    }
}

impl Run {
    pub fn stdin(mut self, s: &str) -> Run {
        self.stdin = Some(s.to_string());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Run {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn dir(mut self, d: &Path) -> Run {
        self.dir = d.display().to_string();
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cadence"));
        c.args(&self.args)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env_remove("CADENCE_DB")
            .env_remove("CADENCE_SMTP_URL")
            .env_remove("CADENCE_SECRET");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Starts the process without waiting (its output is discarded).
    pub fn spawn(self) -> Child {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs")
    }

    /// Starts the process without waiting, its standard error written to `log` (appended).
    pub fn spawn_logged(self, log: &Path) -> Child {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the binary runs")
    }

    pub fn output(self) -> Output {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        {
            let mut stdin = child.stdin.take().unwrap();
            if let Some(s) = &self.stdin {
                stdin.write_all(s.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    /// Runs and checks the exit status; returns (stdout, stderr).
    pub fn status(self, code: i32) -> (String, String) {
        let args = self.args.join(" ");
        let out = self.output();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(code),
            "cadence {args}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }
}
