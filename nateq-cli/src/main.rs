//! `nateq`: update Nateq contacts from the shell, one or thousands, on the API or the embedded
//! emulator.

fn main() -> std::process::ExitCode {
    nateq_cli::main()
}
