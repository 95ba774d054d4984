//! Progress of `update-many` on stderr: a bar on a terminal, a line every 10 s otherwise, or
//! nothing with `--quiet`. For a file, the share of it read gives a percentage and an ETA.

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a line is printed when stderr is not a terminal.
pub const LINE_PERIOD: Duration = Duration::from_secs(10);

/// How often the bar's message (percentage, ETA, failures) is refreshed on a terminal.
const BAR_PERIOD: Duration = Duration::from_millis(250);

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bar,
    Lines,
    Quiet,
}

/// The progress display of one run.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    mode: Mode,
    /// The input's size in bytes, when it is a file.
    total: Option<u64>,
    /// Bytes of input read so far.
    read: Arc<AtomicU64>,
    started: Instant,
    rows: u64,
}

impl Progress {
    /// Progress for an input of `total` bytes (if known) whose reader counts into `read`.
    pub fn new(quiet: bool, total: Option<u64>, read: Arc<AtomicU64>) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        let bar = if mode == Mode::Bar {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{spinner} {pos} rows in {elapsed} ({per_sec}) {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            mode,
            total,
            read,
            started: Instant::now(),
            rows: 0,
        }
    }

    /// How often [`tick`](Self::tick) should be called, if at all.
    pub fn period(&self) -> Option<Duration> {
        match self.mode {
            Mode::Bar => Some(BAR_PERIOD),
            Mode::Lines => Some(LINE_PERIOD),
            Mode::Quiet => None,
        }
    }

    /// One more row finished.
    pub fn inc(&mut self) {
        self.rows += 1;
        self.bar.inc(1);
    }

    /// Refreshes the bar, or prints a progress line.
    pub fn tick(&self, failed: u64) {
        let elapsed = self.started.elapsed();
        let read = self.read.load(Ordering::Relaxed);
        let share = share_text(read, self.total, elapsed);
        match self.mode {
            Mode::Bar => {
                let failed = if failed > 0 {
                    format!(" {failed} failed")
                } else {
                    String::new()
                };
                self.bar.set_message(format!("{share}{failed}"));
            }
            Mode::Lines => eprintln!("{}", line(self.rows, failed, &share, elapsed)),
            Mode::Quiet => {}
        }
    }

    /// Runs `f` (which prints on stderr) without the bar in the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Counts the bytes read through it into a shared counter.
#[derive(Debug)]
pub struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R> Counted<R> {
    /// Wraps `inner`, counting into `read`.
    pub fn new(inner: R, read: Arc<AtomicU64>) -> Self {
        Counted { inner, read }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// `"42% of the input, ETA 1m 20s"` from the bytes read, or `""` when the size is unknown or
/// nothing was read yet.
fn share_text(read: u64, total: Option<u64>, elapsed: Duration) -> String {
    let Some(total) = total.filter(|&t| t > 0) else {
        return String::new();
    };
    let read = read.min(total);
    let percent = read * 100 / total;
    if read == 0 {
        return format!("{percent}% of the input");
    }
    let left = elapsed.as_secs_f64() * (total - read) as f64 / read as f64;
    let eta = Duration::from_secs(left.round() as u64);
    format!(
        "{percent}% of the input, ETA {}",
        humantime::format_duration(eta)
    )
}

/// The line printed every [`LINE_PERIOD`] when stderr is not a terminal.
fn line(rows: u64, failed: u64, share: &str, elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    let share = if share.is_empty() {
        String::new()
    } else {
        format!(", {share}")
    };
    format!("update-many progress: {rows} rows ({failed} failed) in {secs}s{share}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_follows_the_share_of_the_input_read() {
        let ten = Duration::from_secs(10);
        assert_eq!(
            share_text(250, Some(1000), ten),
            "25% of the input, ETA 30s"
        );
        assert_eq!(share_text(0, Some(1000), ten), "0% of the input");
        assert_eq!(
            share_text(1000, Some(1000), ten),
            "100% of the input, ETA 0s"
        );
        assert_eq!(share_text(250, None, ten), "");
        assert_eq!(
            line(1234, 2, &share_text(500, Some(1000), ten), ten),
            "update-many progress: 1234 rows (2 failed) in 10s, 50% of the input, ETA 10s"
        );
        assert_eq!(
            line(7, 0, "", ten),
            "update-many progress: 7 rows (0 failed) in 10s"
        );
    }

    #[test]
    fn the_reader_counts_what_it_reads() {
        let read = Arc::new(AtomicU64::new(0));
        let mut text = String::new();
        Counted::new(&b"hello\nworld\n"[..], read.clone())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(read.load(Ordering::Relaxed), 12);
    }
}
