//! A remedy in PyTorch's terms, for a diagnosis of a PyTorch model (the Python package's
//! `gradscope.torch`): the module, `nn.init` call or optimizer argument that applies it,
//! where [`remedy_text`](super::remedy_text) names gradscope's config keys.

use crate::activation::Activation;
use crate::diagnostics::remedy::Remedy;
use crate::diagnostics::verdict::sci;
use crate::init::Init;
use crate::model::Norm;
use crate::recurrent::CellKind;

/// How to apply `remedy` to a PyTorch model, as one sentence of code and arguments.
///
/// ```
/// use gradscope::diagnostics::{explain::pytorch_text, Remedy};
///
/// let t = pytorch_text(&Remedy::ClipNorm { max_norm: 1.0 });
/// assert!(t.contains("clip_grad_norm_(model.parameters(), max_norm=1.000)"), "{t}");
/// ```
pub fn pytorch_text(remedy: &Remedy) -> String {
    match remedy {
        Remedy::Activation { activation, init } => format!(
            "in PyTorch: {} as the hidden activations, each preceding weight initialized with \
             {}",
            module(activation),
            init_call(init, Some(activation))
        ),
        Remedy::Norm { norm } => match norm {
            Norm::None => "in PyTorch: remove the normalization layers".to_string(),
            Norm::Batchnorm => "in PyTorch: nn.BatchNorm1d(features) (nn.BatchNorm2d(channels) \
                                after a convolution) between each layer and its activation"
                .to_string(),
            Norm::Layernorm => "in PyTorch: nn.LayerNorm(features) between each layer and its \
                                activation (before each block's sublayer in a transformer)"
                .to_string(),
        },
        Remedy::Residual => "in PyTorch: return x + self.block(x) in each block's forward (a \
                             projection of x when the widths differ)"
            .to_string(),
        Remedy::Init { init } => format!(
            "in PyTorch: initialize each layer's weight with {}",
            init_call(init, None)
        ),
        Remedy::ClipNorm { max_norm } => format!(
            "in PyTorch: torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={}) \
             between loss.backward() and opt.step()",
            sci(*max_norm)
        ),
        Remedy::LowerLearningRate { factor } => format!(
            "in PyTorch: multiply the optimizer's lr by {} (for g in opt.param_groups: \
             g['lr'] *= {})",
            sci(*factor),
            sci(*factor)
        ),
        Remedy::WeightDecay { weight_decay } => format!(
            "in PyTorch: weight_decay={} in the optimizer (torch.optim.SGD/AdamW(..., \
             weight_decay=...))",
            sci(*weight_decay)
        ),
        Remedy::LeakyActivation { activation } => format!(
            "in PyTorch: {} instead of nn.ReLU(), with kaiming_normal_ init",
            module(activation)
        ),
        Remedy::RecurrentActivation { activation } => format!(
            "in PyTorch: nn.RNN(..., nonlinearity='{}') (nn.RNN offers 'tanh' and 'relu'; \
             others need a custom cell)",
            if matches!(activation, Activation::Relu) {
                "relu"
            } else {
                "tanh"
            }
        ),
        Remedy::GatedCell { cell, forget_bias } => {
            let module = match cell {
                CellKind::Lstm => "nn.LSTM",
                CellKind::Gru => "nn.GRU",
                CellKind::Rnn => "nn.RNN",
            };
            match (cell, forget_bias) {
                (CellKind::Lstm, Some(b)) => format!(
                    "in PyTorch: {module}(input_size, hidden_size) instead of nn.RNN, with the \
                     forget gate's bias (bias_ih_l0[H:2H] + bias_hh_l0[H:2H]) set to {}",
                    sci(*b)
                ),
                _ => format!("in PyTorch: {module}(input_size, hidden_size) instead of nn.RNN"),
            }
        }
        Remedy::RecurrentInit { init } => format!(
            "in PyTorch: initialize weight_hh_l0 with {}",
            init_call(init, None)
        ),
        Remedy::SpectralRadius { radius } => format!(
            "in PyTorch: with torch.no_grad(): w = rnn.weight_hh_l0; w *= {} / \
             torch.linalg.eigvals(w).abs().max()",
            sci(*radius)
        ),
        Remedy::Irnn => "in PyTorch: nn.RNN(..., nonlinearity='relu') with weight_hh_l0 = I \
                         (with torch.no_grad(): rnn.weight_hh_l0.copy_(torch.eye(H))), biases \
                         0, and clip_grad_norm_"
            .to_string(),
        Remedy::ForgetBias { bias } => format!(
            "in PyTorch: with torch.no_grad(): lstm.bias_ih_l0[H:2H].fill_({}); \
             lstm.bias_hh_l0[H:2H].zero_() (PyTorch's gate order is i, f, g, o)",
            sci(*bias)
        ),
        Remedy::Truncate { steps } => format!(
            "in PyTorch: run the sequence in chunks of {steps} steps and h = h.detach() between \
             chunks"
        ),
        Remedy::ShorterPath => "in PyTorch: shorter sequences, or a loss on every step's output \
                                (output[:, t] rather than output[:, -1])"
            .to_string(),
        Remedy::StandardizeInputs => "in PyTorch: x = (x - mean) / std per feature, with the \
                                      training set's mean and std (or \
                                      torchvision.transforms.Normalize)"
            .to_string(),
    }
}

