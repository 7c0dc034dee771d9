//! The bench's table and JSON: medians, ratios to the reference of the same run, goals.

use serde_json::json;

pub enum Goal {
    /// fangpin's median throughput ÷ the reference's at least this, and its p99 at most that.
    Throughput { ratio: f64, p99: f64 },
    /// fangpin's median ÷ the reference's median at most this.
    Ratio(f64),
    /// The 99th percentile at most this many seconds.
    P99(f64),
    /// fangpin's p99 under load ÷ the reference's p99 at most this, with no errors.
    LatencyRatio(f64),
}

pub struct Row {
    pub id: &'static str,
    pub what: String,
    pub reference: String,
    /// Seconds per run (or per operation for latencies).
    pub fangpin: Vec<f64>,
    pub reference_secs: Vec<f64>,
    /// Rows the workload handles per run (households, member rows, file rows).
    pub rows: u64,
    pub fangpin_rss_mb: Option<f64>,
    pub reference_rss_mb: Option<f64>,
    pub goal: Goal,
    pub note: String,
    /// For throughput rows: p50 and p99 latency (seconds) and failed requests.
    pub latency: Option<(f64, f64, u64)>,
}

impl Row {
    /// Requests per second per run against the reference's.
    #[allow(clippy::too_many_arguments)]
    pub fn throughput(
        id: &'static str,
        what: &str,
        rps: &[f64],
        reference_rps: &[f64],
        p50: f64,
        p99: f64,
        errors: u64,
        note: String,
    ) -> Row {
        Row {
            id,
            what: what.into(),
            reference: "axum hello-world in this process, same connections".into(),
            fangpin: rps.to_vec(),
            reference_secs: reference_rps.to_vec(),
            rows: 0,
            fangpin_rss_mb: None,
            reference_rss_mb: None,
            goal: Goal::Throughput { ratio: 0.5, p99: 0.020 },
            note,
            latency: Some((p50, p99, errors)),
        }
    }

    pub fn latency(id: &'static str, what: &str, secs: &[f64], goal: Goal, note: &str) -> Row {
        Row {
            id,
            what: what.into(),
            reference: "—".into(),
            fangpin: secs.to_vec(),
            reference_secs: Vec::new(),
            rows: secs.len() as u64,
            fangpin_rss_mb: None,
            reference_rss_mb: None,
            goal,
            note: note.into(),
            latency: None,
        }
    }

    fn median(&self) -> f64 {
        median(&self.fangpin)
    }

    /// fangpin ÷ reference: of times, or for throughput rows of requests per second.
    fn ratio(&self) -> Option<f64> {
        let r = median(&self.reference_secs);
        (r > 0.0).then(|| self.median() / r)
    }

    fn p99(&self) -> f64 {
        percentile(&self.fangpin, 0.99)
    }

    /// Whether the goal is met, and the goal as text.
    fn verdict(&self) -> (bool, String) {
        match self.goal {
            Goal::Ratio(g) => (self.ratio().is_some_and(|r| r <= g), format!("≤ {g}×")),
            Goal::P99(s) => (self.p99() <= s, format!("p99 ≤ {}", secs(s))),
            Goal::LatencyRatio(g) => {
                let errors = self.latency.map_or(0, |l| l.2);
                (self.ratio().is_some_and(|r| r <= g) && errors == 0, format!("p99 ≤ {g}× alone, 0 errors"))
            }
            Goal::Throughput { ratio, p99 } => {
                let (_, ours, errors) = self.latency.unwrap_or_default();
                (
                    self.ratio().is_some_and(|r| r >= ratio) && ours <= p99 && errors == 0,
                    format!("≥ {ratio}× rps, p99 ≤ {}, 0 errors", secs(p99)),
                )
            }
        }
    }
}

