//! The machine and the workspace: CPU, load, toolchain, where binaries are built, and child
//! processes that are stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

/// This binary's path, read at start-up: `cargo bench` (scenario 2) rebuilds the package's
/// binaries in place, after which `current_exe()` names a deleted file.
static SELF_EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Records this binary's path; call first thing in `main`.
pub fn remember_self_exe() {
    if let Ok(path) = std::env::current_exe() {
        let _ = SELF_EXE.set(path);
    }
}

/// This binary's path as it was at start-up.
pub fn self_exe() -> anyhow::Result<PathBuf> {
    match SELF_EXE.get() {
        Some(path) => Ok(path.clone()),
        None => std::env::current_exe().context("cannot find the bench binary"),
    }
}

/// What the benchmarks ran on.
#[derive(Debug, Clone)]
pub struct Machine {
    /// `nproc`.
    pub cpus: usize,
    /// The first `model name` of `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `rustc --version`.
    pub rustc: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// The kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads the machine's description; unknown parts are `unknown`.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(|| "unknown".to_string(), |(_, m)| m.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_mib = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024);
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            rustc: command_line("rustc", &["--version"]),
            memory_mib,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |s| s.trim().to_string()),
        }
    }
}

/// The first line a command prints, or `unknown`.
pub fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The current time in UTC as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The workspace root (where the root `Cargo.toml` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The workspace's target directory, as cargo sees it (`CARGO_TARGET_DIR` respected).
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed");
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cannot read cargo metadata")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

/// The `cargo` to run: the one that runs us, else the one on the PATH.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The release binaries of the CLI and the emulator, built first.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `nateq`.
    pub cli: PathBuf,
    /// `nateq-emulator`.
    pub emulator: PathBuf,
}

impl Binaries {
    /// Runs `cargo build --release -p nateq-cli -p nateq-emulator` and finds the binaries.
    pub fn build() -> anyhow::Result<Binaries> {
        eprintln!("building the release binaries of nateq-cli and nateq-emulator");
        let status = Command::new(cargo())
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "nateq-cli",
                "-p",
                "nateq-emulator",
            ])
            .current_dir(workspace_root())
            .status()
            .context("cannot run cargo build")?;
        if !status.success() {
            bail!("cargo build of nateq-cli and nateq-emulator failed");
        }
        let release = target_dir()?.join("release");
        let binaries = Binaries {
            cli: release.join("nateq"),
            emulator: release.join("nateq-emulator"),
        };
        for path in [&binaries.cli, &binaries.emulator] {
            if !path.is_file() {
                bail!("{} was not built", path.display());
            }
        }
        Ok(binaries)
    }
}

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The first line of its standard output, split on whitespace.
    pub first_line: Vec<String>,
}

impl Server {
    /// Starts `command` and waits (up to 30 s) for its first line on stdout.
    pub fn start(mut command: Command, what: &str) -> anyhow::Result<Server> {
        let mut child = command
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the child never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = Server {
            child,
            first_line: Vec::new(),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .with_context(|| format!("{what} printed no first line within 30 s"))?;
        server.first_line = line.split_whitespace().map(str::to_string).collect();
        if server.first_line.is_empty() {
            bail!("{what} exited before printing its address");
        }
        Ok(server)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The emulator binary, started on a free port with `demo` demo contacts and warn-level logs.
#[derive(Debug)]
pub struct EmulatorProcess {
    /// The process, stopped when this is dropped.
    server: Server,
    /// Its base URL (ending in `/api/v1`).
    pub base_url: String,
    /// The demo key with write scope.
    pub api_key: String,
}

impl EmulatorProcess {
    /// Starts it.
    pub fn start(binaries: &Binaries, demo: usize) -> anyhow::Result<EmulatorProcess> {
        Self::start_with(binaries, &["--demo-contacts", &demo.to_string()])
    }

    /// Starts it on a free port with these flags.
    pub fn start_with(binaries: &Binaries, flags: &[&str]) -> anyhow::Result<EmulatorProcess> {
        let mut command = Command::new(&binaries.emulator);
        command
            .args(["--port", "0"])
            .args(flags)
            .env("RUST_LOG", "warn");
        let server = Server::start(command, "the emulator")?;
        let (base_url, api_key) = match server.first_line.as_slice() {
            [url, key, ..] => (url.clone(), key.clone()),
            other => bail!("unexpected first line of the emulator: {other:?}"),
        };
        Ok(EmulatorProcess {
            server,
            base_url,
            api_key,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// `host:port` of the emulator.
    pub fn authority(&self) -> &str {
        self.base_url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
    }

    /// Puts the emulator back to its seed state (`POST /_emulator/reset`).
    pub fn reset(&self) -> anyhow::Result<()> {
        let origin = self.base_url.trim_end_matches("/api/v1");
        http_request(
            self.authority(),
            "POST",
            "/_emulator/reset",
            &self.api_key,
            "",
        )
        .map(drop)
        .with_context(|| format!("cannot reset the emulator at {origin}"))
    }
}

/// One blocking HTTP/1.1 request on loopback; the body of a 2xx answer, an error otherwise.
pub fn http_request(
    authority: &str,
    method: &str,
    path: &str,
    key: &str,
    body: &str,
) -> anyhow::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(authority)
        .with_context(|| format!("cannot connect to {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers in the response")?;
    let head = String::from_utf8_lossy(response.get(..split).unwrap_or_default());
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with('2') {
        bail!("{method} {path} answered {status}");
    }
    Ok(response.get(split + 4..).unwrap_or_default().to_vec())
}

/// Whether `program` can be run (found on the PATH).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        let now = now_utc();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }
}
