//! `cargo xtask diagrams`: renders the Mermaid blocks of the Markdown files in [`DOCS`] to SVG
//! files beside them, so the Technical Design Document has a picture that needs no Mermaid
//! viewer. `cargo xtask diagrams --check` (and this module's unit test, which `cargo xtask
//! test` runs) fails when an SVG no longer matches its source; it needs no browser.
//!
//! How: Mermaid's own UMD bundle, at the version pinned in [`MERMAID_VERSION`], fetched once
//! with `npm pack` from the npm registry (npm checks the tarball against the registry's
//! integrity hash, and we check it against [`MERMAID_INTEGRITY`]) into `target/xtask-cache`;
//! then headless Chromium opens a local page that renders each block with that bundle and
//! prints the SVG into the DOM, which `--dump-dom` hands back. Nothing else is downloaded.
//!
//! Each SVG starts with a comment carrying an FNV-1a hash of the block's source, the Mermaid
//! version and the render options: a change to any of them makes the SVG stale.

use crate::paths;
use anyhow::{Context as _, anyhow, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The Markdown files whose Mermaid blocks are rendered (relative to the repository root).
const DOCS: [&str; 1] = ["docs/architecture.md"];
const MERMAID_VERSION: &str = "12.3.0";
/// The npm registry's `dist.integrity` of `mermaid@MERMAID_VERSION`.
const MERMAID_INTEGRITY: &str = "sha512-4113TdXeLAsMruJ79OpFL5O8+LTFXhQqZ260rF3tgUmiNAtRm4Uume04I+65PRN6yZ69J4f8rVYWW8zRk65UYw==";
/// SVG text labels instead of HTML ones (`foreignObject`): the file then renders the same in
/// an `<img>`, in image viewers and in converters that do not lay out HTML.
const MERMAID_CONFIG: &str = r#"{"startOnLoad":false,"securityLevel":"strict","theme":"default","htmlLabels":false,"flowchart":{"htmlLabels":false}}"#;
const RENDER_TIMEOUT: Duration = Duration::from_secs(90);
const HASH_LABEL: &str = "source fnv1a64 ";

#[derive(Debug, Default, PartialEq)]
pub struct DiagramsArgs {
    /// Only check that every SVG matches its Mermaid source (no browser needed).
    pub check: bool,
}

pub fn run(args: &DiagramsArgs) -> anyhow::Result<ExitCode> {
    let repo = paths::repo_root();
    if args.check {
        let problems = stale(&repo)?;
        for problem in &problems {
            eprintln!("xtask diagrams: {problem}");
        }
        if problems.is_empty() {
            println!("xtask diagrams: every diagram is up to date");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("xtask diagrams: run `cargo xtask diagrams` to render them again");
        return Ok(ExitCode::FAILURE);
    }
    let cache = repo.join("target").join("xtask-cache");
    let bundle = mermaid_bundle(&cache)?;
    for doc in DOCS {
        let markdown =
            fs::read_to_string(repo.join(doc)).with_context(|| format!("reading {doc}"))?;
        for diagram in diagrams(doc, &markdown) {
            let svg = render(&bundle, &diagram.source)?;
            let file = repo.join(&diagram.svg_path);
            fs::write(&file, with_header(&diagram, &svg))
                .with_context(|| format!("writing {}", file.display()))?;
            println!("xtask diagrams: wrote {}", diagram.svg_path);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One Mermaid block and the SVG it is rendered to.
#[derive(Debug, PartialEq, Eq)]
struct Diagram {
    doc: String,
    /// 1-based, in the order of the Markdown file.
    number: usize,
    source: String,
    /// Relative to the repository root: `docs/architecture.svg` for the first block of
    /// `docs/architecture.md`, `docs/architecture-2.svg` for the second, and so on.
    svg_path: String,
}

/// The fenced ```` ```mermaid ```` blocks of `markdown`.
fn diagrams(doc: &str, markdown: &str) -> Vec<Diagram> {
    let stem = doc.strip_suffix(".md").unwrap_or(doc);
    let mut found = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim() == "```mermaid" => current = Some(Vec::new()),
            None => {}
            Some(lines) if line.trim() == "```" => {
                let number = found.len() + 1;
                let svg_path = if number == 1 {
                    format!("{stem}.svg")
                } else {
                    format!("{stem}-{number}.svg")
                };
                found.push(Diagram {
                    doc: doc.to_owned(),
                    number,
                    source: lines.join("\n") + "\n",
                    svg_path,
                });
                current = None;
            }
            Some(lines) => lines.push(line),
        }
    }
    found
}

/// What the SVG depends on: the source, the Mermaid version and the options.
fn source_hash(source: &str) -> String {
    let input = format!("mermaid {MERMAID_VERSION}\n{MERMAID_CONFIG}\n{source}");
    format!("{:016x}", fnv1a64(input.as_bytes()))
}

/// FNV-1a, 64 bits: enough to notice an edit, and no dependency for xtask.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn with_header(diagram: &Diagram, svg: &str) -> String {
    format!(
        "<!-- Rendered by `cargo xtask diagrams` from block {} of {} with Mermaid {MERMAID_VERSION}; do not edit. {HASH_LABEL}{} -->\n{}\n",
        diagram.number,
        diagram.doc,
        source_hash(&diagram.source),
        svg.trim_end()
    )
}

/// The hash an SVG file says it was rendered from.
fn recorded_hash(svg: &str) -> Option<&str> {
    let start = svg.find(HASH_LABEL)? + HASH_LABEL.len();
    let hash = svg.get(start..start + 16)?;
    hash.bytes().all(|b| b.is_ascii_hexdigit()).then_some(hash)
}

/// Every way the rendered diagrams differ from their sources, described for a person.
fn stale(repo: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for doc in DOCS {
        let markdown =
            fs::read_to_string(repo.join(doc)).with_context(|| format!("reading {doc}"))?;
        let found = diagrams(doc, &markdown);
        if found.is_empty() {
            problems.push(format!("{doc} has no ```mermaid block"));
        }
        for diagram in found {
            let name = diagram
                .svg_path
                .rsplit('/')
                .next()
                .unwrap_or(&diagram.svg_path);
            if !markdown.contains(&format!("({name})")) {
                problems.push(format!("{doc} does not embed {name}"));
            }
            let Ok(svg) = fs::read_to_string(repo.join(&diagram.svg_path)) else {
                problems.push(format!("{} is missing", diagram.svg_path));
                continue;
            };
            let expected = source_hash(&diagram.source);
            match recorded_hash(&svg) {
                Some(hash) if hash == expected => {}
                Some(hash) => problems.push(format!(
                    "{} was rendered from another source (hash {hash}, block {} of {doc} now hashes to {expected})",
                    diagram.svg_path, diagram.number
                )),
                None => problems.push(format!("{} carries no source hash", diagram.svg_path)),
            }
        }
    }
    Ok(problems)
}

/// `target/xtask-cache/mermaid-<version>/mermaid.min.js`, fetched with npm the first time.
fn mermaid_bundle(cache: &Path) -> anyhow::Result<PathBuf> {
    let dir = cache.join(format!("mermaid-{MERMAID_VERSION}"));
    let bundle = dir.join("mermaid.min.js");
    if bundle.is_file() {
        return Ok(bundle);
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    println!("xtask diagrams: fetching mermaid@{MERMAID_VERSION} with npm pack");
    let output = Command::new("npm")
        .args([
            "pack",
            &format!("mermaid@{MERMAID_VERSION}"),
            "--json",
            "--pack-destination",
        ])
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .context("running npm (install Node.js and npm to render diagrams)")?;
    if !output.status.success() {
        bail!(
            "npm pack mermaid@{MERMAID_VERSION} failed ({})",
            output.status
        );
    }
    let report = String::from_utf8_lossy(&output.stdout);
    let integrity = json_string_field(&report, "integrity")
        .ok_or_else(|| anyhow!("npm pack did not report an integrity hash:\n{report}"))?;
    let tarball = dir.join(format!("mermaid-{MERMAID_VERSION}.tgz"));
    if integrity != MERMAID_INTEGRITY {
        let _ = fs::remove_file(&tarball);
        bail!("mermaid@{MERMAID_VERSION} has integrity {integrity}, expected {MERMAID_INTEGRITY}");
    }
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .args(["--strip-components=2", "package/dist/mermaid.min.js"])
        .status()
        .context("running tar")?;
    let _ = fs::remove_file(&tarball);
    if !status.success() || !bundle.is_file() {
        bail!("could not unpack dist/mermaid.min.js from mermaid-{MERMAID_VERSION}.tgz ({status})");
    }
    Ok(bundle)
}

/// The value of the first `"name": "value"` in npm's JSON output (no escapes in it).
fn json_string_field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\"");
    let after_key = &json[json.find(&key)? + key.len()..];
    let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = after_colon.strip_prefix('"')?;
    Some(&value[..value.find('"')?])
}

/// Renders one Mermaid source to SVG (XML, ready to save) in headless Chromium.
fn render(bundle: &Path, source: &str) -> anyhow::Result<String> {
    let dir = bundle
        .parent()
        .ok_or_else(|| anyhow!("{} has no folder", bundle.display()))?;
    let page = dir.join("render.html");
    fs::write(&page, render_page(source)).context("writing the render page")?;
    let dumped = dir.join("render.out");
    let chromium = std::env::var("CHROME_BIN")
        .ok()
        .filter(|bin| !bin.is_empty())
        .unwrap_or_else(|| "/usr/bin/chromium".to_owned());
    let out = fs::File::create(&dumped).context("creating the render output file")?;
    let mut child = Command::new(&chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            // Runs the page's timers and promises to completion before dumping the DOM.
            "--virtual-time-budget=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {chromium} (set CHROME_BIN to use another)"))?;
    let deadline = Instant::now() + RENDER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for Chromium")? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "Chromium did not finish rendering within {}s",
                RENDER_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() {
        bail!("Chromium exited with {status}");
    }
    let dom = fs::read_to_string(&dumped).context("reading Chromium's output")?;
    parse_result(&dom)
}

