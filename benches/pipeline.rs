//! Throughput of the analysis pipeline on the shipped sample comments (French and English),
//! single-threaded per comment and as a parallel batch. Run: `cargo bench --bench pipeline`.
//! The end-to-end comparison with Python VADER on 100k+ comments is `scripts/bench_vs_vader.sh`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verbatim::{Analyzer, Options, Outcome, Resources, Verbatim};

fn sample() -> Vec<Verbatim> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/comments.csv");
    let mut rdr = csv::Reader::from_path(path).expect("samples/comments.csv");
    let headers = rdr.headers().expect("header").clone();
    let text = headers.iter().position(|h| h == "text").expect("text column");
    rdr.records()
        .map(|r| r.expect("row"))
        .map(|r| Verbatim::new(r[0].to_string(), r[text].to_string()))
        .collect()
}

fn bench(c: &mut Criterion) {
    let analyzer = Analyzer::new(Resources::embedded().expect("lexicons"), Options::default());
    let items = sample();
    // The bench measures real work: check the output is what the pipeline gives.
    let analysed =
        analyzer.analyze_batch(&items).iter().filter(|o| matches!(o, Outcome::Analysed(_))).count();
    assert!(analysed * 10 >= items.len() * 9, "most sample comments analyse");

    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("sequential", |b| {
        b.iter(|| {
            for v in &items {
                black_box(analyzer.analyze(black_box(v)));
            }
        })
    });
    let many: Vec<Verbatim> = items.iter().cycle().take(items.len() * 16).cloned().collect();
    g.throughput(Throughput::Elements(many.len() as u64));
    g.bench_function("parallel_batch", |b| {
        b.iter(|| black_box(analyzer.analyze_batch(black_box(&many))))
    });
    g.finish();

    let mut g = c.benchmark_group("stages");
    let bytes: usize = items.iter().map(|v| v.text.len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("tokenize", |b| {
        b.iter(|| {
            for v in &items {
                black_box(verbatim::tokenize::tokenize(black_box(&v.text)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
