//! `partner-audit` binary: parse arguments, run, map the outcome to an exit status
//! (0 clean, 1 findings at or above `--fail-on`, 2 usage or input error).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = partner_audit::cli::Cli::parse();
    match partner_audit::app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
