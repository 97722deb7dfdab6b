//! Real mail servers on loopback for the tests of `cadence run --imap`, from Debian's packages:
//! Postfix takes the runner's SMTP and delivers by LMTP to Dovecot, which keeps the mailboxes
//! and serves them by IMAP. A recipient Dovecot does not know is refused at LMTP, and Postfix
//! then bounces the message to its sender, as an MTA does. Both run from a folder of their own
//! (configuration, queue, mail), on free ports; they need root, as Postfix's master does.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::smtp::free_port;

pub struct MailServers {
    pub dir: PathBuf,
    pub smtp_port: u16,
    pub imap_port: u16,
    pub lmtp_port: u16,
    dovecot: Child,
    _tmp: tempfile::TempDir,
}

/// The password of every mailbox.
pub const PASSWORD: &str = "secret-pw";

fn have(cmd: &str) -> bool {
    ["/usr/sbin/", "/usr/bin/", "/sbin/"]
        .iter()
        .any(|d| Path::new(&format!("{d}{cmd}")).exists())
}

impl MailServers {
    /// Starts both, with a mailbox for each address of `users` (at the domains given). `None`
    /// (after saying why) where they are not installed or this is not root, unless the CI asks
    /// for them with `CADENCE_REQUIRE_IMAP`.
    pub fn start(users: &[&str], domains: &[&str]) -> Option<MailServers> {
        let root = unsafe { libc::geteuid() } == 0;
        if !(have("dovecot") && have("postfix") && root) {
            let why = if root {
                "Dovecot or Postfix is not installed (apt-get install dovecot-imapd dovecot-lmtpd postfix)"
            } else {
                "Postfix's master runs only as root"
            };
            if std::env::var_os("CADENCE_REQUIRE_IMAP").is_some() {
                panic!(
                    "the IMAP tests need real mail servers (CADENCE_REQUIRE_IMAP is set): {why}"
                );
            }
            eprintln!("SKIPPED: {why}");
            return None;
        }
        let tmp = tempfile::Builder::new()
            .prefix("cadence-mx")
            .tempdir_in("/tmp")
            .unwrap();
        let dir = tmp.path().to_path_buf();
        set_mode(&dir, 0o755);
        for d in ["run", "state", "pf", "pfq", "pfdata"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::create_dir_all(dir.join("mail")).unwrap();
        set_mode(&dir.join("mail"), 0o777);
        let status = Command::new("chown")
            .arg("postfix")
            .arg(dir.join("pfdata"))
            .status()
            .unwrap();
        assert!(status.success());
        let (smtp_port, imap_port, lmtp_port) = (free_port(), free_port(), free_port());
        let users_file: String = users
            .iter()
            .map(|u| format!("{u}:{{PLAIN}}{PASSWORD}\n"))
            .collect();
        std::fs::write(dir.join("users"), users_file).unwrap();
        let d = dir.display();
        std::fs::write(
            dir.join("dovecot.conf"),
            format!(
                r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
recipient_delimiter = +
"#
            ),
        )
        .unwrap();
        let dovecot = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dovecot starts");
        std::fs::write(
            dir.join("pf/main.cf"),
            format!(
                "compatibility_level = 3.6
queue_directory = {d}/pfq
data_directory = {d}/pfdata
myhostname = mx.cadence.test
mydomain = cadence.test
myorigin = cadence.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
virtual_mailbox_domains = {domains}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
smtpd_recipient_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
lmtp_host_lookup = native
smtputf8_enable = no
maillog_file = {d}/postfix.log
maillog_file_prefixes = /tmp
alias_maps =
alias_database =
biff = no
",
                domains = domains.join(" ")
            ),
        )
        .unwrap();
        std::fs::write(dir.join("pf/master.cf"), master_cf(smtp_port)).unwrap();
        let out = Command::new("postfix")
            .arg("-c")
            .arg(dir.join("pf"))
            .arg("start")
            .output()
            .unwrap();
        let servers = MailServers {
            dir,
            smtp_port,
            imap_port,
            lmtp_port,
            dovecot,
            _tmp: tmp,
        };
        assert!(
            out.status.success(),
            "postfix did not start: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            servers.log("postfix.log")
        );
        for port in [smtp_port, imap_port, lmtp_port] {
            wait_for_port(port);
        }
        Some(servers)
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// `--imap` for a user's INBOX.
    pub fn imap_url(&self, user: &str) -> String {
        format!(
            "imap://{}:{PASSWORD}@127.0.0.1:{}/INBOX",
            user.replace('@', "%40"),
            self.imap_port
        )
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The messages in a user's mailbox (delivered, not yet read or read), oldest first.
    pub fn mailbox(&self, user: &str) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["cur", "new"] {
            let Ok(rd) = std::fs::read_dir(self.dir.join("mail").join(user).join(sub)) else {
                continue;
            };
            for e in rd.flatten() {
                let modified = e.metadata().and_then(|m| m.modified()).ok();
                out.push((
                    modified,
                    e.file_name(),
                    std::fs::read_to_string(e.path()).unwrap_or_default(),
                ));
            }
        }
        out.sort();
        out.into_iter().map(|(_, _, t)| t).collect()
    }

    /// Sends a message through Postfix, as a person's mail program does.
    pub fn send(&self, from: &str, to: &str, message: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.smtp_port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let expect = |s: &mut TcpStream, code: &str| {
            let mut buf = Vec::new();
            let mut b = [0u8; 1];
            loop {
                s.read_exact(&mut b).unwrap();
                buf.push(b[0]);
                if buf.ends_with(b"\r\n") {
                    let line = String::from_utf8_lossy(&buf).to_string();
                    if line.len() >= 4 && &line[3..4] == " " {
                        assert!(line.starts_with(code), "SMTP said {line}");
                        return;
                    }
                    buf.clear();
                }
            }
        };
        expect(&mut s, "220");
        for (cmd, code) in [
            ("EHLO client.test".to_string(), "250"),
            (format!("MAIL FROM:<{from}>"), "250"),
            (format!("RCPT TO:<{to}>"), "250"),
            ("DATA".to_string(), "354"),
        ] {
            s.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
            expect(&mut s, code);
        }
        let body = message.replace("\r\n", "\n").replace('\n', "\r\n");
        s.write_all(body.as_bytes()).unwrap();
        if !body.ends_with("\r\n") {
            s.write_all(b"\r\n").unwrap();
        }
        s.write_all(b".\r\n").unwrap();
        expect(&mut s, "250");
        s.write_all(b"QUIT\r\n").unwrap();
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(self.dir.join("pf"))
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.dovecot.kill();
        let _ = self.dovecot.wait();
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn wait_for_port(port: u16) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Postfix's services, none chrooted, with the SMTP server on loopback at `port`.
fn master_cf(port: u16) -> String {
    format!(
        "127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"
    )
}
