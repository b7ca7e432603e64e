//! Fitting charm-boards' per-core cost model (`charm_boards::CharCost`) to
//! measured cycles per character: least squares of the relative error over
//! the four terms `H·(H + V)`, `H`, `V` and 1, with no coefficient below
//! zero (a term whose coefficient comes out negative is left out and the
//! rest fitted again). `scripts/fit-speed.sh` measures and calls this
//! through `charm-speed-fit`.

use charm_boards::CharCost;

/// One measurement: a model's shape and the estimated cycles of a character.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// H.
    pub hidden: u32,
    /// V.
    pub vocab: u32,
    /// Estimated cycles per character.
    pub cycles: f64,
}

/// The terms of the model for a shape: `H·(H + V)`, `H`, `V`, 1.
fn terms(p: &Point) -> [f64; 4] {
    let (h, v) = (f64::from(p.hidden), f64::from(p.vocab));
    [h * (h + v), h, v, 1.0]
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting;
/// `None` if `a` is singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in (0..n).filter(|&row| row != col) {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    Some((0..n).map(|i| b[i] / a[i][i]).collect())
}

/// The fit and the largest relative difference (in percent) between its
/// cycles and the points'; `None` with no point or a singular system.
pub fn fit(points: &[Point]) -> Option<(CharCost, f64)> {
    let mut active = vec![0usize, 1, 2, 3];
    let coefficients = loop {
        // Normal equations of min Σ (t·x / c − 1)².
        let rows: Vec<Vec<f64>> = points
            .iter()
            .map(|p| {
                let t = terms(p);
                active.iter().map(|&j| t[j] / p.cycles).collect()
            })
            .collect();
        let n = active.len();
        let ata = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| rows.iter().map(|r| r[i] * r[j]).sum())
                    .collect()
            })
            .collect();
        let aty = (0..n).map(|i| rows.iter().map(|r| r[i]).sum()).collect();
        let x = solve(ata, aty)?;
        match active.iter().zip(&x).position(|(_, &c)| c < 0.0) {
            Some(negative) => {
                active.remove(negative);
                if active.is_empty() {
                    return None;
                }
            }
            None => {
                let mut full = [0.0; 4];
                for (&j, &c) in active.iter().zip(&x) {
                    full[j] = c;
                }
                break full;
            }
        }
    };
    let round = |x: f64| x.round() as u32;
    let cost = CharCost {
        mac_millicycles: round(coefficients[0] * 1000.0),
        hidden_cycles: round(coefficients[1]),
        vocab_cycles: round(coefficients[2]),
        fixed_cycles: round(coefficients[3]),
    };
    let worst = points
        .iter()
        .map(|p| {
            let estimate = cost.cycles(p.hidden, p.vocab) as f64;
            (estimate - p.cycles).abs() / p.cycles * 100.0
        })
        .fold(0.0, f64::max);
    Some((cost, worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_coefficients_of_exact_points() {
        let truth = CharCost {
            mac_millicycles: 1_500,
            hidden_cycles: 80,
            vocab_cycles: 130,
            fixed_cycles: 300,
        };
        let points: Vec<Point> = [
            (32, 65),
            (64, 65),
            (128, 65),
            (256, 65),
            (128, 24),
            (128, 200),
        ]
        .into_iter()
        .map(|(hidden, vocab)| Point {
            hidden,
            vocab,
            cycles: truth.cycles(hidden, vocab) as f64,
        })
        .collect();
        let (cost, worst) = fit(&points).expect("a fit");
        assert_eq!(cost, truth);
        // The points are whole cycles of the truth (its thousandths round
        // up): the fit is exact to well under a cycle in thousands.
        assert!(worst < 0.01, "{worst}");
    }

    #[test]
    fn a_negative_term_is_left_out() {
        // cycles = 2·H·(H+V) + 1000 − 10·V would want vocab < 0.
        let points: Vec<Point> = [(32, 24), (64, 65), (128, 65), (128, 24), (256, 65)]
            .into_iter()
            .map(|(h, v)| Point {
                hidden: h,
                vocab: v,
                cycles: f64::from(2 * h * (h + v) + 1000) - f64::from(10 * v),
            })
            .collect();
        let (cost, _) = fit(&points).expect("a fit");
        assert_eq!(cost.vocab_cycles, 0);
    }
}
