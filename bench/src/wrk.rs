//! `wrk` with a Lua script that sends the benchmarks' PUT (path, JSON body, bearer key), and
//! the parsing of its summary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// What one wrk run reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrkResult {
    /// `Requests/sec`.
    pub requests_per_sec: f64,
    /// Completed requests.
    pub requests: u64,
    /// `Non-2xx or 3xx responses` (0 when wrk prints none).
    pub non_2xx: u64,
    /// Connect, read, write and timeout errors together.
    pub socket_errors: u64,
}

/// Writes the Lua script: `PUT /api/v1/contacts/ct_demo_N` with `{"name":"Bench N"}`, N cycling
/// over `contacts` demo contacts, each wrk thread starting at its own offset.
pub fn write_script(dir: &Path, api_key: &str, contacts: usize) -> anyhow::Result<PathBuf> {
    let script = format!(
        r#"-- PUT /api/v1/contacts/ct_demo_N with a JSON body, N cycling over the demo contacts.
local contacts = {contacts}
local headers = {{ ["Authorization"] = "Bearer {api_key}", ["Content-Type"] = "application/json" }}
local counter = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  local id = counter % contacts + 1
  return wrk.format("PUT", "/api/v1/contacts/ct_demo_" .. id, headers, '{{"name":"Bench ' .. id .. '"}}')
end
"#
    );
    std::fs::create_dir_all(dir)?;
    let path = dir.join("put.lua");
    std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Runs `wrk -t threads -c connections -d secs -s script http://authority`.
pub fn run(
    script: &Path,
    authority: &str,
    threads: usize,
    connections: usize,
    secs: u64,
) -> anyhow::Result<WrkResult> {
    let output = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(script)
        .arg(format!("http://{authority}"))
        .output()
        .context("cannot run wrk (install it: apt-get install -y wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&text).with_context(|| format!("cannot read wrk's output:\n{text}"))
}

/// Reads wrk's summary.
pub fn parse(text: &str) -> Option<WrkResult> {
    let mut result = WrkResult {
        requests_per_sec: f64::NAN,
        requests: 0,
        non_2xx: 0,
        socket_errors: 0,
    };
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            result.requests_per_sec = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.non_2xx = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            result.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        } else if line.contains(" requests in ") {
            result.requests = line.split_whitespace().next()?.parse().ok()?;
        }
    }
    result.requests_per_sec.is_finite().then_some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_read() {
        let text = "Running 10s test @ http://127.0.0.1:4010
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  456.00us  10.00ms   80.00%
    Req/Sec    12.00k     1.00k   14.00k    70.00%
  240000 requests in 10.00s, 250.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  23999.50
Transfer/sec:     25.00MB
";
        let r = parse(text).unwrap();
        assert_eq!(r.requests_per_sec, 23999.5);
        assert_eq!(r.requests, 240000);
        assert_eq!(r.non_2xx, 7);
        assert_eq!(r.socket_errors, 3);
        assert!(parse("nothing").is_none());
    }
}
