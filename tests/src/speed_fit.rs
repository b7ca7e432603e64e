//! Fitting charm-boards' per-core cost model (`charm_boards::CharCost`) to
//! measured cycles per character: least squares of the relative error over
//! the four terms `H·(H + V)`, `H`, `V` and 1, with no coefficient below
//! zero (a term whose coefficient comes out negative is left out and the
//! rest fitted again). `scripts/fit-speed.sh` measures and calls this
//! through `charm-speed-fit`.

use charm_boards::{CharCost, StackedCost, StackedShape};

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
    if points.is_empty() {
        return None;
    }
    let rows: Vec<([f64; 4], f64)> = points.iter().map(|p| (terms(p), p.cycles)).collect();
    let coefficients = nonnegative_fit(&rows)?;
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

/// One measurement of a model of other cells and depths: its shape and
/// the estimated cycles of a character (`scripts/fit-speed.sh --cells`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellsPoint {
    /// The model's cell, layers, H and V.
    pub shape: StackedShape,
    /// Estimated cycles per character.
    pub cycles: f64,
}

/// The seven terms of [`StackedCost`] for a shape, as its `cycles` weighs
/// them: the layers' multiply-accumulates `(2L − 1)·G·H²`, their dot
/// products `(2L − 1)·G·H`, the sigmoids `S·L·H` and tanh `T·L·H`, the
/// output layer's multiply-accumulates `V·H`, `V`, 1.
fn cells_terms(s: &StackedShape) -> [f64; 7] {
    let (l, g, h, v) = (
        f64::from(s.layers),
        f64::from(s.cell.gates()),
        f64::from(s.hidden),
        f64::from(s.vocab),
    );
    let dots = (2.0 * l - 1.0) * g * h;
    let units = l * h;
    [
        dots * h,
        dots,
        f64::from(s.cell.sigmoids()) * units,
        f64::from(s.cell.tanhs()) * units,
        v * h,
        v,
        1.0,
    ]
}

/// Least squares of the relative error, `min Σ (t·x / c − 1)²`, over the
/// `N` terms `t` of each point of `c` cycles, with no coefficient below
/// zero (a term whose coefficient comes out negative is left out and the
/// rest fitted again); `None` with a singular system.
fn nonnegative_fit<const N: usize>(points: &[([f64; N], f64)]) -> Option<[f64; N]> {
    let mut active: Vec<usize> = (0..N).collect();
    loop {
        let rows: Vec<Vec<f64>> = points
            .iter()
            .map(|(t, c)| active.iter().map(|&j| t[j] / c).collect())
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
                let mut full = [0.0; N];
                for (&j, &c) in active.iter().zip(&x) {
                    full[j] = c;
                }
                return Some(full);
            }
        }
    }
}

/// The fit of [`StackedCost`] to measurements of models of other cells and
/// depths, and the largest relative difference (in percent) between its
/// cycles and the points'; `None` with no point or a singular system (fewer
/// than seven points, or shapes that do not tell the terms apart).
pub fn fit_cells(points: &[CellsPoint]) -> Option<(StackedCost, f64)> {
    if points.is_empty() {
        return None;
    }
    let rows: Vec<([f64; 7], f64)> = points
        .iter()
        .map(|p| (cells_terms(&p.shape), p.cycles))
        .collect();
    let x = nonnegative_fit(&rows)?;
    let round = |x: f64| x.round() as u32;
    let cost = StackedCost {
        mac_millicycles: round(x[0] * 1000.0),
        row_cycles: round(x[1]),
        sigmoid_cycles: round(x[2]),
        tanh_cycles: round(x[3]),
        output_mac_millicycles: round(x[4] * 1000.0),
        vocab_cycles: round(x[5]),
        fixed_cycles: round(x[6]),
    };
    let worst = points
        .iter()
        .map(|p| {
            let estimate = cost.cycles(&p.shape) as f64;
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

    #[test]
    fn recovers_the_coefficients_of_exact_cells_points() {
        use charm_boards::Cell;
        let truth = StackedCost {
            mac_millicycles: 6_250,
            row_cycles: 40,
            sigmoid_cycles: 90,
            tanh_cycles: 110,
            output_mac_millicycles: 3_900,
            vocab_cycles: 120,
            fixed_cycles: 700,
        };
        // The shapes of scripts/fit-speed.sh --cells.
        let points: Vec<CellsPoint> = [
            (Cell::Gru, 1, 32, 65),
            (Cell::Gru, 1, 64, 65),
            (Cell::Gru, 1, 128, 65),
            (Cell::Lstm, 1, 64, 65),
            (Cell::Lstm, 1, 128, 65),
            (Cell::Rnn, 2, 64, 65),
            (Cell::Rnn, 2, 128, 65),
            (Cell::Gru, 2, 64, 65),
            (Cell::Gru, 1, 64, 24),
            (Cell::Gru, 1, 64, 200),
            (Cell::Lstm, 1, 32, 65),
            (Cell::Rnn, 2, 32, 65),
            (Cell::Gru, 2, 32, 65),
            (Cell::Gru, 1, 32, 200),
        ]
        .into_iter()
        .map(|(cell, layers, hidden, vocab)| {
            let shape = StackedShape {
                cell,
                layers,
                hidden,
                vocab,
            };
            CellsPoint {
                shape,
                cycles: truth.cycles(&shape) as f64,
            }
        })
        .collect();
        let (cost, worst) = fit_cells(&points).expect("a fit");
        assert_eq!(cost, truth);
        // Whole cycles of the truth: exact to well under a cycle in thousands.
        assert!(worst < 0.01, "{worst}");
    }
}
