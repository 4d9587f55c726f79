//! Makes the README the crate's front page with its examples compiled as doctests.
//!
//! A README example may be preceded by an HTML comment that GitHub does not show:
//!
//! ```text
//! <!-- doctest: <attributes>
//! # hidden lines before the example
//! ---
//! # hidden lines after it
//! -->
//! ```
//!
//! Here the comment is removed, `<attributes>` (e.g. `no_run`) are added to the
//! example's fence and the hidden lines put around its code, so that rustdoc compiles
//! (and runs) the example as the README shows it.

use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=README.md");
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("README.md");
    std::fs::write(out, rustdoc_readme(&readme)).expect("write README.md for rustdoc");
}

fn rustdoc_readme(readme: &str) -> String {
    let mut out = String::with_capacity(readme.len() + 4096);
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(attributes) = line.strip_prefix("<!-- doctest:") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (mut head, mut tail, mut in_tail) = (Vec::new(), Vec::new(), false);
        for hidden in lines.by_ref() {
            match hidden {
                "-->" => break,
                "---" => in_tail = true,
                _ if in_tail => tail.push(hidden),
                _ => head.push(hidden),
            }
        }
        let fence = lines.next().expect("an example after a doctest comment");
        assert!(
            fence.starts_with("```rust"),
            "a doctest comment before {fence}"
        );
        let attributes = attributes.trim();
        if attributes.is_empty() {
            writeln!(out, "{fence}").unwrap();
        } else {
            writeln!(out, "{fence},{attributes}").unwrap();
        }
        for hidden in &head {
            writeln!(out, "{hidden}").unwrap();
        }
        for code in lines.by_ref() {
            if code.starts_with("```") {
                for hidden in &tail {
                    writeln!(out, "{hidden}").unwrap();
                }
                writeln!(out, "{code}").unwrap();
                break;
            }
            writeln!(out, "{code}").unwrap();
        }
    }
    out
}
