//! `gradscope generate`: text from a trained character-level model (a run directory written by
//! `gradscope train` on `[data] source = "text"`).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gradscope::config::Config;
use gradscope::data::sequence::CharVocab;
use gradscope::io::safetensors;
use gradscope::recurrent::generate::{generate_each, Sampling};
use gradscope::recurrent::Predict;
use gradscope::{DType, Float, Rng};

/// Arguments of `gradscope generate`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// A run directory of `gradscope train` on text: it holds config.toml, model.safetensors
    /// and vocab.json.
    run: PathBuf,
    /// Text the model reads first; generation continues it (every character must be in the
    /// training text's vocabulary).
    #[arg(long, default_value = "\n")]
    prime: String,
    /// Characters to generate.
    #[arg(long, default_value_t = 400)]
    length: usize,
    /// Softmax temperature: 0 = always the most likely character, 1 = the model's
    /// distribution, above 1 = more random.
    #[arg(long, default_value_t = 0.8)]
    temperature: f64,
    /// Seed of the sampling (same seed, same text).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

const AFTER_HELP: &str = "\
Example:
  gradscope train examples/charlm-shakespeare.toml --out runs/charlm
  gradscope generate runs/charlm --prime 'ROMEO:' --length 300 --temperature 0.8

The model reads the prime one character at a time (one-hot), then draws each next character
from softmax(logits / temperature) and feeds it back, carrying the recurrent state. The
prime is printed first, then the generated text.";

/// File name of the vocabulary a text run writes next to its model.
pub const VOCAB_FILE: &str = "vocab.json";

/// Writes `vocab.json` (the characters, class order) for a run on character data.
pub fn write_vocab(dir: &Path, vocab: &CharVocab) -> Result<()> {
    let json = serde_json::to_string(&serde_json::json!({
        "schema_version": gradscope::io::SCHEMA_VERSION,
        "chars": vocab.class_names(),
    }))?;
    crate::output::write_atomic(&dir.join(VOCAB_FILE), json.as_bytes())
}

fn read_vocab(dir: &Path) -> Result<CharVocab> {
    let path = dir.join(VOCAB_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read `{}` (is `{}` a run of `gradscope train` on text data?)",
            path.display(),
            dir.display()
        )
    })?;
    // `{"schema_version": 3, "chars": [...]}`; a bare list is what runs before schema 3 wrote.
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Vocab {
        Versioned { chars: Vec<String> },
        Bare(Vec<String>),
    }
    let names = match serde_json::from_str::<Vocab>(&text).with_context(|| {
        format!(
            "`{}`: not a vocabulary ({{\"chars\": [...]}} of one-character strings)",
            path.display()
        )
    })? {
        Vocab::Versioned { chars } | Vocab::Bare(chars) => chars,
    };
    CharVocab::from_class_names(&names).with_context(|| format!("`{}`", path.display()))
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        bail!("--temperature {} must be a number >= 0", args.temperature);
    }
    let dir = &args.run;
    let vocab = read_vocab(dir)?;
    let config_path = dir.join("config.toml");
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read `{}`", config_path.display()))?;
    let config = Config::parse(&text, &config_path.display().to_string(), &[])?;
    match config.model.recurrent().map(|r| r.predict) {
        Some(Predict::EveryStep) => {}
        _ => bail!(
            "`{}`: generation needs a recurrent model that predicts every step \
             ([model.recurrent] predict = \"every_step\")",
            config_path.display()
        ),
    }
    let prime = vocab
        .encode(&args.prime)
        .with_context(|| format!("--prime {:?}", args.prime))?;
    if prime.is_empty() {
        bail!("--prime must have at least one character");
    }
    crate::oom::stage(format!("generating text from {}", dir.display()));
    let mut out = Stream::new();
    out.write(&args.prime)?;
    match config.dtype {
        DType::F32 => sample::<f32>(&config, dir, &vocab, &prime, &args, &mut out)?,
        DType::F64 => sample::<f64>(&config, dir, &vocab, &prime, &args, &mut out)?,
    }
    out.write("\n")?;
    out.flush()
}

/// The generated text on its way to stdout: characters are written as they are drawn, in
/// blocks of 8 KiB, so memory does not grow with --length; a closed pipe
/// (`gradscope generate … | head`) ends the generation quietly.
struct Stream {
    buf: String,
    closed: bool,
}

impl Stream {
    fn new() -> Self {
        Stream {
            buf: String::new(),
            closed: false,
        }
    }

    fn write(&mut self, text: &str) -> Result<()> {
        self.buf.push_str(text);
        if self.buf.len() >= 8192 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.closed {
            crate::output::emit(&self.buf)?;
            self.closed = crate::output::stdout_closed();
        }
        self.buf.clear();
        Ok(())
    }
}

fn sample<T: Float>(
    config: &Config,
    dir: &Path,
    vocab: &CharVocab,
    prime: &[usize],
    args: &Args,
    out: &mut Stream,
) -> Result<()> {
    let mut spec = config.model.clone();
    spec.set_input(vocab.len());
    spec.set_output(vocab.len());
    let mut model = spec.build::<T>(&mut Rng::seed(0))?;
    let weights = dir.join("model.safetensors");
    let source = weights.display().to_string();
    let tensors = safetensors::read::<T>(&weights)
        .with_context(|| format!("cannot read the weights `{source}`"))?;
    model.load_state_dict(&tensors.tensors, &source, &[])?;
    let sampling = Sampling {
        temperature: args.temperature,
    };
    let mut rng = Rng::seed(args.seed);
    let mut failed = None;
    generate_each(
        &mut model,
        vocab.len(),
        prime,
        args.length,
        sampling,
        &mut rng,
        |s| {
            let written = vocab.decode(&[s]).map_err(anyhow::Error::from);
            match written.and_then(|c| out.write(&c)) {
                Ok(()) if !out.closed => ControlFlow::Continue(()),
                Ok(()) => ControlFlow::Break(()),
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    )?;
    failed.map_or(Ok(()), Err)
}
