//! The command line: every subcommand, flag and help text of `nateq`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use nateq_api::ContactUpdate;
use nateq_api::fields::{FieldKind, UPDATE_CONTACT_FIELDS};

/// Update Nateq contacts, one or thousands, on the Nateq API or the embedded emulator.
///
/// Try it with no account and no network: `nateq --emulator contacts update ct_demo_1 --name "Ada"`.
#[derive(Debug, Parser)]
#[command(name = "nateq", version, max_term_width = 100)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Connection, output and logging options.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown at the end of `nateq --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    other error (e.g. the input file cannot be read, a production run not confirmed)
  2    usage error (bad flag or value)
  3    validation error: the input was refused before anything was sent (or a dry run found
       invalid rows)
  4    API error: the API answered with an error (e.g. 404 NOT_FOUND)
  5    network error or timeout
  6    configuration error (e.g. no API key)
  7    update-many: some rows failed (see the summary and the report)
  8    drift: the API's response does not match openapi.yaml; an update answered with a 2xx
       was applied all the same (contacts update prints the contact as it came back;
       update-many records such rows as ok and counts them as drifted; spec check found drift)
  9    update-many: the report is in use by another run (nothing was sent)
  10   update-many: the report (or --failed-out) cannot be written, e.g. the disk is full; the
       run stopped taking rows: --resume applies the rest
  130  interrupted (Ctrl-C)";

/// Options that apply to every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Base URL of the API
    #[arg(
        long,
        global = true,
        env = "NATEQ_BASE_URL",
        value_name = "URL",
        help_heading = "Connection"
    )]
    pub base_url: Option<String>,

    /// API key (tg_live_... or tg_test_...); prefer the environment variable, so the key
    /// stays out of the shell history
    #[arg(
        long,
        global = true,
        env = "NATEQ_API_KEY",
        hide_env_values = true,
        value_name = "KEY",
        help_heading = "Connection"
    )]
    pub api_key: Option<String>,

    /// Start the embedded emulator in this process and send every request to it (with its
    /// demo key): the zero-setup way to try the tool
    #[arg(long, global = true, help_heading = "Connection")]
    pub emulator: bool,

    /// Timeout of one attempt, e.g. `30s`, `500ms` or `10` (seconds) [default: 30s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, help_heading = "Connection")]
    pub timeout: Option<Duration>,

    /// Send at most N requests per second (a number above 0, e.g. `20` or `0.5`), on top of
    /// the slow-down that the API's 429 answers trigger [default: no fixed limit]
    #[arg(long, global = true, value_name = "N", value_parser = parse_rate, help_heading = "Connection")]
    pub rate: Option<f64>,

    /// How many times a transient failure (connection error, timeout, 408, 429, 5xx) is
    /// retried [default: 2]
    #[arg(long, global = true, value_name = "N", help_heading = "Connection")]
    pub max_retries: Option<u32>,

    /// How the contact is printed on stdout
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Pretty, help_heading = "Output")]
    pub output: OutputFormat,

    /// Log what happens on stderr (-v info, -vv debug, -vvv trace); the key is never logged.
    /// RUST_LOG overrides it
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// Worker threads of the async runtime (0: a single-threaded runtime, the fastest on
    /// small machines)
    #[arg(long, global = true, default_value_t = 0, hide = true)]
    pub worker_threads: usize,
}

/// How JSON is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Compact, one line
    Json,
    /// Indented, for people
    Pretty,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Update contacts
    #[command(subcommand)]
    Contacts(ContactsCommand),

    /// Check openapi.yaml against the API
    #[command(subcommand)]
    Spec(SpecCommand),

    /// Run the emulator in the foreground until Ctrl-C (same flags as `nateq-emulator`)
    Emulator(nateq_emulator::cli::EmulatorArgs),

    /// Print a shell completion script on stdout
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// `nateq contacts ...`
#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Update one contact and print it, as it is after the update, as JSON on stdout
    ///
    /// Only the fields given change; the others keep their value.
    Update(Box<UpdateArgs>),

    /// Update many contacts from a JSONL or CSV file, with bounded concurrency, a report and
    /// resume
    ///
    /// Each row is an `id` plus the fields to change, with the API's field names:
    /// JSONL `{"id":"ct_1","name":"Ada","doNotContact":true}`, or CSV with a header row
    /// `id,name,doNotContact` (an empty cell leaves the field unchanged).
    #[command(name = "update-many")]
    UpdateMany(UpdateManyArgs),
}

