import { Gauge, type GaugeConfiguration, type MetricObjectWithValues, type MetricType, type MetricValue } from 'prom-client';

type Values = MetricObjectWithValues<MetricValue<string>>;

/**
 * An unlabelled gauge read at each scrape that is absent while its reading is undefined.
 * prom-client's own unlabelled Gauge always exports a sample (0 until set, and again after
 * reset()), and a 0 is a value alerts act on: a certificate expiry of 0 reads as "expired in 1970".
 */
export class ReadingGauge extends Gauge {
  constructor(
    private readonly config: Omit<GaugeConfiguration<string>, 'labelNames' | 'collect'>,
    private readonly read: () => number | undefined,
  ) {
    super(config);
  }

  override async get(): Promise<Values> {
    const value = this.read();
    // As in fast-histogram.ts: prom-client's d.ts declares MetricType as an enum it does not export.
    const type = 'gauge' as unknown as MetricType;
    const { name, help } = this.config;
    return { name, help, type, aggregator: this.config.aggregator ?? 'sum', collect: () => {}, values: value === undefined ? [] : [{ value, labels: {} }] };
  }
}
