//! `cargo xtask man --out DIR`: man pages of `nateq` and its subcommands, from its clap command.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;

/// Writes `nateq.1`, `nateq-contacts.1`, `nateq-contacts-update.1`, ... into `out` (created if
/// needed) and returns their paths, sorted.
pub fn man(out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    clap_mangen::generate_to(nateq_cli::Cli::command(), out)
        .with_context(|| format!("cannot write the man pages into {}", out.display()))?;
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "1") {
            pages.push(path);
        }
    }
    pages.sort();
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visible command has a page, and each page names every long flag of its command.
    #[test]
    fn man_pages_name_every_command_and_flag() -> Result<()> {
        let out = std::env::temp_dir().join(format!("nateq-xtask-man-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let pages = man(&out)?;
        let names: Vec<String> = pages
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        for expected in [
            "nateq.1",
            "nateq-contacts.1",
            "nateq-contacts-update.1",
            "nateq-contacts-update-many.1",
            "nateq-emulator.1",
            "nateq-completions.1",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} not in {names:?}"
            );
        }

        let mut cli = nateq_cli::Cli::command();
        cli.build();
        let mut checked = 0;
        let mut stack = vec![(String::from("nateq"), cli)];
        while let Some((name, command)) = stack.pop() {
            let page = std::fs::read_to_string(out.join(format!("{name}.1")))
                .with_context(|| format!("no page for {name}"))?;
            // roff escapes each `-` as `\-`.
            assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{name}: {page}");
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    let flag = format!("\\-\\-{}", long.replace('-', "\\-"));
                    assert!(page.contains(&flag), "{name}.1 lacks {flag}");
                    checked += 1;
                }
            }
            for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
                if sub.get_name() != "help" {
                    stack.push((format!("{name}-{}", sub.get_name()), sub.clone()));
                }
            }
        }
        // The emulator's and the update's flags alone are dozens.
        assert!(checked > 30, "only {checked} flags checked");
        let emulator = std::fs::read_to_string(out.join("nateq-emulator.1"))?;
        assert!(emulator.contains("\\-\\-rate\\-limit"));
        std::fs::remove_dir_all(&out)?;
        Ok(())
    }
}
