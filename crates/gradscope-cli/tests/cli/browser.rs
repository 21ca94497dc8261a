//! The reports in a real browser: each `report.html` is rendered by headless Chromium (when
//! one is installed; skipped with a message otherwise) with a small script added that
//! records console errors and measures every element: no chart mark or label may lie outside
//! its SVG (clipped) or its figure, and the page may not scroll sideways. Screenshots of each
//! report are written to the test's temporary directory (kept when
//! `GRADSCOPE_KEEP_SCREENSHOTS` is set, and printed with `--nocapture`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::TempDir;

/// A Chromium-family browser: `GRADSCOPE_BROWSER`, else the first of the usual names on PATH.
fn browser() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("GRADSCOPE_BROWSER") {
        return Some(PathBuf::from(b));
    }
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs the browser headless with `args` on `url`, killing it after a minute; stdout.
fn headless(browser: &Path, profile: &Path, args: &[String], url: &str) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the browser starts");
    // Read stdout as it comes: a DOM dump fills the pipe long before the browser exits.
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            let out = reader.join().expect("the reader");
            return String::from_utf8_lossy(&out).into_owned();
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser did not finish within a minute on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Records errors from the start of the page; after load, measures every element and writes
/// the findings as JSON into `<pre id="gs-check">`.
const PROBE: &str = r#"<script>
window.gsErrors = [];
window.addEventListener('error', e => gsErrors.push('error: ' + (e.message || e.target.outerHTML)), true);
const gsConsoleError = console.error;
console.error = (...a) => { gsErrors.push('console.error: ' + a.join(' ')); gsConsoleError(...a); };
window.addEventListener('load', () => {
  const bad = [];
  const tol = 0.75;
  const outside = (r, b) => r.left < b.left - tol || r.right > b.right + tol ||
                            r.top < b.top - tol || r.bottom > b.bottom + tol;
  const describe = el => {
    const t = el.textContent.trim().slice(0, 60);
    return el.tagName + (t ? ' "' + t + '"' : '') + (el.getAttribute('x') ? ' x=' + el.getAttribute('x') : '');
  };
  document.querySelectorAll('figure').forEach((fig, i) => {
    const fr = fig.getBoundingClientRect();
    const title = (fig.querySelector('svg text') || {}).textContent || '';
    fig.querySelectorAll('*').forEach(el => {
      if (el.closest('title') || el.tagName === 'title' || el.tagName === 'defs') return;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) return;
      if (outside(r, fr)) bad.push('figure ' + i + ' (' + title + '): ' + describe(el) + ' outside the figure');
      const svg = el.parentElement && el.parentElement.closest('svg');
      if (svg && el.tagName !== 'svg') {
        const sr = svg.getBoundingClientRect();
        if (outside(r, sr)) bad.push('figure ' + i + ' (' + title + '): ' + describe(el) +
          ' clipped by its svg (' + JSON.stringify([r.left, r.right, r.top, r.bottom].map(Math.round)) +
          ' vs ' + JSON.stringify([sr.left, sr.right, sr.top, sr.bottom].map(Math.round)) + ')');
      }
    });
  });
  const sw = document.documentElement.scrollWidth, w = window.innerWidth;
  if (sw > w + 1) bad.push('the page scrolls sideways: ' + sw + ' > ' + w);
  document.querySelectorAll('[src], [href]').forEach(el =>
    bad.push('external reference: ' + el.outerHTML.slice(0, 80)));
  const pre = document.createElement('pre');
  pre.id = 'gs-check';
  pre.textContent = JSON.stringify({
    errors: gsErrors, bad: bad,
    height: document.documentElement.scrollHeight,
    figures: document.querySelectorAll('figure').length,
    titles: document.querySelectorAll('svg title').length
  });
  document.body.appendChild(pre);
});
</script>"#;