/// `nateq spec ...`
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Send a few safe probes to the API and check every response strictly against openapi.yaml
    ///
    /// The probes, each a no-op, sent as raw HTTP (the key only to the base URL):
    ///   noop        PUT /contacts/{id} with `{}`: changes nothing, returns the contact (200)
    ///   unknown-id  PUT /contacts/{id} with `{}` for an id that does not exist (404 envelope)
    ///   over-long   PUT /contacts/{id} with the first request field that has a maxLength, one
    ///               character over it: the API must refuse it (400 validation envelope); if it
    ///               accepts it (drift), the field's previous value is put back
    ///   wrong-key   PUT /contacts/{id} with `{}` and a key that does not exist (401 envelope)
    ///
    /// Each response is checked for its status (documented for the operation, and the one the
    /// spec gives for the probe), its Content-Type, and its body against the schema: types,
    /// nullable, required, enum values and limits, with every object checked as closed (a
    /// property the spec does not name is reported with its JSON type). The headers the client
    /// relies on (Retry-After, X-RateLimit-*, x-request-id) are reported present or absent.
    /// Each finding names the JSON path, what the spec says, what came back, and the line of
    /// openapi.yaml to edit. Exits 0 without drift, 8 with drift.
    ///
    /// Use a sandbox key (tg_test_): a production key (tg_live_) is refused unless --yes is
    /// given, although every probe is a no-op.
    #[command(verbatim_doc_comment)]
    Check(SpecCheckArgs),
}

/// `nateq spec check ...`
#[derive(Debug, Args)]
pub struct SpecCheckArgs {
    /// The contact the probes address: it must exist, and is left as it is [default with
    /// --emulator: ct_demo_1]
    #[arg(long, value_name = "ID")]
    pub contact: Option<String>,

    /// Check this copy of the spec instead of the openapi.yaml built into `nateq` (e.g. an
    /// edited one)
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,

    /// Probe with a production key (tg_live_) too; every probe is a no-op
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `nateq contacts update <ID> [FIELDS]`
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// ID of the contact to update
    #[arg(value_name = "ID")]
    pub id: String,

    /// The request body as one JSON object, from a file or `-` (stdin), e.g.
    /// `{"name":"Ada","doNotContact":true}`: every property is checked (its name, the type and
    /// limits of its value) before anything is sent; field flags given too win over it
    #[arg(long, value_name = "FILE|-")]
    pub body: Option<PathBuf>,

    /// The fields to change.
    #[command(flatten)]
    pub fields: FieldArgs,
}

/// One flag per property of the request body (`UpdateContactRequest` in openapi.yaml), made
/// from the generated field table: the flag is the property's name in kebab case, its help the
/// spec's description, its value parser the property's kind.
#[derive(Debug, Clone, Default)]
pub struct FieldArgs {
    /// The values given, by the API's property name.
    values: serde_json::Map<String, serde_json::Value>,
}

/// The id of a field's argument in clap's matches.
fn arg_id(field: &nateq_api::fields::Field) -> &'static str {
    field.rust_name
}

impl clap::FromArgMatches for FieldArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut values = serde_json::Map::new();
        for field in UPDATE_CONTACT_FIELDS {
            let value = match field.kind {
                FieldKind::Boolean => matches
                    .get_one::<bool>(arg_id(field))
                    .map(|b| serde_json::Value::Bool(*b)),
                _ => matches
                    .get_one::<String>(arg_id(field))
                    .map(|s| serde_json::Value::String(s.clone())),
            };
            if let Some(value) = value {
                values.insert(field.name.to_string(), value);
            }
        }
        Ok(FieldArgs { values })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = FieldArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for FieldArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        let mut command = command.next_help_heading("Fields (only those given change)");
        for field in UPDATE_CONTACT_FIELDS {
            let mut help = field.description.to_string();
            if let Some(limit) = field.max_length
                && !help.contains(&format!("at most {limit}"))
            {
                help.push_str(&format!(" (at most {limit} characters)"));
            }
            let arg = clap::Arg::new(arg_id(field))
                .long(field.flag)
                .help(help)
                .action(clap::ArgAction::Set);
            let arg = match field.kind {
                FieldKind::Boolean => arg
                    .value_name("BOOL")
                    .value_parser(clap::value_parser!(bool)),
                FieldKind::Enum => arg
                    .value_name(field.flag.to_uppercase())
                    .value_parser(clap::builder::PossibleValuesParser::new(field.values)),
                _ => arg.value_name("TEXT"),
            };
            command = command.arg(arg);
        }
        command
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        FieldArgs::augment_args(command)
    }
}

impl FieldArgs {
    /// The update these flags describe.
    pub fn to_update(&self) -> anyhow::Result<ContactUpdate> {
        serde_json::from_value(serde_json::Value::Object(self.values.clone()))
            .context("the field flags do not form an update")
    }

    /// The values given, by the API's property name.
    pub fn values(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.values
    }
}

/// `nateq contacts update-many ...`
#[derive(Debug, Args)]
pub struct UpdateManyArgs {
    /// The rows: a file, or `-` for stdin
    #[arg(long, value_name = "FILE|-")]
    pub input: PathBuf,

    /// Format of the input [default: from the file extension (.csv is csv), else jsonl]
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,

    /// At most this many requests in flight
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,

