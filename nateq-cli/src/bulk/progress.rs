//! Progress of `update-many` on stderr: a bar on a terminal, a line every 10 s otherwise, or
//! nothing with `--quiet`. The percentage and the ETA come from the rows finished and the rows
//! known: every row once the input is read to its end; before that, for a file, the rows read
//! so far scaled by the share of the file read.

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// Rows finished by this run (done, failed, superseded).
    rows: u64,
    /// Rows skipped (`--resume`): finished, but at no cost.
    skipped: u64,
    /// Rows parsed from the input (by the reader's thread).
    parsed: Arc<ParsedRows>,
}

/// The rows the input's reader has parsed so far, and whether it reached the end.
#[derive(Debug, Default)]
pub struct ParsedRows {
    /// Rows parsed (valid or not).
    pub rows: AtomicU64,
    /// The input was read to its end (or cannot be read further).
    pub ended: AtomicBool,
}

impl Progress {
    /// Progress for an input of `total` bytes (if known) whose reader counts into `read`.
    /// `parsed` counts the rows the reader parsed.
    pub fn new(
        quiet: bool,
        total: Option<u64>,
        read: Arc<AtomicU64>,
        parsed: Arc<ParsedRows>,
    ) -> Progress {
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
            skipped: 0,
            parsed,
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

    /// `n` more rows finished.
    pub fn inc_by(&mut self, n: u64) {
        self.rows += n;
        self.bar.inc(n);
    }

    /// One more row skipped (done in an earlier run).
    pub fn skip(&mut self) {
        self.skipped += 1;
    }

    /// The rows of the input, as far as they are known.
    fn known(&self) -> Known {
        let rows = self.parsed.rows.load(Ordering::Relaxed);
        if self.parsed.ended.load(Ordering::Relaxed) {
            return Known::Exactly(rows);
        }
        let bytes = self.read.load(Ordering::Relaxed);
        match self.total.filter(|&t| t > 0) {
            Some(total) if bytes > 0 && rows > 0 => {
                let scaled = rows as f64 * total as f64 / bytes.min(total) as f64;
                Known::About((scaled.round() as u64).max(rows))
            }
            _ => Known::AtLeast(rows),
        }
    }

    /// Refreshes the bar, or prints a progress line.
    pub fn tick(&self, failed: u64) {
        let elapsed = self.started.elapsed();
        let share = share_text(self.rows, self.skipped, self.known(), elapsed);
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

/// How many rows the input has, as far as is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// The input was read to its end.
    Exactly(u64),
    /// Estimated from the share of the file read.
    About(u64),
    /// Read so far, from an input of unknown size.
    AtLeast(u64),
}

/// `"42% of 3000 rows, ETA 1m 20s"` from the rows finished (`rows` by this run, `skipped` as
/// done earlier) and the rows known; `""` while nothing is known. The ETA is the rows left at
/// the pace of this run so far, so rows that take long (retries, waits) slow it down instead
/// of being hidden behind a fully read input.
fn share_text(rows: u64, skipped: u64, known: Known, elapsed: Duration) -> String {
    let finished = rows + skipped;
    let (total, of) = match known {
        Known::Exactly(total) => (total, format!("{total} rows")),
        Known::About(total) => (total, format!("about {total} rows")),
        Known::AtLeast(read) if read > 0 => return format!("{read} rows read"),
        Known::AtLeast(_) => return String::new(),
    };
    if total == 0 {
        return String::new();
    }
    let finished = finished.min(total);
    let percent = finished * 100 / total;
    if rows == 0 {
        return format!("{percent}% of {of}");
    }
    let left = elapsed.as_secs_f64() * (total - finished) as f64 / rows as f64;
    let eta = Duration::from_secs(left.round() as u64);
    format!(
        "{percent}% of {of}, ETA {}",
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
    fn the_percentage_and_eta_follow_the_rows_finished_not_the_input_read() {
        let ten = Duration::from_secs(10);
        // Every row read, 300 of 1000 still being retried: not 100%, and an ETA that is not 0.
        assert_eq!(
            share_text(700, 0, Known::Exactly(1000), ten),
            "70% of 1000 rows, ETA 4s"
        );
        assert_eq!(
            share_text(1000, 0, Known::Exactly(1000), ten),
            "100% of 1000 rows, ETA 0s"
        );
        // Skipped rows count as finished, but not towards the pace.
        assert_eq!(
            share_text(250, 500, Known::Exactly(1000), ten),
            "75% of 1000 rows, ETA 10s"
        );
        assert_eq!(
            share_text(250, 0, Known::About(1000), ten),
            "25% of about 1000 rows, ETA 30s"
        );
        assert_eq!(
            share_text(0, 0, Known::Exactly(1000), ten),
            "0% of 1000 rows"
        );
        assert_eq!(share_text(5, 0, Known::AtLeast(40), ten), "40 rows read");
        assert_eq!(share_text(0, 0, Known::AtLeast(0), ten), "");
        assert_eq!(share_text(0, 0, Known::Exactly(0), ten), "");
        assert_eq!(
            line(
                1234,
                2,
                &share_text(1234, 0, Known::Exactly(2468), ten),
                ten
            ),
            "update-many progress: 1234 rows (2 failed) in 10s, 50% of 2468 rows, ETA 10s"
        );
        assert_eq!(
            line(7, 0, "", ten),
            "update-many progress: 7 rows (0 failed) in 10s"
        );
    }

    #[test]
    fn the_rows_known_are_scaled_by_the_share_of_the_file_read() {
        let read = Arc::new(AtomicU64::new(0));
        let parsed = Arc::new(ParsedRows::default());
        let progress = Progress::new(true, Some(1000), read.clone(), parsed.clone());
        assert_eq!(progress.known(), Known::AtLeast(0));
        parsed.rows.store(10, Ordering::Relaxed);
        read.store(250, Ordering::Relaxed);
        assert_eq!(progress.known(), Known::About(40));
        parsed.ended.store(true, Ordering::Relaxed);
        assert_eq!(progress.known(), Known::Exactly(10));
        let parsed = Arc::new(ParsedRows::default());
        let stdin = Progress::new(true, None, Arc::default(), parsed.clone());
        parsed.rows.store(1, Ordering::Relaxed);
        assert_eq!(stdin.known(), Known::AtLeast(1));
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