/// A page that renders `source` and leaves `OK:<svg>` or `ERROR:<message>`, percent-encoded
/// so the DOM dump does not escape anything, in `<pre id="out">`.
fn render_page(source: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>render</title></head>
<body>
<pre id="out">PENDING</pre>
<script src="mermaid.min.js"></script>
<script>
const out = document.getElementById('out');
(async () => {{
  try {{
    mermaid.initialize({config});
    const {{ svg }} = await mermaid.render('diagram', {source});
    const holder = document.createElement('div');
    holder.innerHTML = svg;
    const xml = new XMLSerializer().serializeToString(holder.querySelector('svg'));
    out.textContent = 'OK:' + encodeURIComponent(xml);
  }} catch (e) {{
    out.textContent = 'ERROR:' + encodeURIComponent(String((e && e.message) || e));
  }}
}})();
</script>
</body></html>
"#,
        config = MERMAID_CONFIG,
        source = js_string(source)
    )
}

fn parse_result(dom: &str) -> anyhow::Result<String> {
    let marker = "<pre id=\"out\">";
    let start = dom
        .find(marker)
        .ok_or_else(|| anyhow!("Chromium returned no page"))?
        + marker.len();
    let rest = &dom[start..];
    let text = &rest[..rest.find('<').unwrap_or(rest.len())];
    if let Some(svg) = text.strip_prefix("OK:") {
        let svg = percent_decode(svg)?;
        if !svg.starts_with("<svg") {
            bail!("Mermaid returned something other than an SVG");
        }
        return Ok(svg);
    }
    if let Some(message) = text.strip_prefix("ERROR:") {
        bail!(
            "Mermaid could not render the diagram: {}",
            percent_decode(message)?
        );
    }
    bail!("the diagram was not rendered in time (the page says {text:?})")
}

