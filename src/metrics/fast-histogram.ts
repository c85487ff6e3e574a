import { Histogram, type HistogramConfiguration, type MetricObjectWithValues, type MetricType, type MetricValueWithName } from 'prom-client';

/** One label set of a FastHistogram: bucket counts a hot path updates with plain arithmetic. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot holds those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

type Values = MetricObjectWithValues<MetricValueWithName<string>>;

/**
 * A prom-client Histogram whose label sets are fixed once (`series()`) and observed with a
 * bucket search and three additions. prom-client's own `observe` builds, validates and hashes
 * the label set on every call, even through a `labels()` child, and showed up in the proxy's
 * CPU profile. Scrapes read this like any other histogram (same names, labels and layout).
 */
export class FastHistogram<T extends string = string> extends Histogram<T> {
  private readonly all: HistogramSeries[] = [];
  private readonly bounds: readonly number[];
  private readonly config: HistogramConfiguration<T>;

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    super(config);
    this.config = config;
    this.bounds = [...config.buckets];
  }

  /** The series for one label set; call once at start and keep it. */
  series(labels: Partial<Record<T, string>> = {}): HistogramSeries {
    const series = new HistogramSeries(this.bounds, labels as Record<string, string>);
    this.all.push(series);
    return series;
  }

  override async get(): Promise<Values> {
    return this.snapshot();
  }

  /** The registry prefers this to get() when present; the same values serve both. */
  async getForPromString(): Promise<Values> {
    return this.snapshot();
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    for (const series of this.all ?? []) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  private snapshot(): Values {
    const { bounds, config } = this;
    const name = config.name;
    const values: MetricValueWithName<string>[] = [];
    for (const series of this.all) {
      // As in prom-client: a labelled series appears once observed, the unlabelled one always.
      if (series.count === 0 && Object.keys(series.labels).length > 0) continue;
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { le: bounds[i]!, ...series.labels }, value: cumulative });
      }
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...series.labels }, value: series.count });
      values.push({ metricName: `${name}_sum`, labels: { ...series.labels }, value: series.sum });
      values.push({ metricName: `${name}_count`, labels: { ...series.labels }, value: series.count });
    }
    // prom-client's d.ts declares MetricType as an enum it does not export at run time, and
    // types a snapshot with a `collect` the registry never calls on it.
    const type = 'histogram' as unknown as MetricType;
    return { name, help: config.help, type, aggregator: config.aggregator ?? 'sum', collect: () => {}, values };
  }
}
