//! A multinomial logistic-regression head over sparse features, and its training.
//!
//! Training is AdaGrad on the cross-entropy, with L2 applied lazily to the weights an example
//! touches (the usual trick for hashed text features: a dense decay over a million weights per
//! example would cost more than the example). Classes can be weighted by inverse frequency so
//! that a rare class (neutral) is not sacrificed to accuracy: the target is macro-F1.

use super::features::SparseVec;

/// Weights of a trained head. `weights` is row-major `[n_features][n_classes]`, the layout the
/// ONNX graph gathers from.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// Input size.
    pub n_features: usize,
    /// Class names, in output order.
    pub labels: Vec<String>,
    /// `[n_features][n_classes]`.
    pub weights: Vec<f32>,
    /// `[n_classes]`.
    pub bias: Vec<f32>,
    /// Softmax temperature fitted on held-out data (1 = none).
    pub temperature: f32,
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// AdaGrad base learning rate.
    pub learning_rate: f32,
    /// L2 penalty per touched weight and example.
    pub l2: f32,
    /// Weight classes by inverse frequency.
    pub balanced: bool,
    /// Seed of the shuffling.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 8, learning_rate: 0.02, l2: 1e-3, balanced: true, seed: 17 }
    }
}

impl TrainConfig {
    /// What is wrong with these settings, if anything: NaN or infinite rates train a head of
    /// NaN weights, and zero epochs an untrained one, without any error on the way.
    pub fn problem(&self) -> Option<String> {
        if self.epochs == 0 {
            Some("epochs must be at least 1".into())
        } else if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            Some(format!(
                "learning rate must be a finite number above 0, not {}",
                self.learning_rate
            ))
        } else if !(self.l2.is_finite() && self.l2 >= 0.0) {
            Some(format!("l2 must be a finite number, 0 or more, not {}", self.l2))
        } else {
            None
        }
    }
}

impl LinearModel {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.labels.len()
    }

    /// Raw scores (before temperature) into `out` (length `n_classes`).
    pub fn logits(&self, x: &SparseVec, out: &mut [f32]) {
        let c = self.n_classes();
        out.copy_from_slice(&self.bias);
        for (&id, &v) in x.ids.iter().zip(&x.values) {
            let row = id as usize * c;
            if let Some(w) = self.weights.get(row..row + c) {
                for k in 0..c {
                    out[k] += w[k] * v;
                }
            }
        }
    }

    /// Calibrated class probabilities.
    pub fn probs(&self, x: &SparseVec) -> Vec<f32> {
        let mut z = vec![0f32; self.n_classes()];
        self.logits(x, &mut z);
        softmax(&mut z, self.temperature);
        z
    }
}