/// A JavaScript string literal for `text` (ASCII only, so no encoding question arises).
fn js_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            ' '..='~' if c != '<' => out.push(c),
            _ => {
                let mut units = [0_u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Undoes `encodeURIComponent`.
fn percent_decode(text: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .ok_or_else(|| anyhow!("truncated percent-encoding"))?;
            out.push(u8::from_str_radix(hex, 16).context("bad percent-encoding")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("the SVG is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed SVGs match the Mermaid in the docs; this is what fails when someone edits
    /// the diagram and forgets `cargo xtask diagrams`.
    #[test]
    fn rendered_diagrams_match_their_mermaid_source() {
        let problems = stale(&paths::repo_root()).unwrap();
        assert!(
            problems.is_empty(),
            "{}\nrun `cargo xtask diagrams`",
            problems.join("\n")
        );
    }

    #[test]
    fn blocks_are_found_and_numbered() {
        let md = "# T\n```mermaid\nflowchart LR\n  a --> b\n```\ntext\n```rust\nfn x() {}\n```\n```mermaid\ngraph TD\n```\n";
        let found = diagrams("docs/x.md", md);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].source, "flowchart LR\n  a --> b\n");
        assert_eq!(found[0].svg_path, "docs/x.svg");
        assert_eq!(found[1].source, "graph TD\n");
        assert_eq!(found[1].svg_path, "docs/x-2.svg");
    }

    #[test]
    fn an_edited_source_no_longer_matches_the_recorded_hash() {
        let diagram = diagrams("docs/x.md", "```mermaid\nflowchart LR\n  a --> b\n```\n")
            .pop()
            .unwrap();
        let svg = with_header(&diagram, "<svg/>");
        assert_eq!(
            recorded_hash(&svg),
            Some(source_hash(&diagram.source).as_str())
        );
        assert_ne!(
            source_hash(&diagram.source),
            source_hash("flowchart LR\n  a --> c\n")
        );
        assert_eq!(recorded_hash("<svg/>"), None);
    }

    #[test]
    fn fnv1a64_matches_the_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn sources_survive_the_trip_through_the_page() {
        let js = js_string("a[\"Zoom <b>\\ é\"]\n");
        assert_eq!(js, r#""a[\"Zoom \u003cb>\\ \u00e9\"]\n""#);
        assert_eq!(
            percent_decode("%3Csvg%20x%3D%22%C3%A9%22").unwrap(),
            "<svg x=\"é\""
        );
        let dom = "<html><body><pre id=\"out\">OK:%3Csvg%2F%3E</pre></body></html>";
        assert_eq!(parse_result(dom).unwrap(), "<svg/>");
        let failed = "<pre id=\"out\">ERROR:Parse%20error</pre>";
        assert!(
            parse_result(failed)
                .unwrap_err()
                .to_string()
                .contains("Parse error")
        );
    }

    #[test]
    fn npm_integrity_is_read_from_its_json() {
        let report = "[{\"id\": \"mermaid@1\", \"integrity\": \"sha512-abc==\", \"x\": 1}]";
        assert_eq!(json_string_field(report, "integrity"), Some("sha512-abc=="));
        assert_eq!(json_string_field(report, "missing"), None);
    }
}