/// The reports to look at: (name, directory holding report.html).
fn reports(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gradscope"))
            .args(args)
            .current_dir(&root)
            .output()
            .expect("gradscope runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let d = |n: &str| dir.join(n);
    let s = |p: PathBuf| p.to_string_lossy().into_owned();
    run(&[
        "diagnose",
        "examples/diagnose-sigmoid-deep.toml",
        "--out",
        &s(d("diagnose-mlp")),
        "-q",
        "--steps",
        "20",
    ]);
    run(&[
        "diagnose",
        "examples/diagnose-rnn-exploding.toml",
        "--out",
        &s(d("diagnose-rnn")),
        "-q",
        "--steps",
        "5",
    ]);
    run(&["demo", "--quick", "--out", &s(d("demo")), "-q"]);
    run(&[
        "train",
        "examples/diagnose-sigmoid-deep.toml",
        "--out",
        &s(d("train")),
        "-q",
        "--set",
        "training.epochs=3",
        "--set",
        "diagnostics.every=10",
    ]);
    vec![
        ("diagnose-mlp", d("diagnose-mlp")),
        ("diagnose-rnn", d("diagnose-rnn")),
        ("demo", d("demo")),
        ("train", d("train")),
    ]
}

#[test]
fn reports_render_in_chromium_without_errors_or_overflow() {
    let Some(browser) = browser() else {
        eprintln!(
            "SKIPPED reports_render_in_chromium_without_errors_or_overflow: no Chromium found \
             (install the `chromium` package, or set GRADSCOPE_BROWSER)"
        );
        return;
    };
    let tmp = TempDir::new("browser");
    std::fs::create_dir_all(&tmp.0).unwrap();
    let mut failures = Vec::new();
    for (name, dir) in reports(&tmp.0) {
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        let probed = html.replacen("<head>", &format!("<head>\n{PROBE}"), 1);
        let page = tmp.0.join(format!("{name}-probe.html"));
        std::fs::write(&page, probed).unwrap();
        let profile = tmp.0.join(format!("profile-{name}"));
        let dom = headless(
            &browser,
            &profile,
            &["--window-size=1280,900".into(), "--dump-dom".into()],
            &format!("file://{}", page.display()),
        );
        let Some(json) = dom
            .split("<pre id=\"gs-check\">")
            .nth(1)
            .and_then(|s| s.split("</pre>").next())
        else {
            failures.push(format!(
                "{name}: the probe did not run (no result in the DOM)"
            ));
            continue;
        };
        let json = json
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let v: serde_json::Value = serde_json::from_str(&json).expect("the probe's JSON");
        for e in v["errors"].as_array().unwrap() {
            failures.push(format!("{name}: {e}"));
        }
        for b in v["bad"].as_array().unwrap() {
            failures.push(format!("{name}: {b}"));
        }
        assert!(
            v["figures"].as_u64().unwrap() >= 3,
            "{name}: charts missing"
        );
        assert!(
            v["titles"].as_u64().unwrap() > 10,
            "{name}: hover titles missing"
        );
        // A screenshot of the whole page (not the probed copy).
        let height = v["height"].as_u64().unwrap().clamp(900, 16000);
        let shot = tmp.0.join(format!("{name}.png"));
        headless(
            &browser,
            &profile,
            &[
                format!("--window-size=1280,{height}"),
                format!("--screenshot={}", shot.display()),
            ],
            &format!("file://{}", dir.join("report.html").display()),
        );
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
            "{name}: no screenshot"
        );
        eprintln!("{name}: screenshot {} (1280 x {height})", shot.display());
    }
    if let Some(keep) = std::env::var_os("GRADSCOPE_KEEP_SCREENSHOTS") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for e in std::fs::read_dir(&tmp.0)
            .unwrap()
            .map(|e| e.unwrap().path())
        {
            if e.extension().is_some_and(|x| x == "png") {
                std::fs::copy(&e, keep.join(e.file_name().unwrap())).unwrap();
            }
        }
    }
    assert!(
        failures.is_empty(),
        "in the browser:\n{}",
        failures.join("\n")
    );
}
