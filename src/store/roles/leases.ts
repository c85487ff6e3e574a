/** Leases across replicas: a named job held by one holder, and a name claimed while it is made. */
export interface Leases {
  /** A lease on `name` for `holder` (taken or renewed): true while it is this holder's. */
  lease(name: string, holder: string, ms: number, now: number): Promise<boolean>;
  /**
   * Claims `name` in `scope` for `ttlMs` across every replica (true when this caller got it),
   * so two replicas creating the same name at once do not both find it free. Absent on backends
   * in one process (memory, file), where the service's own claims suffice.
   */
  claimName?(scope: string, name: string, ttlMs: number): Promise<boolean>;
  /** Lets go of a claim taken with claimName. */
  releaseName?(scope: string, name: string): Promise<void>;
}