    /// Write one JSON line per row (its outcome) to this file, written as each row completes
    /// and synced to the disk every second; one run at a time holds it (exit 9 otherwise)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Skip the rows the report already records as done, and append to it
    #[arg(long, requires = "report")]
    pub resume: bool,

    /// With --resume: go on past report lines that cannot be read (their rows are sent again)
    /// instead of stopping at the first one
    #[arg(long, requires = "resume")]
    pub force: bool,

    /// Merge the rows of a contact that wait behind its row in flight into one request (later
    /// values win field by field); the contact ends as if every row had been applied in order,
    /// and the report records every row (`coalesced` into the row whose request carried it).
    /// Off by default: a field that several rows change then gets one activity (from the first
    /// old value to the last new one) instead of one per row
    #[arg(long)]
    pub coalesce: bool,

    /// Write each failed row to this file in the input's format, with its error (JSONL: an
    /// `_error` object; CSV: an `_error` column), ready to fix and feed back with --input,
    /// which ignores `_error`
    #[arg(long, value_name = "FILE")]
    pub failed_out: Option<PathBuf>,

    /// Read and validate every row as a real run would, and send nothing (no server or key
    /// needed); the report says `valid` or `invalid` per row. Exits 0 when every row is
    /// valid, 3 otherwise
    #[arg(long, conflicts_with = "resume")]
    pub dry_run: bool,

    /// No progress and no summary on stderr (errors, failed rows and the `--output json`
    /// summary are still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Do not ask for a confirmation before updating production data (a `tg_live_` key) on a
    /// terminal; the banner is still shown
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Deadline of one row: its attempts, the backoff between them and the waits the API's
    /// rate limit asks for; a throttled row keeps waiting until then instead of failing
    #[arg(long, value_name = "DURATION", value_parser = parse_deadline, default_value = "10m")]
    pub row_deadline: Duration,
}

/// The input formats of `update-many`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// One JSON object per line: `{"id":"ct_1","name":"Ada"}`
    Jsonl,
    /// A header row (`id` and field names), then one row per contact
    Csv,
}

/// Parses a rate: a finite number of requests per second above 0.
fn parse_rate(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{value:?} is not a rate: give a number of requests per second above 0"
        )),
    }
}

/// Parses a duration above zero (a zero deadline would fail every row unsent).
fn parse_deadline(value: &str) -> Result<Duration, String> {
    match parse_duration(value)? {
        Duration::ZERO => Err(format!(
            "{value:?} is not a deadline: it must be above zero"
        )),
        deadline => Ok(deadline),
    }
}

/// Parses `30s`, `1m 30s`, `500ms`, or a plain number of seconds (`2.5`).
fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("{value:?} is not a valid number of seconds"));
    }
    humantime::parse_duration(value).map_err(|e| format!("{value:?} is not a duration: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_deadline("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_deadline("0").is_err());
        assert!(parse_deadline("0s").is_err());
    }

    #[test]
    fn rates_are_positive_finite_numbers() {
        assert_eq!(parse_rate("20"), Ok(20.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["0", "-1", "inf", "NaN", "fast", ""] {
            assert!(parse_rate(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// Every field of the generated table, given as its flag, reaches the update with its
    /// value: a value of its own for each text field, both booleans, an allowed enum value.
    #[test]
    fn every_flag_reaches_the_update() {
        let mut args = vec![
            "nateq".to_string(),
            "contacts".into(),
            "update".into(),
            "ct_1".into(),
        ];
        let mut expected = serde_json::Map::new();
        for (i, field) in UPDATE_CONTACT_FIELDS.iter().enumerate() {
            let value = match field.kind {
                FieldKind::Boolean => serde_json::Value::Bool(i % 2 == 0),
                FieldKind::Enum => serde_json::Value::from(field.values[i % field.values.len()]),
                _ => serde_json::Value::from(format!("{} {i}", field.name)),
            };
            let text = match &value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            args.push(format!("--{}={text}", field.flag));
            expected.insert(field.name.to_string(), value);
        }
        assert_eq!(expected.len(), UPDATE_CONTACT_FIELDS.len());
        assert!(expected.values().any(|v| v == true) && expected.values().any(|v| v == false));
        let cli = Cli::try_parse_from(&args).unwrap();
        let Command::Contacts(ContactsCommand::Update(args)) = cli.command else {
            panic!("not an update");
        };
        let json = serde_json::to_value(args.fields.to_update().unwrap()).unwrap();
        assert_eq!(json, serde_json::Value::Object(expected));
    }

    #[test]
    fn booleans_take_only_true_or_false() {
        for bad in ["yes", "1", "TRUE!", ""] {
            let parsed = Cli::try_parse_from([
                "nateq",
                "contacts",
                "update",
                "ct_1",
                &format!("--do-not-contact={bad}"),
            ]);
            assert!(parsed.is_err(), "{bad:?} accepted");
        }
    }
}