pub struct Report {
    preset: String,
    runs: usize,
    /// Where fangpin's databases were: SQLite or a PostgreSQL server.
    backend: String,
    load_start: String,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    pub fn new(preset: &str, runs: usize, backend: &str) -> Report {
        Report {
            preset: preset.into(),
            runs,
            backend: backend.into(),
            load_start: std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn note(&mut self, note: String) {
        eprintln!("  {note}");
        self.notes.push(note);
    }

    pub fn print(&self) {
        println!(
            "\nfangpin bench — preset {}, fangpin on {}, {} run(s), medians; ratio = fangpin ÷ reference in this run",
            self.preset, self.backend, self.runs
        );
        println!(
            "| workload | fangpin | reference | ratio | goal | met | rows/s | peak MB fangpin / reference (see notes) |\n|---|---|---|---|---|---|---|---|"
        );
        for r in &self.rows {
            let (met, goal) = r.verdict();
            let (ours, theirs, ratio, rate) = match r.goal {
                Goal::Ratio(_) => {
                    let m = r.median();
                    (
                        secs(m),
                        secs(median(&r.reference_secs)),
                        r.ratio().map_or("—".into(), |x| format!("{x:.2}×")),
                        if m > 0.0 { format!("{:.0}", r.rows as f64 / m) } else { "—".into() },
                    )
                }
                Goal::P99(_) => {
                    (format!("p50 {} / p99 {}", secs(r.median()), secs(r.p99())), "—".into(), "—".into(), "—".into())
                }
                Goal::LatencyRatio(_) => {
                    let (p50, p99, errors) = r.latency.unwrap_or_default();
                    (
                        format!("p99 {} (p50 {}, {errors} errors)", secs(p99), secs(p50)),
                        format!("p99 {} alone", secs(median(&r.reference_secs))),
                        r.ratio().map_or("—".into(), |x| format!("{x:.2}×")),
                        "—".into(),
                    )
                }
                Goal::Throughput { .. } => {
                    let (p50, p99, errors) = r.latency.unwrap_or_default();
                    (
                        format!("{:.0} rps (p50 {} / p99 {}, {errors} errors)", r.median(), secs(p50), secs(p99)),
                        format!("{:.0} rps", median(&r.reference_secs)),
                        r.ratio().map_or("—".into(), |x| format!("{x:.2}×")),
                        "—".into(),
                    )
                }
            };
            let mem = format!(
                "{} / {}",
                r.fangpin_rss_mb.map_or("—".into(), |m| format!("{m:.0}")),
                r.reference_rss_mb.map_or("—".into(), |m| format!("{m:.0}"))
            );
            println!(
                "| {} {} | {ours} | {theirs} | {ratio} | {goal} | {} | {rate} | {mem} |",
                r.id,
                r.what,
                if met { "yes" } else { "**no**" }
            );
        }
        println!();
        for r in &self.rows {
            println!(
                "- {}: reference = {}{}",
                r.id,
                r.reference,
                if r.note.is_empty() { String::new() } else { format!("; {}", r.note) }
            );
        }
        for n in &self.notes {
            println!("- {n}");
        }
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "preset": self.preset,
            "backend": self.backend,
            "runs": self.runs,
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "load_average_at_start": self.load_start,
            "notes": self.notes,
            "workloads": self.rows.iter().map(|r| {
                let (met, goal) = r.verdict();
                let latency = matches!(r.goal, Goal::P99(_));
                let (p50, p99, errors) = r.latency.unwrap_or_default();
                if matches!(r.goal, Goal::Throughput { .. }) {
                    return json!({
                        "id": r.id,
                        "what": r.what,
                        "reference": r.reference,
                        "unit": "requests/s",
                        "fangpin_rps": r.fangpin,
                        "reference_rps": r.reference_secs,
                        "fangpin_median_rps": r.median(),
                        "reference_median_rps": median(&r.reference_secs),
                        "ratio": r.ratio(),
                        "p50_secs": p50,
                        "p99_secs": p99,
                        "errors": errors,
                        "goal": goal,
                        "met": met,
                        "note": r.note,
                    });
                }
                json!({
                    "id": r.id,
                    "what": r.what,
                    "reference": r.reference,
                    "fangpin_secs": if latency { json!(null) } else { json!(r.fangpin) },
                    "reference_secs": r.reference_secs,
                    "fangpin_median_secs": r.median(),
                    "reference_median_secs": median(&r.reference_secs),
                    "ratio": r.ratio(),
                    "p99_secs": if latency { json!(r.p99()) } else { json!(null) },
                    "latency_p50_p99_secs_errors": r.latency.map(|(a, b, e)| json!([a, b, e])),
                    "rows": r.rows,
                    "rows_per_sec": if latency || r.median() <= 0.0 { json!(null) } else { json!(r.rows as f64 / r.median()) },
                    "fangpin_peak_rss_mb": r.fangpin_rss_mb,
                    "reference_peak_rss_mb": r.reference_rss_mb,
                    "goal": goal,
                    "met": met,
                    "note": r.note,
                })
            }).collect::<Vec<_>>(),
        })
    }
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() - 1) as f64 * p).round() as usize;
    s[i.min(s.len() - 1)]
}

