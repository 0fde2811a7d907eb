//! The sweep as an SVG chart (plotters, SVG backend, no font files: text is left to the viewer): monthly cost per
//! service stacked against the device count, and the cost per device, both on a logarithmic device axis.

use super::{fmt_int, fmt_price, fmt_usd, grid::service_names};
use crate::cost::Estimate;
use plotters::prelude::*;

const COLORS: &[RGBColor] = &[
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draw the chart of a sweep (at least one estimate) as SVG text.
pub fn svg(es: &[Estimate]) -> Result<String, String> {
    let mut out = String::new();
    draw(es, &mut out).map_err(|e| format!("drawing the chart: {e}"))?;
    Ok(out)
}

fn draw(es: &[Estimate], out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let first = es.first().ok_or("no estimates to draw")?;
    let xs: Vec<f64> = es.iter().map(|e| (e.devices as f64).max(1.0)).collect();
    let (mut lo, mut hi) = (xs.iter().cloned().fold(f64::INFINITY, f64::min), xs.iter().cloned().fold(0.0, f64::max));
    if hi / lo < 1.5 {
        lo /= 2.0;
        hi *= 2.0;
    }
    let refs: Vec<&Estimate> = es.iter().collect();
    let names = service_names(&refs);
    let max_total = es.iter().map(|e| e.total_monthly_usd).fold(0.0, f64::max).max(1.0);
    let max_per = es.iter().map(|e| e.per_device_monthly_usd).fold(0.0, f64::max).max(1e-6);

    let root = SVGBackend::with_string(out, (1000, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "Monthly AWS cost by device count — {}, prices as of {}, free tier {}",
        first.region,
        first.prices_as_of,
        first.free_tier.as_str()
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let (top, bottom) = root.split_vertically(560);

    let mut chart = ChartBuilder::on(&top)
        .caption("Monthly cost per service (stacked)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(100)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..max_total * 1.08)?;
    chart
        .configure_mesh()
        .x_desc("devices")
        .y_desc("USD per month")
        .x_label_formatter(&|x| fmt_int(*x))
        .y_label_formatter(&|y| fmt_usd(*y).trim_end_matches(".00").to_string())
        .draw()?;
    // Cumulative sums, drawn from the top layer down so each area covers the ones below it.
    let mut cumulative: Vec<Vec<f64>> = Vec::new();
    let mut running = vec![0.0; es.len()];
    for name in &names {
        for (i, e) in es.iter().enumerate() {
            running[i] += e.service(name);
        }
        cumulative.push(running.clone());
    }
    for (k, name) in names.iter().enumerate().rev() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<(f64, f64)> = xs.iter().cloned().zip(cumulative[k].iter().cloned()).collect();
        chart
            .draw_series(AreaSeries::new(points, 0.0, color.mix(0.85)).border_style(color.stroke_width(1)))?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;

    let mut chart = ChartBuilder::on(&bottom)
        .caption("Cost per device per month", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(100)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..max_per * 1.15)?;
    chart
        .configure_mesh()
        .x_desc("devices")
        .y_desc("USD per device")
        .x_label_formatter(&|x| fmt_int(*x))
        .y_label_formatter(&|y| fmt_price(*y))
        .draw()?;
    let per: Vec<(f64, f64)> = xs.iter().cloned().zip(es.iter().map(|e| e.per_device_monthly_usd)).collect();
    chart.draw_series(LineSeries::new(per.clone(), BLACK.stroke_width(2)))?;
    chart.draw_series(per.iter().map(|p| Circle::new(*p, 4, BLACK.filled())))?;
    root.present()?;
    Ok(())
}

/// Log-spaced device counts from 1,000 (or fewer) to `max`, for a chart without `--sweep`.
pub fn default_counts(max: u64) -> Vec<u64> {
    let max = max.max(10);
    let lo = 1000.min(max / 10).max(1) as f64;
    let steps = 12;
    let mut v: Vec<u64> =
        (0..=steps).map(|i| (lo * (max as f64 / lo).powf(i as f64 / steps as f64)).round() as u64).collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_counts_span_the_range() {
        let v = default_counts(3_600_000);
        assert_eq!((v[0], *v.last().unwrap()), (1000, 3_600_000));
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        let small = default_counts(5);
        assert_eq!((small[0], *small.last().unwrap()), (1, 10));
        assert!(small.windows(2).all(|w| w[0] < w[1]));
    }
}
