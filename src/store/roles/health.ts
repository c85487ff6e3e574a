/** Told of each change in whether the store answers, once per change, not per failed command. */
export interface StoreHealthListener {
  /** A command failed while the store was answering: an outage began. */
  onOutage(op: string, err: unknown): void;
  /** A command succeeded after an outage. */
  onRecovery(): void;
  /** A connection that had been up came back after it closed. */
  onReconnect(connection: 'commands' | 'subscriber'): void;
}

/** Whether the backend answers: readiness, outage reports and shutdown. */
export interface StoreHealth {
  readonly backend: 'memory' | 'file' | 'redis';
  /** Resolves when the backend answers; used by /readyz. */
  ping(): Promise<void>;
  /** Reports outages and reconnects; absent on backends in this process (memory, file), which have none. */
  watchHealth?(listener: StoreHealthListener): void;
  close(): Promise<void>;
}
