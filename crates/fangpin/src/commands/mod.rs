//! The subcommands.

pub mod admin;
pub mod alerts;
pub mod bench;
pub mod calendar;
pub mod campaign;
pub mod demo;
pub mod demo_oversight;
pub mod demo_questions;
pub mod screen;
pub mod serve;
pub mod transfer;

/// Reads a password from FANGPIN_PASSWORD, or one line of standard input.
pub fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("FANGPIN_PASSWORD") {
        return Ok(p);
    }
    use std::io::{BufRead, IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        eprint!("Password / 密码: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        anyhow::bail!("no password given: set FANGPIN_PASSWORD or type it on standard input / 未提供密码");
    }
    Ok(p)
}
