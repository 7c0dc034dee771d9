//! Small server-rendered SVG charts: horizontal bars, optionally stacked. No script, so they
//! print, work without JavaScript and read the same on a phone (the SVG scales to its box).

use std::fmt::Write;

/// One bar: a label, its segments (value, CSS class) and the text at its end.
pub struct Bar {
    pub label: String,
    pub segments: Vec<(i64, &'static str)>,
    pub note: String,
    /// Where the label links to (drill-down), if anywhere.
    pub href: Option<String>,
}

/// A legend entry: CSS class and text.
pub type Legend = Vec<(&'static str, String)>;

const ROW: i64 = 26;
const LABEL_W: i64 = 120;
const BAR_W: i64 = 360;
const NOTE_W: i64 = 90;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Bars scaled to `max` (the largest bar's total when `None`), with a title for screen readers.
pub fn bars(title: &str, rows: &[Bar], max: Option<i64>) -> String {
    let max =
        max.unwrap_or_else(|| rows.iter().map(|r| r.segments.iter().map(|s| s.0).sum::<i64>()).max().unwrap_or(0));
    let width = LABEL_W + BAR_W + NOTE_W;
    let height = ROW * rows.len().max(1) as i64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    if rows.is_empty() {
        let _ = write!(s, r#"<text x="0" y="18" class="note">无数据</text>"#);
    }
    for (i, r) in rows.iter().enumerate() {
        let y = i as i64 * ROW;
        let label = esc(&r.label);
        match &r.href {
            Some(h) => {
                let _ = write!(
                    s,
                    r#"<a href="{}"><text x="{}" y="{}" class="label" text-anchor="end">{label}</text></a>"#,
                    esc(h),
                    LABEL_W - 6,
                    y + 17
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<text x="{}" y="{}" class="label" text-anchor="end">{label}</text>"#,
                    LABEL_W - 6,
                    y + 17
                );
            }
        }
        let _ = write!(s, r#"<rect x="{LABEL_W}" y="{}" width="{BAR_W}" height="18" class="track"/>"#, y + 4);
        let mut x = 0i64;
        for (v, class) in &r.segments {
            if *v <= 0 || max <= 0 {
                continue;
            }
            let w = (v * BAR_W / max).max(1);
            let _ = write!(
                s,
                r#"<rect x="{}" y="{}" width="{w}" height="18" class="{class}"><title>{v}</title></rect>"#,
                LABEL_W + x,
                y + 4
            );
            x += w;
        }
        let _ = write!(s, r#"<text x="{}" y="{}" class="note">{}</text>"#, LABEL_W + BAR_W + 6, y + 17, esc(&r.note));
    }
    s.push_str("</svg>");
    s
}

/// The legend under a stacked chart, as HTML.
pub fn legend(items: &Legend) -> String {
    let mut s = String::from(r#"<p class="legend">"#);
    for (class, text) in items {
        let _ = write!(s, r#"<span><i class="{class}"></i>{}</span> "#, esc(text));
    }
    s.push_str("</p>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let rows = vec![
            Bar { label: "大正村".into(), segments: vec![(90, "a"), (10, "b")], note: "100".into(), href: None },
            Bar { label: "<x>".into(), segments: vec![(50, "a")], note: "50".into(), href: Some("/d?v=1&x=2".into()) },
        ];
        let svg = bars("覆盖", &rows, None);
        // 90 of 100 → 324 of 360 px; 10 → 36; 50 → 180
        assert!(svg.contains(r#"width="324" height="18" class="a""#), "{svg}");
        assert!(svg.contains(r#"width="36" height="18" class="b""#), "{svg}");
        assert!(svg.contains(r#"width="180" height="18" class="a""#), "{svg}");
        assert!(svg.contains("&lt;x&gt;") && !svg.contains("<x>"));
        assert!(svg.contains(r#"href="/d?v=1&amp;x=2""#));
    }

    #[test]
    fn an_empty_chart_says_so() {
        assert!(bars("t", &[], None).contains("无数据"));
    }
}