/// The PyTorch module computing `activation`.
pub fn module(activation: &Activation) -> String {
    match *activation {
        Activation::Identity => "nn.Identity()".into(),
        Activation::Sigmoid => "nn.Sigmoid()".into(),
        Activation::Tanh => "nn.Tanh()".into(),
        Activation::Softmax => "nn.Softmax(dim=-1)".into(),
        Activation::LogSoftmax => "nn.LogSoftmax(dim=-1)".into(),
        Activation::Relu => "nn.ReLU()".into(),
        Activation::LeakyRelu { slope } => format!("nn.LeakyReLU({})", sci(slope)),
        Activation::Prelu { init, channels } => {
            format!("nn.PReLU(num_parameters={channels}, init={})", sci(init))
        }
        Activation::Rrelu { lower, upper } => {
            format!("nn.RReLU(lower={}, upper={})", sci(lower), sci(upper))
        }
        Activation::Elu { alpha } => format!("nn.ELU(alpha={})", sci(alpha)),
        Activation::Selu => "nn.SELU()".into(),
        Activation::Swish { beta: 1.0 } => "nn.SiLU()".into(),
        Activation::Swish { beta } => format!(
            "a module returning x * torch.sigmoid({} * x) (Swish, β = {})",
            sci(beta),
            sci(beta)
        ),
        Activation::Silu => "nn.SiLU()".into(),
        Activation::Gelu => "nn.GELU()".into(),
        Activation::GeluTanh => "nn.GELU(approximate='tanh')".into(),
        Activation::Softplus { beta, threshold } => format!(
            "nn.Softplus(beta={}, threshold={})",
            sci(beta),
            sci(threshold)
        ),
        Activation::Softsign => "nn.Softsign()".into(),
        Activation::Mish => "nn.Mish()".into(),
        Activation::HardSigmoid => "nn.Hardsigmoid()".into(),
        Activation::HardSwish => "nn.Hardswish()".into(),
        Activation::HardTanh { min, max } => {
            format!("nn.Hardtanh({}, {})", sci(min), sci(max))
        }
        Activation::ImprovedSigmoid { alpha, beta } => format!(
            "a module returning torch.sigmoid({} * x) + {} * x (the improved sigmoid)",
            sci(alpha),
            sci(beta)
        ),
    }
}

/// The `nn.init` call (on a weight `w` of shape [out, in]) that draws `init`; `activation`
/// names the nonlinearity a computed gain (gain = 0) is for.
pub fn init_call(init: &Init, activation: Option<&Activation>) -> String {
    let nonlinearity = match activation {
        Some(Activation::Relu) | None => "'relu'".to_string(),
        Some(Activation::LeakyRelu { slope }) => format!("'leaky_relu', a={}", sci(*slope)),
        Some(Activation::Tanh) => "'tanh'".to_string(),
        Some(Activation::Sigmoid) => "'sigmoid'".to_string(),
        Some(Activation::Selu) => "'selu'".to_string(),
        Some(_) => "'relu'".to_string(),
    };
    let mode = |fan_out: bool| if fan_out { "'fan_out'" } else { "'fan_in'" };
    match *init {
        Init::Zeros => "nn.init.zeros_(w)".into(),
        Init::Constant { value } => format!("nn.init.constant_(w, {})", sci(value)),
        Init::Normal { std, mean } => {
            format!("nn.init.normal_(w, mean={}, std={})", sci(mean), sci(std))
        }
        Init::Uniform { a } => format!("nn.init.uniform_(w, -{}, {})", sci(a), sci(a)),
        Init::Standard => "nn.init.uniform_(w, -1/math.sqrt(fan_in), 1/math.sqrt(fan_in))".into(),
        Init::LecunNormal => "nn.init.kaiming_normal_(w, nonlinearity='linear')".into(),
        Init::Variance { sigma_w2 } => format!(
            "nn.init.normal_(w, std=math.sqrt({} / fan_in))",
            sci(sigma_w2)
        ),
        Init::LecunUniform => "nn.init.kaiming_uniform_(w, nonlinearity='linear')".into(),
        Init::XavierNormal { gain } => format!("nn.init.xavier_normal_(w, gain={})", sci(gain)),
        Init::XavierUniform { gain } => {
            format!("nn.init.xavier_uniform_(w, gain={})", sci(gain))
        }
        Init::KaimingNormal { gain: 0.0, fan_out } => format!(
            "nn.init.kaiming_normal_(w, mode={}, nonlinearity={nonlinearity})",
            mode(fan_out)
        ),
        Init::KaimingNormal { gain, fan_out } => format!(
            "nn.init.normal_(w, std={} / math.sqrt({}))",
            sci(gain),
            if fan_out { "fan_out" } else { "fan_in" }
        ),
        Init::KaimingUniform { gain: 0.0, fan_out } => format!(
            "nn.init.kaiming_uniform_(w, mode={}, nonlinearity={nonlinearity})",
            mode(fan_out)
        ),
        Init::KaimingUniform { gain, fan_out } => format!(
            "nn.init.uniform_(w, -b, b) with b = {}·math.sqrt(3 / {})",
            sci(gain),
            if fan_out { "fan_out" } else { "fan_in" }
        ),
        Init::Orthogonal { gain } => format!("nn.init.orthogonal_(w, gain={})", sci(gain)),
        Init::Identity { gain } => format!(
            "with torch.no_grad(): w.copy_({} * torch.eye(*w.shape))",
            sci(gain)
        ),
    }
}
