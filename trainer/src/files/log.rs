//! The training log: CSV rows and a hand-written SVG loss curve.

use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// One line of the training log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// Optimizer steps done.
    pub step: u64,
    /// Training characters consumed.
    pub chars: u64,
    /// Smoothed training loss, nats/char.
    pub train_loss: f64,
    /// Validation loss, nats/char (NaN when there is no validation part).
    pub val_loss: f64,
    /// Seconds of training.
    pub seconds: f64,
}

/// The log as CSV with a header line.
pub fn csv(rows: &[LogRow]) -> String {
    let mut s = String::from("step,chars_seen,train_loss_nats,val_loss_nats,seconds\n");
    for r in rows {
        let val = if r.val_loss.is_finite() {
            format!("{:.5}", r.val_loss)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "{},{},{:.5},{},{:.2}",
            r.step, r.chars, r.train_loss, val, r.seconds
        );
    }
    s
}

/// A self-contained SVG: train and validation loss (nats/char) against characters seen.
pub fn svg(rows: &[LogRow], title: &str) -> String {
    let plot = Plot::fit(rows);
    let mut s = String::new();
    plot.frame(&mut s, title);
    plot.ticks(&mut s);
    let top = plot.t;
    plot.curve(
        &mut s,
        rows,
        ("train (smoothed)", "#1f77b4", top + 10.0),
        |r| r.train_loss,
    );
    plot.curve(&mut s, rows, ("validation", "#d62728", top + 28.0), |r| {
        r.val_loss
    });
    s.push_str("</svg>\n");
    s
}

/// The geometry of the loss plot: canvas size, margins and data ranges.
struct Plot {
    /// Width, height; left, right, top and bottom margins (pixels).
    w: f64,
    h: f64,
    l: f64,
    r: f64,
    t: f64,
    b: f64,
    /// Data ranges: characters 0..xmax, loss ymin..ymax.
    xmax: f64,
    ymin: f64,
    ymax: f64,
}

impl Plot {
    /// Ranges that hold every finite point, with 5% room above and below.
    fn fit(rows: &[LogRow]) -> Self {
        let xmax = rows.iter().map(|r| r.chars as f64).fold(1.0, f64::max);
        let ys = rows
            .iter()
            .flat_map(|r| [r.train_loss, r.val_loss])
            .filter(|y| y.is_finite());
        let (mut ymin, mut ymax) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
        if !ymin.is_finite() {
            (ymin, ymax) = (0.0, 1.0);
        }
        if ymax - ymin < 1e-6 {
            ymax = ymin + 1.0;
        }
        Self {
            w: 720.0,
            h: 420.0,
            l: 70.0,
            r: 20.0,
            t: 40.0,
            b: 50.0,
            xmax,
            ymin: ymin - 0.05 * (ymax - ymin),
            ymax: ymax + 0.05 * (ymax - ymin),
        }
    }

    fn sx(&self, x: f64) -> f64 {
        self.l + (self.w - self.l - self.r) * x / self.xmax
    }

    fn sy(&self, y: f64) -> f64 {
        self.t + (self.h - self.t - self.b) * (1.0 - (y - self.ymin) / (self.ymax - self.ymin))
    }

    /// The opening tag, background, title, axes and axis labels.
    fn frame(&self, s: &mut String, title: &str) {
        let (w, h, l, r, t, b) = (self.w, self.h, self.l, self.r, self.t, self.b);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
            w / 2.0,
            escape(title)
        );
        let _ = writeln!(
            s,
            r#"<line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
            h - b,
            w - r,
            h - b
        );
        let _ = writeln!(
            s,
            r#"<line x1="{l}" y1="{t}" x2="{l}" y2="{}" stroke="black"/>"#,
            h - b
        );
    }

    /// Six grid lines with their loss values, six character counts, the axis titles.
    fn ticks(&self, s: &mut String) {
        let (w, h, l, r, t, b) = (self.w, self.h, self.l, self.r, self.t, self.b);
        for i in 0..=5 {
            let y = self.ymin + (self.ymax - self.ymin) * i as f64 / 5.0;
            let _ = writeln!(
                s,
                r##"<line x1="{l}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#ddd"/><text x="{2}" y="{3:.1}" text-anchor="end">{y:.2}</text>"##,
                self.sy(y),
                w - r,
                l - 6.0,
                self.sy(y) + 4.0
            );
            let x = self.xmax * i as f64 / 5.0;
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                self.sx(x),
                h - b + 18.0,
                human(x)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">characters seen</text>"#,
            (l + w - r) / 2.0,
            h - 10.0
        );
        let _ = writeln!(
            s,
            r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">loss (nats/char)</text>"#,
            (t + h - b) / 2.0,
            (t + h - b) / 2.0
        );
    }

    /// One curve (its finite points) and its legend entry at height `ly`.
    fn curve(
        &self,
        s: &mut String,
        rows: &[LogRow],
        (name, color, ly): (&str, &str, f64),
        value: impl Fn(&LogRow) -> f64,
    ) {
        let (w, r) = (self.w, self.r);
        let line: Vec<String> = rows
            .iter()
            .map(|row| (row.chars as f64, value(row)))
            .filter(|p| p.1.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", self.sx(x), self.sy(y)))
            .collect();
        if !line.is_empty() {
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                line.join(" ")
            );
        }
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"/><text x="{}" y="{}">{name}</text>"#,
            w - r - 150.0,
            w - r - 125.0,
            w - r - 120.0,
            ly + 4.0
        );
    }
}

fn human(x: f64) -> String {
    match x {
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e3 => format!("{:.0}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_svg_contain_the_rows() {
        let rows = [
            LogRow {
                step: 10,
                chars: 1000,
                train_loss: 3.2,
                val_loss: f64::NAN,
                seconds: 1.0,
            },
            LogRow {
                step: 20,
                chars: 2000,
                train_loss: 2.5,
                val_loss: 2.6,
                seconds: 2.0,
            },
        ];
        let c = csv(&rows);
        assert_eq!(c.lines().count(), 3);
        assert_eq!(c.lines().nth(2), Some("20,2000,2.50000,2.60000,2.00"));
        let s = svg(&rows, "a <b>");
        assert!(s.starts_with("<svg") && s.contains("polyline") && s.contains("a &lt;b&gt;"));
    }
}