/// Seconds for people: µs, ms or s.
fn secs(s: f64) -> String {
    if s < 0.001 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fangpin: &[f64], reference: &[f64], goal: Goal) -> Row {
        Row {
            id: "W0",
            what: String::new(),
            reference: String::new(),
            fangpin: fangpin.to_vec(),
            reference_secs: reference.to_vec(),
            rows: 1000,
            fangpin_rss_mb: None,
            reference_rss_mb: None,
            goal,
            note: String::new(),
            latency: None,
        }
    }

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5, "even counts average the middle two");
        assert_eq!(median(&[]), 0.0);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.99), 99.0);
    }

    #[test]
    fn a_ratio_is_fangpin_over_the_reference_and_the_goal_reads_that_way() {
        // times: fangpin 2 s against 1 s is 2×, missing a ≤ 1× goal and meeting a ≤ 3× one
        let r = row(&[2.0, 2.0, 9.0], &[1.0, 1.0, 0.5], Goal::Ratio(1.0));
        assert_eq!(r.ratio(), Some(2.0));
        assert!(!r.verdict().0);
        assert!(row(&[2.0], &[1.0], Goal::Ratio(3.0)).verdict().0);
        // no reference measured: no ratio, never "met"
        assert_eq!(row(&[1.0], &[], Goal::Ratio(1.0)).ratio(), None);
        assert!(!row(&[1.0], &[], Goal::Ratio(1.0)).verdict().0);
    }

    #[test]
    fn throughput_needs_the_ratio_the_p99_and_no_errors() {
        let mut r = Row::throughput("W5", "", &[600.0], &[1000.0], 0.001, 0.010, 0, String::new());
        assert!(r.verdict().0, "0.6× of the reference, p99 10 ms, no errors");
        r.latency = Some((0.001, 0.010, 1));
        assert!(!r.verdict().0, "one error fails it");
        let slow = Row::throughput("W5", "", &[600.0], &[1000.0], 0.001, 0.030, 0, String::new());
        assert!(!slow.verdict().0, "p99 above 20 ms fails it");
        let few = Row::throughput("W5", "", &[400.0], &[1000.0], 0.001, 0.010, 0, String::new());
        assert!(!few.verdict().0, "0.4× fails it");
    }

    #[test]
    fn latency_goals() {
        let lat: Vec<f64> = (1..=100).map(|i| f64::from(i) / 1000.0).collect();
        assert!(!Row::latency("W7", "", &lat, Goal::P99(0.010), "").verdict().0, "p99 99 ms > 10 ms");
        assert!(Row::latency("W7", "", &lat, Goal::P99(0.100), "").verdict().0);
        let mut w6 = row(&[0.004], &[0.002], Goal::LatencyRatio(2.0));
        w6.latency = Some((0.001, 0.004, 0));
        assert!(w6.verdict().0, "twice the p99 alone is still within 2×");
        w6.latency = Some((0.001, 0.004, 2));
        assert!(!w6.verdict().0, "errors fail it");
    }
}