/// In-place softmax of `z / temperature`.
pub fn softmax(z: &mut [f32], temperature: f32) {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = ((*v - max) / t).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// Trains a head on `rows` with gold class indices `gold` (each `< labels.len()`).
pub fn train(
    rows: &[SparseVec],
    gold: &[usize],
    labels: Vec<String>,
    n_features: usize,
    cfg: &TrainConfig,
) -> LinearModel {
    let c = labels.len();
    let mut m = LinearModel {
        n_features,
        labels,
        weights: vec![0.0; n_features * c],
        bias: vec![0.0; c],
        temperature: 1.0,
    };
    let class_weight = class_weights(gold, c, cfg.balanced);
    let mut g2 = vec![0f32; n_features * c];
    let mut g2_bias = vec![0f32; c];
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = cfg.seed.max(1);
    let mut z = vec![0f32; c];
    let eps = 1e-6;
    // The mean of the end-of-epoch weights over the second half of training: AdaGrad's last
    // iterate depends on the order of the last examples; the average is steadier on held-out data.
    let mut avg_w = vec![0f32; m.weights.len()];
    let mut avg_b = vec![0f32; c];
    let mut snapshots = 0usize;
    for epoch in 0..cfg.epochs {
        shuffle(&mut order, &mut rng);
        for &i in &order {
            let x = &rows[i];
            m.logits(x, &mut z);
            softmax(&mut z, 1.0);
            let cw = class_weight[gold[i]];
            // The gradient of the weighted cross-entropy with respect to the logits.
            for (k, zk) in z.iter_mut().enumerate() {
                let target = if k == gold[i] { 1.0 } else { 0.0 };
                *zk = (*zk - target) * cw;
            }
            for (&id, &v) in x.ids.iter().zip(&x.values) {
                let row = id as usize * c;
                if row + c > m.weights.len() {
                    continue;
                }
                for k in 0..c {
                    let w = &mut m.weights[row + k];
                    let g = z[k] * v + cfg.l2 * *w;
                    g2[row + k] += g * g;
                    *w -= cfg.learning_rate * g / (g2[row + k].sqrt() + eps);
                }
            }
            for k in 0..c {
                g2_bias[k] += z[k] * z[k];
                m.bias[k] -= cfg.learning_rate * z[k] / (g2_bias[k].sqrt() + eps);
            }
        }
        if 2 * (epoch + 1) > cfg.epochs {
            add(&mut avg_w, &m.weights);
            add(&mut avg_b, &m.bias);
            snapshots += 1;
        }
    }
    if snapshots > 1 {
        let n = snapshots as f32;
        m.weights = avg_w.into_iter().map(|w| w / n).collect();
        m.bias = avg_b.into_iter().map(|b| b / n).collect();
    }
    m
}

fn add(acc: &mut [f32], x: &[f32]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}

fn class_weights(gold: &[usize], c: usize, balanced: bool) -> Vec<f32> {
    if !balanced {
        return vec![1.0; c];
    }
    let mut counts = vec![0usize; c];
    for &g in gold {
        counts[g] += 1;
    }
    let n = gold.len().max(1) as f32;
    counts.iter().map(|&k| if k == 0 { 0.0 } else { n / (c as f32 * k as f32) }).collect()
}

/// Fisher-Yates with a xorshift generator: reproducible without a dependency.
fn shuffle(v: &mut [usize], state: &mut u64) {
    for i in (1..v.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let j = (*state % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// The temperature minimising the negative log-likelihood of held-out `rows` (a grid search:
/// one parameter, and the likelihood is smooth in it).
pub fn fit_temperature(m: &LinearModel, rows: &[SparseVec], gold: &[usize]) -> f32 {
    let mut logits: Vec<Vec<f32>> = Vec::with_capacity(rows.len());
    for x in rows {
        let mut z = vec![0f32; m.n_classes()];
        m.logits(x, &mut z);
        logits.push(z);
    }
    let nll = |t: f32| -> f64 {
        let mut total = 0f64;
        for (z, &g) in logits.iter().zip(gold) {
            let mut p = z.clone();
            softmax(&mut p, t);
            total -= f64::from(p[g].max(1e-12)).ln();
        }
        total
    };
    let mut best = (1.0f32, f64::INFINITY);
    for step in 0..60 {
        let t = 0.4 * 1.05f32.powi(step);
        let v = nll(t);
        if v < best.1 {
            best = (t, v);
        }
    }
    best.0
}

/// Expected calibration error of the top class over `bins` equal-width confidence bins.
pub fn expected_calibration_error(probs: &[Vec<f32>], gold: &[usize], bins: usize) -> f64 {
    let bins = bins.max(1);
    let mut conf = vec![0f64; bins];
    let mut hit = vec![0f64; bins];
    let mut count = vec![0usize; bins];
    for (p, &g) in probs.iter().zip(gold) {
        let (arg, top) = argmax(p);
        let b = ((f64::from(top) * bins as f64) as usize).min(bins - 1);
        conf[b] += f64::from(top);
        hit[b] += if arg == g { 1.0 } else { 0.0 };
        count[b] += 1;
    }
    let n = probs.len().max(1) as f64;
    (0..bins).filter(|&b| count[b] > 0).map(|b| (conf[b] - hit[b]).abs() / n).sum()
}

/// Index and value of the largest entry (the first on ties).
pub fn argmax(p: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in p.iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ids: &[u32]) -> SparseVec {
        SparseVec { ids: ids.to_vec(), values: vec![1.0; ids.len()] }
    }

    #[test]
    fn learns_a_separable_problem() {
        // Feature 1 means class 0, feature 2 class 1, feature 3 class 2; feature 4 is noise.
        let rows: Vec<SparseVec> = (0..300).map(|i| row(&[1 + (i % 3) as u32, 4])).collect();
        let gold: Vec<usize> = (0..300).map(|i| i % 3).collect();
        let labels = vec!["a".into(), "b".into(), "c".into()];
        let m = train(&rows, &gold, labels, 5, &TrainConfig::default());
        for (x, &g) in rows.iter().zip(&gold).take(6) {
            assert_eq!(argmax(&m.probs(x)).0, g);
        }
    }

    #[test]
    fn defect_16_out_of_range_settings_are_named() {
        let ok = TrainConfig::default();
        assert_eq!(ok.problem(), None);
        assert_eq!(TrainConfig { l2: 0.0, ..ok }.problem(), None, "no penalty is allowed");
        let nan = TrainConfig { learning_rate: f32::NAN, ..ok }.problem().unwrap_or_default();
        assert!(nan.contains("learning rate") && nan.contains("NaN"), "{nan}");
        assert!(TrainConfig { learning_rate: 0.0, ..ok }.problem().is_some());
        assert!(TrainConfig { epochs: 0, ..ok }.problem().unwrap_or_default().contains("epochs"));
        assert!(TrainConfig { l2: -1e-3, ..ok }.problem().unwrap_or_default().contains("l2"));
        assert!(TrainConfig { l2: f32::INFINITY, ..ok }.problem().is_some());
    }

    #[test]
    fn probabilities_sum_to_one_and_temperature_flattens() {
        let m = LinearModel {
            n_features: 3,
            labels: vec!["x".into(), "y".into()],
            weights: vec![0.0, 0.0, 2.0, -1.0, 0.0, 0.0],
            bias: vec![0.1, 0.0],
            temperature: 1.0,
        };
        let x = row(&[1]);
        let p = m.probs(&x);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let flat = LinearModel { temperature: 3.0, ..m.clone() }.probs(&x);
        assert!(flat[0] < p[0] && flat[0] > 0.5);
        // Ids beyond the model are ignored rather than read out of bounds.
        assert_eq!(m.probs(&row(&[99])), LinearModel { ..m.clone() }.probs(&SparseVec::default()));
    }

    #[test]
    fn ece_is_zero_when_confidence_matches_accuracy() {
        let probs = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert!(expected_calibration_error(&probs, &[0, 1], 10) < 1e-9);
        assert!((expected_calibration_error(&probs, &[1, 0], 10) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn balanced_weights_favour_the_rare_class() {
        let w = class_weights(&[0, 0, 0, 1], 2, true);
        assert!(w[1] > w[0]);
        assert_eq!(class_weights(&[0, 1], 2, false), vec![1.0, 1.0]);
    }
}
